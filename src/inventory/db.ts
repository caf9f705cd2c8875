import Database from 'better-sqlite3';
import { AppError } from '../errors.js';
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
    // PRAGMA foreign_keys is a no-op inside a transaction: switched around it, restored after.
    const keysWereOn = db.pragma('foreign_keys', { simple: true }) === 1;
    if (m.foreignKeysOff && keysWereOn) db.pragma('foreign_keys = OFF');
    try {
      db.transaction(() => {
        if (m.sql.trim()) db.exec(m.sql);
        if (m.foreignKeysOff) assertForeignKeys(db, m.version);
        db.pragma(`user_version = ${m.version}`);
      })();
    } finally {
      if (m.foreignKeysOff && keysWereOn) db.pragma('foreign_keys = ON');
    }
  }
}

/** Step 10 of lang_altertable.html: a rebuild must leave no dangling reference before it commits. */
function assertForeignKeys(db: Db, version: number): void {
  const bad = db.pragma('foreign_key_check') as Array<{ table: string; rowid: number; parent: string }>;
  if (bad.length > 0) {
    const first = bad[0]!;
    throw new AppError('INTERNAL', `migration ${version} left ${bad.length} dangling references (first: ${first.table} row ${first.rowid} → ${first.parent})`);
  }
}

/** ISO timestamp for rows. */
export function nowIso(): string {
  return new Date().toISOString();
}
