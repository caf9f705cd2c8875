import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { MIGRATIONS } from '../../src/inventory/migrations/index.js';

/**
 * An SQLite inventory file as an older rackboot left it: the real migrations up to `version`
 * only, with machine 1 (`m1`) and its config version 1 (a migration test adds its own rows).
 * The caller closes it before opening the file with openDb, which migrates the rest.
 */
export function inventoryAtVersion(version: number, prefix: string): { path: string; db: Database.Database } {
  const path = join(mkdtempSync(join(tmpdir(), prefix)), 'inventory.db');
  const db = new Database(path);
  db.pragma('foreign_keys = ON');
  for (const m of MIGRATIONS.filter((x) => x.version <= version)) {
    db.exec(m.sql);
    db.pragma(`user_version = ${m.version}`);
  }
  const t = '2026-01-01T00:00:00.000Z';
  db.prepare(`INSERT INTO machines (id, name, labels, state, facts, created_at, updated_at) VALUES (1, 'm1', '{}', 'booting', '{}', ?, ?)`).run(t, t);
  db.prepare(`INSERT INTO config_versions (id, machine_id, machine_name, profile, profile_revision, format, content_type, body, sha256, created_at)
    VALUES (1, 1, 'm1', 'p', 1, 'testos', 'application/json', x'7b7d', 'sha', ?)`).run(t);
  return { path, db };
}
