import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isAppError } from '../../src/errors.js';
import { apiTokenState, hashTokenSecret } from '../../src/inventory/api-tokens.js';
import { Store } from '../../src/inventory/store.js';
import { DIALECTS, useStores } from '../helpers/stores.js';

const T0 = Date.parse('2026-12-01T00:00:00Z');
const stores = useStores();

describe.each(DIALECTS)('ApiTokenRepo on %s', (dialect) => {
  it('creates a token: the secret is returned once, only its SHA-256 digest is stored', async () => {
    const store = await stores.fresh(dialect);
    const { token, secret } = store.apiTokens.create({ name: 'ci', role: 'read' }, T0);
    expect(secret).toMatch(/^rb_[A-Za-z0-9_-]{32}$/);
    expect(token).toEqual({
      id: 1,
      name: 'ci',
      role: 'read',
      createdAt: '2026-12-01T00:00:00.000Z',
      expiresAt: null,
      revokedAt: null,
      lastUsedAt: null,
    });
    const row = Store.rawDb(store).prepare('SELECT * FROM api_tokens').get() as Record<string, unknown>;
    expect(row.hash).toEqual(hashTokenSecret(secret));
    expect(JSON.stringify(row)).not.toContain(secret.slice(3));
    expect(store.apiTokens.findByHash(hashTokenSecret(secret))).toMatchObject({ id: 1, name: 'ci', role: 'read' });
    expect(store.apiTokens.findByHash(hashTokenSecret(`${secret}x`))).toBeUndefined();
  });

  it('sets the expiry from ttlSeconds and makes a different secret every time', async () => {
    const store = await stores.fresh(dialect);
    const a = store.apiTokens.create({ name: 'a', role: 'operate', ttlSeconds: 3600 }, T0);
    const b = store.apiTokens.create({ name: 'b', role: 'admin' }, T0);
    expect(a.token.expiresAt).toBe('2026-12-01T01:00:00.000Z');
    expect(a.secret).not.toBe(b.secret);
  });

  it('lists without secrets or digests, oldest first', async () => {
    const store = await stores.fresh(dialect);
    store.apiTokens.create({ name: 'a', role: 'read' }, T0);
    store.apiTokens.create({ name: 'b', role: 'admin' }, T0);
    const items = store.apiTokens.list();
    expect(items.map((t) => t.name)).toEqual(['a', 'b']);
    for (const t of items) expect(Object.keys(t).sort()).toEqual(['createdAt', 'expiresAt', 'id', 'lastUsedAt', 'name', 'revokedAt', 'role']);
  });

  it('rejects a taken name with CONFLICT, also when the holder is revoked', async () => {
    const store = await stores.fresh(dialect);
    store.apiTokens.create({ name: 'ci', role: 'read' }, T0);
    store.apiTokens.revoke('ci', T0);
    try {
      store.apiTokens.create({ name: 'ci', role: 'read' }, T0);
      expect.unreachable();
    } catch (e) {
      expect(isAppError(e, 'CONFLICT')).toBe(true);
    }
  });

  it('the table refuses an unknown role', async () => {
    const store = await stores.fresh(dialect);
    expect(() => store.apiTokens.create({ name: 'x', role: 'root' as 'admin' }, T0)).toThrow(/check constraint/i);
  });

  it('revokes by name or by id; a second revocation keeps the first time and says so', async () => {
    const store = await stores.fresh(dialect);
    store.apiTokens.create({ name: 'a', role: 'read' }, T0);
    const b = store.apiTokens.create({ name: 'b', role: 'read' }, T0);
    expect(store.apiTokens.revoke('a', T0 + 1000)).toMatchObject({ revoked: true, token: { name: 'a', revokedAt: '2026-12-01T00:00:01.000Z' } });
    expect(store.apiTokens.revoke(String(b.token.id), T0 + 2000)).toMatchObject({ revoked: true, token: { name: 'b' } });
    expect(store.apiTokens.revoke('a', T0 + 5000)).toMatchObject({ revoked: false, token: { revokedAt: '2026-12-01T00:00:01.000Z' } });
    expect(store.apiTokens.findByHash(hashTokenSecret(b.secret))?.revokedAtMs).toBe(T0 + 2000);
  });

  it('unknown references are NOT_FOUND', async () => {
    const store = await stores.fresh(dialect);
    for (const ref of ['ghost', '42']) {
      expect(store.apiTokens.find(ref)).toBeUndefined();
      try {
        store.apiTokens.revoke(ref, T0);
        expect.unreachable();
      } catch (e) {
        expect(isAppError(e, 'NOT_FOUND')).toBe(true);
      }
    }
  });

  it('touch records a use only when the stored one is older than notBefore', async () => {
    const store = await stores.fresh(dialect);
    const { token, secret } = store.apiTokens.create({ name: 'a', role: 'read' }, T0);
    store.apiTokens.touch(token.id, T0 + 10_000, T0);
    store.apiTokens.touch(token.id, T0 + 20_000, T0 + 10_000);
    expect(store.apiTokens.findByHash(hashTokenSecret(secret))?.lastUsedAtMs).toBe(T0 + 10_000);
    store.apiTokens.touch(token.id, T0 + 30_000, T0 + 10_001);
    expect(store.apiTokens.get('a').lastUsedAt).toBe('2026-12-01T00:00:30.000Z');
  });

  it('survives a reopen, and the database never holds the secret', async () => {
    const first = await stores.fresh(dialect);
    const { secret } = first.apiTokens.create({ name: 'ci', role: 'operate' }, T0);
    const dump = JSON.stringify(Store.rawDb(first).prepare('SELECT * FROM api_tokens').all());
    expect(dump).not.toContain(secret.slice(3));
    const store = await stores.reopen(first);
    if (dialect === 'sqlite') {
      expect(readFileSync(join(stores.dataDir(store), 'inventory.db')).includes(Buffer.from(secret.slice(3)))).toBe(false);
      expect(Store.rawDb(store).prepare('PRAGMA user_version').pluck().get()).toBeGreaterThanOrEqual(7);
    }
    expect(store.apiTokens.findByHash(hashTokenSecret(secret))).toMatchObject({ name: 'ci', role: 'operate' });
  });
});

describe('apiTokenState', () => {
  it.each([
    [{ revokedAtMs: null, expiresAtMs: null }, T0, 'active'],
    [{ revokedAtMs: null, expiresAtMs: T0 + 1 }, T0, 'active'],
    [{ revokedAtMs: null, expiresAtMs: T0 }, T0, 'expired'],
    [{ revokedAtMs: T0, expiresAtMs: null }, T0, 'revoked'],
    [{ revokedAtMs: T0, expiresAtMs: T0 - 1 }, T0, 'revoked'],
  ] as const)('state of %j at T0 is %s', (t, now, want) => expect(apiTokenState(t, now)).toBe(want));
});
