import { createHash } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderMachineVersion } from '../../src/config/index.js';
import { redactSecrets, secretForms } from '../../src/config/redact.js';
import { profileSpecSchema } from '../../src/model/profile-spec.js';
import { PROFILE_SECRET_PATHS, SEALED, fillPlaceholders, joinSecrets, splitSecrets } from '../../src/inventory/sealing.js';
import { SecretBox } from '../../src/inventory/secrets.js';
import { Store } from '../../src/inventory/store.js';
import { silentLogger } from '../../src/log.js';
import { renderConfig } from '../../src/render/index.js';
import { defaultSettings } from '../../src/settings.js';
import { KG_HEX, SECRET_VALUES, TALOS_SECRETS, dbFileBytes, leaksIn, legacyDb, talosProfileSpec } from './fixture.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'rb-sealed-'));
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const spec = () => profileSpecSchema.parse(talosProfileSpec());
const LABELS = { cluster: 'zqcluster' };

describe('secret subtrees (pure)', () => {
  it('split masks every leaf and keeps the shape; join restores the clear document', () => {
    const doc = { os: 'talos', talos: { cluster: { name: 'c' }, secrets: TALOS_SECRETS } };
    const { masked, secrets } = splitSecrets(doc, PROFILE_SECRET_PATHS);
    expect(masked.talos.secrets).toEqual({
      machineToken: SEALED,
      machineCa: { crt: SEALED, key: SEALED },
      clusterToken: SEALED,
      etcdCa: { crt: SEALED, key: SEALED },
      kubernetesCa: { crt: SEALED, key: SEALED },
    });
    expect(masked.talos.cluster).toEqual({ name: 'c' });
    expect(joinSecrets(masked, secrets)).toEqual(doc);
    expect(splitSecrets({ os: 'testos' }, PROFILE_SECRET_PATHS).secrets).toBeNull();
  });

  it('fill takes each <sealed> leaf (or a whole <sealed> subtree) from the stored document', () => {
    const stored = { talos: { secrets: TALOS_SECRETS } };
    const partial = { talos: { secrets: { ...TALOS_SECRETS, machineToken: SEALED, etcdCa: { crt: 'new-crt', key: SEALED } } } };
    const filled = fillPlaceholders(partial, stored, PROFILE_SECRET_PATHS, 'spec');
    expect(filled.talos.secrets).toEqual({ ...TALOS_SECRETS, etcdCa: { crt: 'new-crt', key: TALOS_SECRETS.etcdCa.key } });
    expect(fillPlaceholders({ talos: { secrets: SEALED } }, stored, PROFILE_SECRET_PATHS, 'spec')).toEqual(stored);
  });

  it('fill refuses a <sealed> with nothing stored behind it, naming the path (the literal is never kept)', () => {
    const stored = { talos: { secrets: { ...TALOS_SECRETS, etcdCa: undefined } } };
    const partial = { talos: { secrets: { ...TALOS_SECRETS, etcdCa: { crt: SEALED, key: SEALED } } } };
    expect(() => fillPlaceholders(partial, stored, PROFILE_SECRET_PATHS, 'spec')).toThrow(/spec\.talos\.secrets\.etcdCa\.crt is <sealed>/);
    expect(() => fillPlaceholders(partial, undefined, PROFILE_SECRET_PATHS, 'spec')).toThrow(/no value is stored/);
  });
});

describe('redaction of rendered bodies', () => {
  it.each([0, 1, 2, 5])('finds a secret raw, JSON-escaped, percent-encoded and inside base64 at offset %i', (offset) => {
    const secret = 'line-one-of-the-secret-zq7x\nline-two-of-the-secret-zq7x';
    const blob = Buffer.concat([Buffer.alloc(offset, 0x41), Buffer.from(`key: ${secret}\n`)]).toString('base64');
    const body = Buffer.from(
      [`raw: ${secret}`, `json: ${JSON.stringify(secret)}`, `url: data:,${encodeURIComponent(secret)}`, `b64: ${blob}`,
        `yaml: |\n  ${secret.split('\n').join('\n  ')}`, `b64url: ${Buffer.from(secret).toString('base64url')}`].join('\n'),
    );
    const { body: out, redacted } = redactSecrets(body, [secret]);
    expect(redacted).toBeGreaterThan(0);
    const text = out.toString();
    for (const needle of ['line-one-of-the-secret', 'line-two-of-the-secret', Buffer.from(secret).toString('base64').slice(8, 40)]) {
      expect(text).not.toContain(needle);
    }
    expect(text).toContain(SEALED);
  });

  it('leaves short strings and unrelated text alone', () => {
    expect(secretForms('abc')).toEqual([]);
    const body = Buffer.from('hostname: node-1\n');
    expect(redactSecrets(body, ['abc', 'zzzzzzzz']).body.equals(body)).toBe(true);
  });
});

