import { type Db, MultiRowInsert, dialectOf, nowIso } from './db.js';
import { rowIdBound } from './row-ids.js';
import { lastEventId, latestEvents } from './trace-reader.js';

/** Queued trace rows per INSERT on PostgreSQL (8 parameters a row). */
const TRACE_ROWS_MAX = 500;
/** Rows per INSERT of addMany (7 parameters a row). */
const MANY_ROWS_MAX = 64;
const EVENT_COLUMNS = 'INSERT INTO events (at, mac, machine_id, source, kind, detail, appliance)';

/** One entry of a machine's boot trace. */
export interface BootEvent {
  id: number;
  at: string;
  mac: string | null;
  machineId: number | null;
  source: string;
  kind: string;
  detail: Record<string, unknown>;
  /** The appliance that wrote it (settings appliance.name; null for rows from before migration 015). */
  appliance?: string | null;
}

/** What a subsystem records. */
export interface NewEvent {
  mac?: string | null;
  machineId?: number | null;
  source: string;
  kind: string;
  detail?: Record<string, unknown>;
}

/** An events table row as SQLite returns it. */
export interface EventRow {
  id: number;
  at: string;
  mac: string | null;
  machine_id: number | null;
  source: string;
  kind: string;
  detail: string;
  appliance?: string | null;
}

/** A row as the BootEvent callers see. */
export function eventFromRow(r: EventRow): BootEvent {
  return { id: r.id, at: r.at, mac: r.mac, machineId: r.machine_id, source: r.source, kind: r.kind, detail: JSON.parse(r.detail) as Record<string, unknown>, appliance: r.appliance ?? null };
}

/**
 * The WHERE clause of one machine's trace: its own rows and its MACs' rows. DHCP rows are
 * reached by their MAC only (migration 006: events_machine skips them).
 */
export function machineTraceClause(machineId: number): { sql: string; args: unknown[] } {
  return { sql: "((machine_id = ? AND source <> 'dhcp') OR mac IN (SELECT mac FROM interfaces WHERE machine_id = ?))", args: [machineId, machineId] };
}

type QueuedRow = [at: string, mac: string | null, machineId: number | null | undefined, source: string, kind: string, detail: string];

/**
 * The boot-event trace per MAC and per machine.
 *
 * `addSoon` is for the DHCP hot path: rows are queued and written together at most `maxDelayMs`
 * later. A trace index keyed by MAC costs one WAL page per transaction that touches a MAC, so the
 * OFFER and ACK of one exchange written together cost one page, not two commits' worth. Every
 * other write and every read flushes the queue first, so ids stay in the order things happened
 * and a reader on this connection always sees every event. A crash can lose the last
 * `maxDelayMs` of queued rows (never a lease: those commit before the ACK leaves).
 */
export class EventRepo {
  private readonly insert;
  private readonly insertReturning;
  private readonly machineOfMac;
  /** writeMany's INSERTs: the machine of a row without one looked up in the statement (PgDb.prepare translates a 500-row text in milliseconds). */
  private readonly queuedInsert: MultiRowInsert;
  /** addMany's INSERTs: rows whose machine is given. */
  private readonly givenInsert: MultiRowInsert;
  private queued: QueuedRow[] = [];
  private timer: NodeJS.Timeout | undefined;
  /** Called when a flush of queued rows fails (they are dropped; the caller logs). */
  onFlushError: ((err: unknown, rows: number) => void) | undefined;
  /** Queued rows lost to a failed flush. */
  lostRows = 0;
  /** Writes queued boots first (BootWriteQueue.flush), so their rows keep their place too. */
  pendingWrites: (() => void) | undefined;
  /** The appliance every row written here is stamped with (main.ts sets it from settings; null: unnamed). */
  appliance: string | null = null;

  constructor(
    private readonly db: Db,
    private readonly maxDelayMs = 100,
    private readonly maxQueued = 5000,
  ) {
    const insert = `${EVENT_COLUMNS} VALUES (?, ?, ?, ?, ?, ?, ?)`;
    this.queuedInsert = new MultiRowInsert(db, EVENT_COLUMNS, '(?, ?, COALESCE(?, (SELECT machine_id FROM interfaces WHERE mac = ?)), ?, ?, ?, ?)', TRACE_ROWS_MAX);
    this.givenInsert = new MultiRowInsert(db, EVENT_COLUMNS, '(?, ?, ?, ?, ?, ?, ?)', MANY_ROWS_MAX);
    this.insert = db.prepare(insert);
    // The id of an added row (queued rows are written without: nobody asks for theirs).
    this.insertReturning = db.prepare(`${insert} RETURNING id`).pluck();
    this.machineOfMac = db.prepare('SELECT machine_id FROM interfaces WHERE mac = ?').pluck();
  }

