// SQLite-only: the SQLite table rebuild (foreign_keys off, sqlite_sequence); the PostgreSQL steps are checked in migrations-pg.test.ts.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { type Db, openDb } from '../../src/inventory/db.js';
import { MIGRATIONS } from '../../src/inventory/migrations/index.js';
import { SecretBox } from '../../src/inventory/secrets.js';
import { Store } from '../../src/inventory/store.js';

const TABLES = ['machines', 'interfaces', 'config_versions', 'machine_configs', 'config_tokens', 'rollout_machines', 'events'];

/** A database file built by the migrations up to `version` only (what an older rackboot left). */
function dbAtVersion(version: number): { path: string; db: Db } {
  const path = join(mkdtempSync(join(tmpdir(), 'rb-m008-')), 'inventory.db');
  const db = new Database(path);
  db.pragma('foreign_keys = ON');
  for (const m of MIGRATIONS.filter((x) => x.version <= version)) {
    db.exec(m.sql);
    db.pragma(`user_version = ${m.version}`);
  }
  return { path, db };
}

const dump = (db: Db, table: string) => db.prepare(`SELECT * FROM ${table} ORDER BY rowid`).all();

function seed(db: Db): void {
  const t = '2026-01-01T00:00:00.000Z';
  const machine = db.prepare(`INSERT INTO machines (name, labels, state, ipv4, facts, created_at, updated_at) VALUES (?, '{"rack":"r1"}', 'ready', ?, '{}', ?, ?)`);
  const version = db.prepare(
    `INSERT INTO config_versions (machine_id, machine_name, profile, profile_revision, format, content_type, body, sha256, created_at)
     VALUES (?, ?, 'p', 1, 'testos', 'application/json', ?, ?, ?)`,
  );
  const token = db.prepare('INSERT INTO config_tokens (hash, kind, machine_id, version_id, uses_left, expires_at, created_at) VALUES (?, ?, ?, ?, 1, 99, 1)');
  for (let i = 1; i <= 3; i++) {
    const id = Number(machine.run(`m${i}`, `198.18.0.${10 + i}`, t, t).lastInsertRowid);
    db.prepare('INSERT INTO interfaces (mac, machine_id, position) VALUES (?, ?, 0)').run(`02:00:00:00:00:0${i}`, id);
    for (let v = 0; v < 2; v++) {
      const vid = Number(version.run(id, `m${i}`, Buffer.from(`body ${i}.${v}`), `sha-${i}-${v}`, t).lastInsertRowid);
      token.run(`hash-${i}-${v}`, v === 0 ? 'config' : 'report', id, vid);
      if (v === 1) db.prepare('INSERT INTO machine_configs (machine_id, version_id, assigned_at) VALUES (?, ?, ?)').run(id, vid, t);
    }
    db.prepare("INSERT INTO events (at, mac, machine_id, source, kind, detail) VALUES (?, ?, ?, 'http', 'boot.script', '{}')").run(t, `02:00:00:00:00:0${i}`, id);
  }
  db.prepare("INSERT INTO rollouts (id, spec, state, created_at, updated_at) VALUES (1, '{}', 'running', 1, 1)").run();
  db.prepare("INSERT INTO rollout_machines (rollout_id, machine_id, name, batch, position) VALUES (1, 1, 'm1', 0, 0)").run();
  // The bug being fixed: machine 3 (the highest id) is deleted; its versions and tokens stay behind.
  db.prepare('DELETE FROM machines WHERE id = 3').run();
}

