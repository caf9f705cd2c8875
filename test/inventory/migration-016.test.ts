import { describe, expect, it } from 'vitest';
import { verifyReportToken } from '../../src/config/index.js';
import { hashSecret, hashToken, newTokenSecret, tokenKey } from '../../src/config/tokens.js';
import { openDb } from '../../src/inventory/db.js';
import { SecretBox } from '../../src/inventory/secrets.js';
import { Store } from '../../src/inventory/store.js';
import { defaultSettings } from '../../src/settings.js';
import { inventoryAtVersion } from '../helpers/old-schema.js';

const NOW = Date.parse('2026-12-01T00:00:00Z');

/** A database as a rackboot before migration 016 left it: one machine, a config and a report token (stored by hash). */
function version15(): { path: string; config: string; report: string } {
  const { path, db } = inventoryAtVersion(15, 'rb-m016-');
  const config = newTokenSecret();
  const report = newTokenSecret();
  const insert = db.prepare('INSERT INTO config_tokens (hash, kind, machine_id, version_id, uses_left, expires_at, created_at) VALUES (?, ?, 1, 1, ?, ?, ?)');
  insert.run(hashToken(config), 'config', 1, NOW + 3_600_000, NOW - 1);
  insert.run(hashToken(report), 'report', null, NOW + 86_400_000, NOW);
  db.close();
  return { path, config, report };
}

describe('migration 016: config tokens keyed by id', () => {
  it('keeps tokens issued before it: usable as before, once, revocable, and never reachable by id', () => {
    const { path, config, report } = version15();
    const store = new Store(openDb(path), SecretBox.ephemeral());
    const deps = { store, settings: defaultSettings({ http: { publicUrl: 'http://198.18.0.1:8080' } }), now: () => NOW };
    const raw = Store.rawDb(store);
    expect(raw.prepare('SELECT id, kind, secret_hash, legacy_hash FROM config_tokens ORDER BY id').all()).toEqual([
      { id: 1, kind: 'config', secret_hash: null, legacy_hash: hashToken(config) },
      { id: 2, kind: 'report', secret_hash: null, legacy_hash: hashToken(report) },
    ]);
    // The old config token: found by its hash, spent once.
    const t = store.configs.findToken(tokenKey(config)!);
    expect(t).toMatchObject({ id: 1, kind: 'config', machineId: 1, versionId: 1, usesLeft: 1 });
    expect(store.configs.consumeToken(t!.id, NOW)).toBe(true);
    expect(store.configs.consumeToken(t!.id, NOW)).toBe(false);
    // An old row cannot be reached through the id form, whatever the secret.
    for (const secret of [config, report, newTokenSecret()]) expect(store.configs.findToken({ id: 1, secretHash: hashSecret(secret) })).toBeUndefined();
    expect(() => verifyReportToken(deps, `2_${report}`)).toThrow(/report token/);
    // New ids go on after the migrated ones.
    expect(store.configs.nextTokenId()).toBe(3);
    // The old report token (an installed OS's) verifies until the next network boot revokes it.
    expect(verifyReportToken(deps, report)).toEqual({ machineId: 1, versionId: 1 });
    expect(store.configs.revokeTokens(1, 'report')).toBe(1);
    expect(() => verifyReportToken(deps, report)).toThrow(/report token/);
    expect(store.configs.nextTokenId()).toBe(4);
    const plan = raw.prepare('EXPLAIN QUERY PLAN SELECT id FROM config_tokens WHERE legacy_hash = ?').all('x') as Array<{ detail: string }>;
    expect(plan.map((p) => p.detail).join(' ')).toMatch(/INDEX config_tokens_legacy/);
    store.close();
  });

  it('a reopened store counts token ids on from the largest stored one', () => {
    const { path } = version15();
    let store = new Store(openDb(path), SecretBox.ephemeral());
    const rows = [store.configs.nextTokenId(), store.configs.nextTokenId()];
    for (const id of rows) store.configs.addToken({ id, secretHash: hashSecret(newTokenSecret()), kind: 'config', machineId: 1, versionId: 1, usesLeft: 1, expiresAt: NOW + 1000, createdAt: NOW });
    expect(rows).toEqual([3, 4]);
    store.close();
    store = new Store(openDb(path), SecretBox.ephemeral());
    expect(store.configs.nextTokenId()).toBe(5);
    // A taken id fails its insert (another writer), and counting goes on past the stored ones.
    expect(() => store.configs.addToken({ id: 4, secretHash: hashSecret(newTokenSecret()), kind: 'config', machineId: 1, versionId: 1, usesLeft: 1, expiresAt: NOW + 1000, createdAt: NOW })).toThrow();
    expect(store.configs.nextTokenId()).toBe(6);
    store.close();
  });
});
