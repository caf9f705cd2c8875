import Database from 'better-sqlite3';
import { AppError } from '../errors.js';
import { checkDbHealth } from './db-health.js';
import { restrictDbFiles } from './file-modes.js';
import { MIGRATIONS } from './migrations/index.js';

/** Which database a connection talks to. */
export type Dialect = 'sqlite' | 'postgres';

/** What run() reports: rows changed (ids come from RETURNING, portable to both dialects). */
export interface RunResult {
  changes: number;
  /** SQLite only (PostgreSQL has no rowid): portable code reads ids with RETURNING. */
  lastInsertRowid?: number | bigint;
}

/** The parameters of a transaction function (the same shape as better-sqlite3's, so its Database fits). */
export type ArgumentTypes<F> = F extends (...args: infer A) => unknown ? A : never;

/** A prepared statement: the part of better-sqlite3's Statement the repositories use. */
export interface SqlStatement {
  run(...params: unknown[]): RunResult;
  /** The first row, or undefined. */
  get(...params: unknown[]): unknown;
  all(...params: unknown[]): unknown[];
  /** Rows as their first column's value (mutually exclusive with raw). */
  pluck(toggle?: boolean): this;
  /** Rows as arrays of column values (mutually exclusive with pluck). */
  raw(toggle?: boolean): this;
}

/**
 * The connection every repository uses: the synchronous subset of better-sqlite3's Database
 * (which satisfies it as is) that PgDb (pg/pg-db.ts) also provides. Statement text is SQLite's;
 * PgDb translates parameters, json_extract and `IS ?` (pg/translate.ts), the rest is portable
 * SQL. SQLite-only features (pragmas, backup, WAL checkpoints, temp triggers) take SqliteDb.
 */
export interface SqlDb {
  /** 'postgres' for PgDb; better-sqlite3 has no such property (dialectOf reads it as 'sqlite'). */
  readonly dialect?: Dialect;
  /** The file name, or the PostgreSQL URL without its password. */
  readonly name: string;
  readonly open: boolean;
  readonly inTransaction: boolean;
  prepare(sql: string): SqlStatement;
  exec(sql: string): unknown;
  /** A function running `fn` in a transaction (a savepoint when nested); it rolls back if fn throws. */
  // biome-ignore lint/suspicious/noExplicitAny: better-sqlite3's own constraint (VariableArgFunction), so its Database fits.
  transaction<F extends (...args: any[]) => unknown>(fn: F): (...params: ArgumentTypes<F>) => ReturnType<F>;
  close(): unknown;
}

/** The handle type used by every repository. */
export type Db = SqlDb;

/** A better-sqlite3 connection (SQLite-only features). */
export type SqliteDb = Database.Database;

/** The dialect of a connection. */
export function dialectOf(db: Db): Dialect {
  return db.dialect === 'postgres' ? 'postgres' : 'sqlite';
}

/** The SQLite connection behind `db`, or undefined for PostgreSQL. */
export function sqliteOf(db: Db): SqliteDb | undefined {
  return dialectOf(db) === 'sqlite' ? (db as SqliteDb) : undefined;
}

/**
 * How lease and inventory commits reach the disk. normal (synchronous=NORMAL in WAL mode):
 * a commit survives a crash of rackboot, an OS crash or power loss can take the last ones.
 * fsync (synchronous=FULL): the WAL is fsynced at every commit, so an ACKed lease survives
 * power loss (what Kea's memfile and ISC dhcpd promise), at the cost of one fsync per commit.
 */
export type Durability = 'normal' | 'fsync';

/** Options of openDb. */
export interface OpenDbOptions {
  durability?: Durability;
}

/**
 * Opens (or creates) the inventory database in WAL mode and applies pending migrations.
 * A file database is created 0600 (its -wal and -shm inherit the mode), checked with
 * quick_check, and refused when its schema is newer than this binary's migrations.
 */
export function openDb(path: string, opts: OpenDbOptions = {}): SqliteDb {
  const file = path !== ':memory:' && path !== '';
  if (file) restrictDbFiles(path);
  const db = new Database(path);
  try {
    db.pragma('busy_timeout = 5000');
    if (file) checkDbHealth(db, path, MIGRATIONS.at(-1)?.version ?? 0);
    db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${opts.durability === 'fsync' ? 'FULL' : 'NORMAL'}`);
    db.pragma('foreign_keys = ON');
    // 64 MiB page cache (the default is 2 MiB): DHCP's per-packet MAC lookups and index inserts hit random pages.
    db.pragma('cache_size = -65536');
    migrate(db);
  } catch (e) {
    db.close();
    throw e;
  }
  if (file) restrictDbFiles(path);
  return db;
}

/** Applies every migration newer than the database's user_version, each in its own transaction. */
export function migrate(db: SqliteDb): void {
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
function assertForeignKeys(db: SqliteDb, version: number): void {
  const bad = db.pragma('foreign_key_check') as Array<{ table: string; rowid: number; parent: string }>;
  if (bad.length > 0) {
    const first = bad[0]!;
    throw new AppError('INTERNAL', `migration ${version} left ${bad.length} dangling references (first: ${first.table} row ${first.rowid} → ${first.parent})`);
  }
}

/**
 * A connection's prepared statements, each prepared on first use and kept (issue #21: preparing
 * on every call was a tenth of a boot script's CPU). One per repository; for fixed SQL text only
 * (dynamic WHERE clauses would grow it).
 */
export class Statements {
  private readonly cache = new Map<string, SqlStatement>();

  constructor(private readonly db: Db) {}

  /**
   * The statement for `sql`. `value: true` gives it in pluck mode (first column only), kept apart
   * from the row-returning one, because pluck() switches the statement object itself.
   */
  get(sql: string, opts: { value?: boolean } = {}): SqlStatement {
    const key = opts.value ? `value:${sql}` : sql;
    let stmt = this.cache.get(key);
    if (!stmt) {
      stmt = opts.value ? this.db.prepare(sql).pluck() : this.db.prepare(sql);
      this.cache.set(key, stmt);
    }
    return stmt;
  }
}

/**
 * An INSERT of many rows in one statement, `<head> VALUES <row>, <row>, …`, prepared once per row
 * count (issue #21: a statement per row was most of a batch's cost; on PostgreSQL every statement
 * is a round trip). Writes `rows.length / perRow` rows in statements of at most `maxRows`.
 */
export class MultiRowInsert {
  private readonly stmts: SqlStatement[] = [];
  private readonly perRow: number;

  constructor(
    private readonly db: Db,
    private readonly head: string,
    private readonly row: string,
    private readonly maxRows: number,
  ) {
    this.perRow = row.split('?').length - 1;
  }

  /** Writes the rows whose parameters `params` holds, `perRow` after `perRow`, in order. */
  run(params: readonly unknown[]): void {
    const rows = params.length / this.perRow;
    if (!Number.isInteger(rows)) throw new RangeError(`${params.length} parameters are not whole rows of ${this.perRow}`);
    for (let at = 0; at < rows; at += this.maxRows) {
      const n = Math.min(this.maxRows, rows - at);
      let stmt = this.stmts[n];
      if (!stmt) {
        stmt = this.db.prepare(`${this.head} VALUES ${Array.from({ length: n }, () => this.row).join(', ')}`);
        this.stmts[n] = stmt;
      }
      stmt.run(...params.slice(at * this.perRow, (at + n) * this.perRow));
    }
  }
}

/** ISO timestamp for rows. */
export function nowIso(): string {
  return new Date().toISOString();
}
