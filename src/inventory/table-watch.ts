import { randomBytes } from 'node:crypto';
import { type Db, type SqliteDb, sqliteOf } from './db.js';

/**
 * Change counters of tables, kept by the connection itself (issue #21: boot reads served from
 * memory). Temporary triggers (they live on this connection only) call a function on every
 * insert, update and delete of a watched table, whoever runs the statement: a repository, a
 * foreign-key action, a cascade. A TableMemo compares the counts with what they were when it
 * read: a change counts from the next lookup. Only this connection's writes are seen: a served
 * inventory has no other writer (the data dir lock keeps a second `serve` out, the CLI goes
 * through the API); reading SQLite's data_version at every lookup cost more than the rows it saves.
 *
 * PostgreSQL (several appliances may write, and a trigger cannot call into this process): the
 * watch is off (`enabled` false) and every TableMemo reads through: correct across appliances,
 * at one round trip per lookup.
 */
export class TableWatch {
  private readonly counts = new Map<string, number>();
  /** This watch's own function and trigger names (several watches may share a connection). */
  private readonly id = randomBytes(6).toString('hex');
  private readonly sqlite: SqliteDb | undefined;

  constructor(private readonly db: Db) {
    const sqlite = sqliteOf(db);
    this.sqlite = sqlite;
    if (!sqlite) return;
    sqlite.function(`rb_table_changed_${this.id}`, { deterministic: false }, (table: unknown) => {
      const t = String(table);
      this.counts.set(t, (this.counts.get(t) ?? 0) + 1);
      return null;
    });
  }

  /** Starts counting the changes of `table` (idempotent). */
  watch(table: string): void {
    if (!/^[a-z_]+$/.test(table)) throw new Error(`table name ${table} is not a plain identifier`);
    if (this.counts.has(table)) return;
    this.counts.set(table, 0);
    if (!this.sqlite) return;
    for (const op of ['INSERT', 'UPDATE', 'DELETE']) {
      const name = `rb_watch_${this.id}_${table}_${op.toLowerCase()}`;
      this.sqlite.exec(`CREATE TEMP TRIGGER ${name} AFTER ${op} ON main.${table} BEGIN SELECT rb_table_changed_${this.id}('${table}'); END`);
    }
  }

  /** False on PostgreSQL: changes are not seen, so nothing may be remembered. */
  get enabled(): boolean {
    return this.sqlite !== undefined;
  }

  /** A stamp of the tables' contents: it differs after any change to any of them (rolled-back ones too). */
  stamp(tables: readonly string[]): number {
    let sum = 0;
    for (const t of tables) sum += this.counts.get(t) ?? Number.NaN;
    return sum;
  }

  /** True inside an open transaction (its writes may still roll back: nothing is remembered then). */
  get inTransaction(): boolean {
    return this.db.inTransaction;
  }
}

/**
 * Lookups remembered while `tables` are unchanged (SQLite; on PostgreSQL every lookup reads
 * through, see TableWatch). Inside a transaction it reads through and
 * remembers nothing (a rollback would leave a remembered row that never existed). Misses are not
 * remembered (a flood of unknown keys cannot grow it); at `max` entries it starts over.
 */
export class TableMemo<K, V> {
  private readonly entries = new Map<K, V>();
  private readonly tables: readonly string[];
  private at = -1;

  private readonly watch: TableWatch;

  constructor(
    db: Db,
    tables: readonly string[],
    private readonly max = 100_000,
  ) {
    this.watch = new TableWatch(db);
    for (const t of tables) this.watch.watch(t);
    this.tables = tables;
  }

  /** The remembered value of `key`, else `load()` (remembered when defined and outside a transaction). */
  get(key: K, load: () => V | undefined): V | undefined {
    if (this.watch.inTransaction || !this.watch.enabled) return load();
    const stamp = this.watch.stamp(this.tables);
    if (stamp !== this.at) {
      this.entries.clear();
      this.at = stamp;
    }
    const hit = this.entries.get(key);
    if (hit !== undefined) return hit;
    const v = load();
    if (v === undefined) return v;
    if (this.entries.size >= this.max) this.entries.clear();
    this.entries.set(key, v);
    return v;
  }
}

/** Freezes a plain value and everything in it: a remembered row is shared by every caller. */
export function deepFreeze<T>(v: T): T {
  if (v !== null && typeof v === 'object' && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const x of Object.values(v as Record<string, unknown>)) deepFreeze(x);
  }
  return v;
}