  /** Appends an event now (after the queued ones); the machine is found from the MAC when not given. */
  add(e: NewEvent): number {
    this.flush();
    return this.write([nowIso(), e.mac ?? null, e.machineId, e.source, e.kind, JSON.stringify(e.detail ?? {})], true);
  }

  /**
   * Appends events of known machines now (after the queued ones), all stamped now, in multi-row
   * INSERTs: the boot write queue's batch (issue #21). `machineId` stands in for an event's own
   * missing one; `detailJson` is its detail serialized already.
   */
  addMany(rows: ReadonlyArray<{ event: NewEvent; machineId: number; detailJson?: string | undefined }>): void {
    this.flush();
    const at = nowIso();
    const params: unknown[] = [];
    for (const { event: e, machineId, detailJson } of rows) params.push(at, e.mac ?? null, e.machineId ?? machineId, e.source, e.kind, detailJson ?? JSON.stringify(e.detail ?? {}), this.appliance);
    this.givenInsert.run(params);
  }

  /** Queues an event stamped now; it is written within `maxDelayMs` or before the next read or add. */
  addSoon(e: NewEvent): void {
    this.queued.push([this.stamp(), e.mac ?? null, e.machineId, e.source, e.kind, JSON.stringify(e.detail ?? {})]);
    if (this.queued.length >= this.maxQueued) this.flush();
    else if (!this.timer) {
      this.timer = setTimeout(() => this.flush(), this.maxDelayMs);
      this.timer.unref();
    }
  }

  /** nowIso, formatted once per millisecond (the DHCP hot path queues thousands of rows a second). */
  private stamp(): string {
    const ms = Date.now();
    if (ms !== this.stampMs) {
      this.stampMs = ms;
      this.stampIso = new Date(ms).toISOString();
    }
    return this.stampIso;
  }
  private stampMs = -1;
  private stampIso = '';

  /** Writes the queued rows in one transaction (also on Store.close). */
  flush(): void {
    this.pendingWrites?.();
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const rows = this.queued;
    if (rows.length === 0 || !this.db.open) return;
    this.queued = [];
    try {
      this.db.transaction(() => {
        if (dialectOf(this.db) === 'postgres') this.writeMany(rows);
        else for (const r of rows) this.write(r);
      })();
    } catch (err) {
      this.lostRows += rows.length;
      this.onFlushError?.(err, rows.length);
    }
  }

  /**
   * Queued rows in statements of up to TRACE_ROWS_MAX (PostgreSQL: every statement is a round
   * trip, and one row at a time with its machine lookup cost two per row, the most of a DHCP
   * exchange's). The machine of a row without one is looked up in the statement; ids follow
   * the rows' order, as one INSERT per row gives them.
   */
  private writeMany(rows: QueuedRow[]): void {
    const params: unknown[] = [];
    for (const [when, mac, machineId, source, kind, detail] of rows) params.push(when, mac, machineId, mac, source, kind, detail, this.appliance);
    this.queuedInsert.run(params);
  }

  /** Writes one row; its id when `withId` (0 otherwise). */
  private write(r: QueuedRow, withId = false): number {
    const [at, mac, given, source, kind, detail] = r;
    const machineId = given ?? (mac ? ((this.machineOfMac.get(mac) as number | undefined) ?? null) : null);
    if (withId) return this.insertReturning.get(at, mac, machineId, source, kind, detail, this.appliance) as number;
    this.insert.run(at, mac, machineId, source, kind, detail, this.appliance);
    return 0;
  }

  /** The id of the newest event (0 for none), queued rows written first. */
  lastId(): number {
    this.flush();
    return lastEventId(this.db);
  }

  /** The newest `limit` events of a machine or of one MAC, oldest first (diagnosis reads a trace's end). */
  latest(q: { machineId?: number; mac?: string }, limit = 2000): BootEvent[] {
    this.flush();
    return latestEvents(this.db, q, limit);
  }

  /** Events oldest first, filtered by machine and/or MAC, after an id, at most `limit`. */
  list(q: { machineId?: number; mac?: string; afterId?: number; limit?: number; kind?: string } = {}): BootEvent[] {
    this.flush();
    const where: string[] = [];
    const args: unknown[] = [];
    if (q.machineId !== undefined) {
      const m = machineTraceClause(q.machineId);
      where.push(m.sql);
      args.push(...m.args);
    }
    if (q.mac !== undefined) {
      where.push('mac = ?');
      args.push(q.mac);
    }
    if (q.afterId !== undefined) {
      where.push('id > ?');
      args.push(rowIdBound(q.afterId));
    }
    if (q.kind !== undefined) {
      where.push('kind = ?');
      args.push(q.kind);
    }
    const sql = `SELECT * FROM events ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id LIMIT ?`;
    const rows = this.db.prepare(sql).all(...args, Math.min(q.limit ?? 1000, 10_000)) as EventRow[];
    return rows.map(eventFromRow);
  }
}