describe('sealed at rest', () => {
  it('profiles, Kg and config bodies: no secret in the database files; renderer and drivers still get them', () => {
    const dir = tmp();
    const s = Store.open(dir);
    s.profiles.create('zq', spec());
    const m = s.machines.create({ name: 'cp-1', macs: ['52:54:00:00:07:01'], profile: 'zq', ipv4: '198.18.0.71', labels: LABELS });
    s.bmcs.set(m.id, { type: 'ipmi', address: '198.18.0.171', username: 'admin', password: 'pw-zq7x-sealed', options: { kgHex: KG_HEX, privilege: 'admin' } });
    const deps = { store: s, settings: defaultSettings({ http: { publicUrl: 'http://198.18.0.1:8080' } }), log: silentLogger() };
    const { version } = renderMachineVersion(deps, m);

    expect(leaksIn(JSON.stringify([s.profiles.get('zq'), s.profiles.list(), s.bmcs.get(m.id)]))).toEqual([]);
    expect(s.bmcs.get(m.id).options).toEqual({ kgHex: SEALED, privilege: 'admin' });
    expect(s.profiles.unsealed('zq').spec.talos).toMatchObject({ secrets: TALOS_SECRETS });
    expect(s.bmcs.credentials(m.id).options.kgHex).toBe(KG_HEX);
    const body = s.configs.getVersion(version.id).body;
    expect(body.toString()).toContain(TALOS_SECRETS.machineCa.key);
    expect(version.sha256).toBe(sha256(body));
    expect(version.size).toBe(body.length);
    expect(s.configs.secretValues(version.id).sort()).toEqual(SECRET_VALUES.filter((v) => v !== KG_HEX).sort());
    Store.rawSqlite(s).pragma('wal_checkpoint(TRUNCATE)');
    s.close();

    const bytes = dbFileBytes(dir);
    expect(bytes.length).toBeGreaterThan(4096);
    expect(leaksIn(bytes)).toEqual([]);
    expect(bytes.includes('pw-zq7x-sealed')).toBe(false);

    const again = Store.open(dir);
    expect(again.configs.getVersion(version.id).body.equals(body)).toBe(true);
    expect(again.bmcs.credentials(m.id).options.kgHex).toBe(KG_HEX);
    again.close();
  });

  it('migration 009 seals the clear values an older database holds, and the files keep no clear copy', () => {
    const dir = tmp();
    const box = SecretBox.fromKeyFile(join(dir, 'secret.key'));
    const clearSpec = spec();
    const body = Buffer.from(
      renderConfig({
        machine: { id: 1, name: 'cp-1', macs: ['52:54:00:00:07:01'], ipv4: '198.18.0.71', labels: LABELS },
        profile: { name: 'zq', revision: 1, spec: clearSpec },
        installImage: null,
      }).body,
    );
    const now = new Date().toISOString();
    const old = legacyDb(join(dir, 'inventory.db'));
    old.prepare('INSERT INTO profiles (name, spec, revision, created_at, updated_at) VALUES (?, ?, 1, ?, ?)').run('zq', JSON.stringify(clearSpec), now, now);
    old.prepare("INSERT INTO machines (id, name, labels, profile, created_at, updated_at) VALUES (1, 'cp-1', ?, 'zq', ?, ?)").run(JSON.stringify(LABELS), now, now);
    old.prepare('INSERT INTO bmcs (machine_id, type, address, port, username, secret, options, updated_at) VALUES (1, ?, ?, NULL, ?, ?, ?, ?)')
      .run('ipmi', '198.18.0.171', 'admin', box.seal('pw'), JSON.stringify({ kgHex: KG_HEX }), now);
    old.prepare(
      `INSERT INTO config_versions (machine_id, machine_name, profile, profile_revision, format, content_type, body, sha256, meta, created_at)
       VALUES (1, 'cp-1', 'zq', 1, 'talos', 'application/yaml', ?, ?, '{}', ?)`,
    ).run(body, sha256(body), now);
    old.pragma('wal_checkpoint(TRUNCATE)');
    old.close();
    expect(leaksIn(dbFileBytes(dir)).length).toBeGreaterThan(0); // the fixture really starts in clear

    const s = Store.open(dir);
    expect(Store.rawSqlite(s).pragma('user_version', { simple: true })).toBeGreaterThanOrEqual(9);
    expect(s.profiles.get('zq').spec.talos).toMatchObject({ secrets: { machineToken: SEALED } });
    expect(s.profiles.unsealed('zq').spec).toEqual(clearSpec);
    expect(s.bmcs.get(1).options).toEqual({ kgHex: SEALED });
    expect(s.bmcs.credentials(1)).toMatchObject({ password: 'pw', options: { kgHex: KG_HEX } });
    const v = s.configs.getVersion(1);
    expect(v.body.equals(body)).toBe(true);
    expect(v).toMatchObject({ sha256: sha256(body), size: body.length });
    // The old version records its profile's secrets, so a reader without admin sees them redacted.
    expect(s.configs.secretValues(1)).toContain(TALOS_SECRETS.etcdCa.key);
    // Sealing was the one change a version may undergo.
    expect(() => Store.rawDb(s).prepare("UPDATE config_versions SET meta = '{\"x\":1}' WHERE id = 1").run()).toThrow(/immutable/);
    s.close();
    expect(leaksIn(dbFileBytes(dir))).toEqual([]);

    // Idempotent: the next open finds nothing left to seal and changes nothing.
    const again = Store.open(dir);
    expect(again.configs.getVersion(1).body.equals(body)).toBe(true);
    expect(again.profiles.unsealed('zq').revision).toBe(1);
    again.close();
  });
});
