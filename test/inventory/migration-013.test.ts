// SQLite-only: SQLite's query plan for the revocation; the PostgreSQL index is checked in migrations-pg.test.ts.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { openDb } from '../../src/inventory/db.js';
import { MIGRATIONS } from '../../src/inventory/migrations/index.js';

/** A database file as a rackboot with migrations up to 12 left it, with tokens of one machine. */
function version12(): string {
  const path = join(mkdtempSync(join(tmpdir(), 'rb-m013-')), 'inventory.db');
  const db = new Database(path);
  db.pragma('foreign_keys = ON');
  for (const m of MIGRATIONS.filter((x) => x.version <= 12)) {
    db.exec(m.sql);
    db.pragma(`user_version = ${m.version}`);
  }
  const t = '2026-01-01T00:00:00.000Z';
  db.prepare(`INSERT INTO machines (id, name, labels, state, facts, created_at, updated_at) VALUES (1, 'm1', '{}', 'booting', '{}', ?, ?)`).run(t, t);
  db.prepare(`INSERT INTO config_versions (id, machine_id, machine_name, profile, profile_revision, format, content_type, body, sha256, created_at)
    VALUES (1, 1, 'm1', 'p', 1, 'testos', 'application/json', x'7b7d', 'sha', ?)`).run(t);
  const token = db.prepare('INSERT INTO config_tokens (hash, kind, machine_id, version_id, uses_left, expires_at, created_at) VALUES (?, ?, 1, 1, 1, 99, 1)');
  for (let i = 0; i < 50; i++) token.run(`c${i}`, 'config');
  token.run('r1', 'report');
  db.close();
  return path;
}

const indexes = (db: Database.Database) =>
  db.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'config_tokens' AND sql IS NOT NULL ORDER BY name").pluck().all();

describe('migration 013: config tokens indexed by (machine, kind)', () => {
  it('applies on an existing database: rows kept, the revocation uses the new index', () => {
    const path = version12();
    const db = openDb(path);
    expect(db.pragma('user_version', { simple: true })).toBe(MIGRATIONS.at(-1)!.version);
    // (config_tokens_legacy: migration 016's index of the tokens from before it.)
    expect(indexes(db)).toEqual(['config_tokens_expiry', 'config_tokens_legacy', 'config_tokens_machine_kind', 'config_tokens_version']);
    expect(db.prepare('SELECT count(*) FROM config_tokens').pluck().get()).toBe(51);
    const plan = db.prepare("EXPLAIN QUERY PLAN DELETE FROM config_tokens WHERE machine_id = ? AND kind = 'report'").all(1) as Array<{ detail: string }>;
    expect(plan.map((p) => p.detail).join(' ')).toMatch(/USING (COVERING )?INDEX config_tokens_machine_kind \(machine_id=\? AND kind=\?\)/);
    // A machine delete still cascades to its tokens (the machine_id lookup now goes through the new index).
    db.prepare('DELETE FROM machines WHERE id = 1').run();
    expect(db.prepare('SELECT count(*) FROM config_tokens').pluck().get()).toBe(0);
    db.close();
  });
});
