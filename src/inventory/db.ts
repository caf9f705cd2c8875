import Database from 'better-sqlite3';
import { MIGRATIONS } from './migrations/index.js';

/** The SQLite handle type used by every repository. */
export type Db = Database.Database;

/** Opens (or creates) the inventory database in WAL mode and applies pending migrations. */
export function openDb(path: string): Db {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  // NORMAL is durable across process crashes in WAL mode (only an OS crash can lose the last commit).
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  // 64 MiB page cache (the default is 2 MiB): DHCP's per-packet MAC lookups and index inserts hit random pages.
  db.pragma('cache_size = -65536');
  migrate(db);
  return db;
}

/** Applies every migration newer than the database's user_version, each in its own transaction. */
export function migrate(db: Db): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  for (const m of MIGRATIONS) {
    if (m.version <= current) continue;
    db.transaction(() => {
      if (m.sql.trim()) db.exec(m.sql);
      db.pragma(`user_version = ${m.version}`);
    })();
  }
}

/** ISO timestamp for rows. */
export function nowIso(): string {
  return new Date().toISOString();
}