describe('migration 008: machine ids are never reused', () => {
  it.each([6, 7])('keeps every row and id of a version-%i database, drops only orphans', (from) => {
    const { path, db: old } = dbAtVersion(from);
    seed(old);
    const before = Object.fromEntries(TABLES.map((t) => [t, dump(old, t)]));
    old.close();

    const db = openDb(path);
    expect(db.pragma('user_version', { simple: true })).toBe(MIGRATIONS.at(-1)!.version);
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(db.pragma('foreign_key_check')).toEqual([]);
    for (const t of ['machines', 'interfaces', 'machine_configs']) expect(dump(db, t)).toEqual(before[t]);
    // Migrations 014 and 015 add rollout_machines.pxe_sent_at and events.appliance (NULL on rows from before).
    const without = (rows: unknown[], column: string) => (rows as Array<Record<string, unknown>>).map(({ [column]: _c, ...r }) => r);
    expect(without(dump(db, 'rollout_machines'), 'pxe_sent_at')).toEqual(before.rollout_machines);
    expect(without(dump(db, 'events'), 'appliance')).toEqual(before.events);
    const live = (rows: unknown[]) => (rows as Array<{ machine_id: number }>).filter((r) => r.machine_id !== 3);
    // Migration 009 adds the sealing columns (sealed, secrets); the rows keep everything they had.
    const unsealedColumns = (rows: unknown[]) => (rows as Array<Record<string, unknown>>).map(({ sealed: _s, secrets: _x, ...r }) => r);
    expect(unsealedColumns(dump(db, 'config_versions'))).toEqual(live(before.config_versions!));
    // Migration 016 keys tokens by id; a token from before keeps its hash as legacy_hash.
    const byHash = (rows: unknown[]) => (rows as Array<Record<string, unknown>>).map(({ id: _i, secret_hash: _s, legacy_hash, ...r }) => ({ hash: legacy_hash, ...r }));
    expect(byHash(dump(db, 'config_tokens'))).toEqual(live(before.config_tokens!));
    const schema = db.prepare("SELECT sql FROM sqlite_master WHERE name = 'machines'").pluck().get() as string;
    expect(schema).toMatch(/AUTOINCREMENT/);
    const indexes = db.prepare("SELECT name FROM sqlite_master WHERE type IN ('index', 'trigger') AND name NOT LIKE 'sqlite_%' ORDER BY name").pluck().all();
    expect(indexes).toEqual(expect.arrayContaining(['machines_ipv4', 'config_versions_machine', 'config_versions_immutable', 'config_tokens_expiry']));
    expect(() => db.prepare("UPDATE config_versions SET sha256 = 'x'").run()).toThrow(/immutable/);
    db.close();

    const store = new Store(openDb(path), SecretBox.ephemeral());
    // Id 3 was used by the deleted machine: the next machine gets 4, and sees nothing of 3's.
    const fresh = store.machines.create({ name: 'new', macs: ['02:00:00:00:00:99'] });
    expect(fresh.id).toBe(4);
    expect(store.configs.listVersions(fresh.id)).toEqual([]);
    expect(store.configs.desired(fresh.id)).toBeUndefined();
    store.close();
  });

  it('a deleted machine takes its versions, tokens and desired config with it; its id is not handed out again', () => {
    const store = Store.memory();
    const a = store.machines.create({ name: 'a', macs: ['02:00:00:00:01:01'] });
    const b = store.machines.create({ name: 'b', macs: ['02:00:00:00:01:02'] });
    const body = Buffer.from('x');
    const { version } = store.configs.saveVersion({ machineId: b.id, machineName: 'b', profile: 'p', profileRevision: 1, format: 'testos', contentType: 'text/plain', body, sha256: 'sha', meta: {} });
    store.configs.setDesired(b.id, version.id);
    const key = { id: store.configs.nextTokenId(), secretHash: Buffer.alloc(32, 1) };
    store.configs.addToken({ ...key, kind: 'report', machineId: b.id, versionId: version.id, usesLeft: null, expiresAt: Date.now() + 1e9, createdAt: Date.now() });
    store.machines.remove(b.id);
    expect(store.configs.findToken(key)).toBeUndefined();
    expect(store.configs.findVersion(version.id)).toBeUndefined();
    const c = store.machines.create({ name: 'b', macs: ['02:00:00:00:01:02'] });
    expect(c.id).toBeGreaterThan(b.id);
    expect(c.id).not.toBe(a.id);
    expect(store.configs.listVersions(c.id)).toEqual([]);
    expect(store.configs.desired(c.id)).toBeUndefined();
    const { version: v2 } = store.configs.saveVersion({ machineId: c.id, machineName: 'b', profile: 'p', profileRevision: 1, format: 'testos', contentType: 'text/plain', body, sha256: 'sha', meta: {} });
    expect(v2.id).toBeGreaterThan(version.id);
    store.close();
  });
});
