// SQLite-only: SQLite's query plan for the revocation; the PostgreSQL index is checked in migrations-pg.test.ts.
import type Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { openDb } from '../../src/inventory/db.js';
import { MIGRATIONS } from '../../src/inventory/migrations/index.js';
import { inventoryAtVersion } from '../helpers/old-schema.js';

/** A database file as a rackboot with migrations up to 12 left it, with tokens of one machine. */
function version12(): string {
  const { path, db } = inventoryAtVersion(12, 'rb-m013-');
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
