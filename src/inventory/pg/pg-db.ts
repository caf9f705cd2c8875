import { createRequire } from 'node:module';
import { MessageChannel, type MessagePort, Worker, receiveMessageOnPort } from 'node:worker_threads';
import { AppError } from '../../errors.js';
import type { ArgumentTypes, Dialect, RunResult, SqlDb, SqlStatement } from '../db.js';
import type { PgCommand, PgErrorInfo, PgEvent, PgReply, PgRequest, PgWorkerInit } from './protocol.js';
import { pgWorkerMain } from './pg-worker.js';
import { redactUrl, scrubPassword, urlPassword } from './redact.js';
import { type TranslatedSql, bindParams, translateSql } from './translate.js';

const require = createRequire(import.meta.url);

/** Options of PgDb. */
export interface PgDbOptions {
  /** Deadline of one statement (default 5 s): past it the call fails with STORE_UNAVAILABLE. */
  deadlineMs?: number;
  /** How long the first connection may take before the open fails (default 10 s). */
  connectTimeoutMs?: number;
  /** Reconnect backoff: the first wait, doubled up to the second (default 250 ms, 5 s). */
  backoffMinMs?: number;
  backoffMaxMs?: number;
  /** Connection state changes (reachable again, lost): the message never holds the password. */
  onStatus?: (ok: boolean, error?: string) => void;
}

/** The store's reachability, for /healthz. */
export interface StoreHealth {
  ok: boolean;
  /** The latest connection failure (no password), while not ok. */
  error?: string;
  /** Epoch ms since when it is not ok. */
  since?: number;
}

/** A statement error from PostgreSQL: `code` is the SQLSTATE (23505 unique violation, …), as pg gives it. */
export class PgQueryError extends Error {
  readonly code: string | undefined;
  readonly constraint: string | undefined;
  readonly detail: string | undefined;
  readonly table: string | undefined;
  readonly column: string | undefined;
  constructor(info: PgErrorInfo) {
    super(info.message);
    this.name = 'PgQueryError';
    this.code = info.code;
    this.constraint = info.constraint;
    this.detail = info.detail;
    this.table = info.table;
    this.column = info.column;
  }
}

/** Time the calling thread waits past a deadline for the worker's own deadline answer. */
const GRACE_MS = 500;

/**
 * A synchronous PostgreSQL connection with better-sqlite3's shape (SqlDb), so the repositories run
 * unchanged on either store. A worker thread holds the pg connections; each call posts its
 * statement over a MessagePort and blocks this thread with Atomics.wait until the worker bumps a
 * shared counter, then takes the reply with receiveMessageOnPort.
 *
 * The trade-off, plainly: while a statement runs, this thread (the event loop) waits for the
 * network round trip and PostgreSQL, as it waits for the disk with SQLite; a slow or unreachable
 * server stalls everything up to the deadline (deadlineMs). The DHCP and boot hot paths read from
 * memory and write in batches, so most packets never wait. Async repositories are the way out.
 *
 * Outage: a call fails with AppError STORE_UNAVAILABLE (HTTP 503) when there is no connection
 * (at once; the worker reconnects in the background with backoff), when the deadline passes
 * (the connection is then dropped and made again), or when the connection was lost since its
 * transaction began (the transaction fails as a whole: PostgreSQL rolled it back). A reply that
 * arrives after its call gave up is discarded by id. Inside a transaction a failed statement
 * aborts the transaction (PostgreSQL's rule, unlike SQLite): use a nested transaction (a
 * savepoint) around a statement whose failure is handled.
 */
export class PgDb implements SqlDb {
  readonly dialect: Dialect = 'postgres';
  /** The URL without its password. */
  readonly name: string;
  private readonly url: string;
  private readonly worker: Worker;
  private readonly port: MessagePort;
  private readonly signal: Int32Array;
  private readonly deadlineMs: number;
  private nextId = 1;
  private depth = 0;
  /** The connection generation the open transaction began on. */
  private txGen: number | undefined;
  private isOpen = true;
  /** Why the worker is gone, once it is. */
  private workerGone: string | undefined;
  private state: StoreHealth = { ok: true };
  private onStatus: PgDbOptions['onStatus'];
  private readonly listeners = new Map<string, Set<(payload: string) => void>>();
  private readonly resyncs = new Set<() => void>();

  /** Connects (waiting up to connectTimeoutMs); throws STORE_UNAVAILABLE when it cannot. */
  constructor(url: string, opts: PgDbOptions = {}) {
    this.url = url;
    this.name = redactUrl(url);
    this.deadlineMs = opts.deadlineMs ?? 5000;
    const shared = new SharedArrayBuffer(4);
    this.signal = new Int32Array(shared);
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    const init: PgWorkerInit = {
      pgPath: require.resolve('pg'),
      url,
      secret: urlPassword(url),
      signal: shared,
      port: port2,
      connectTimeoutMs: opts.connectTimeoutMs ?? 10_000,
      backoffMinMs: opts.backoffMinMs ?? 250,
      backoffMaxMs: opts.backoffMaxMs ?? 5000,
      applicationName: 'rackboot',
    };
    // An eval worker in plain CommonJS runs the same from src (tsx) and dist; __name is esbuild's keepNames helper.
    const source = `'use strict';\nvar __name = (f) => f;\nconst wt = require('node:worker_threads');\n(${pgWorkerMain.toString()})(wt.workerData, wt.parentPort, require);\n`;
    this.worker = new Worker(source, { eval: true, execArgv: [], workerData: init, transferList: [port2] });
    this.worker.unref();
    this.worker.on('message', (m: PgEvent) => this.event(m));
    // A worker that died answers nothing: later calls fail at once instead of waiting out their deadline.
    this.worker.on('error', (err) => {
      this.workerGone = `the store worker failed: ${this.scrub(err.message)}`;
      this.setHealth(false, this.workerGone);
    });
    this.worker.on('exit', () => {
      this.workerGone ??= 'the store worker exited';
      if (this.isOpen) this.setHealth(false, this.workerGone);
    });
    const connectMs = (opts.connectTimeoutMs ?? 10_000) + 1000;
    try {
      this.call({ op: 'connect' }, connectMs);
    } catch (e) {
      this.close();
      throw e;
    }
    // Only once open: the owner's callback may name the store it is being assigned to.
    this.onStatus = opts.onStatus;
  }

  get open(): boolean {
    return this.isOpen;
  }

  get inTransaction(): boolean {
    return this.depth > 0;
  }

  prepare(sql: string): SqlStatement {
    this.assertOpen();
    return new PgStatement(this, translateSql(sql));
  }

  /** Runs statements without parameters (several, separated by semicolons). */
  exec(sql: string): this {
    const { text, params } = translateSql(sql);
    if (params.length > 0) throw new RangeError('exec() takes no parameters');
    this.execRaw(text);
    return this;
  }

  /** Runs PostgreSQL text as it is (migrations), with its own deadline. */
  execRaw(text: string, deadlineMs = this.deadlineMs): void {
    this.call({ op: 'exec', text, ...this.txField() }, deadlineMs);
  }

  /** One statement in PostgreSQL text ($1…) with its values; rows as objects or arrays. */
  query(text: string, values: unknown[], opts: { array?: boolean; deadlineMs?: number } = {}): { rows: unknown[]; rowCount: number } {
    const r = this.call({ op: 'query', text, values, array: opts.array === true, ...this.txField() }, opts.deadlineMs ?? this.deadlineMs);
    return { rows: r.rows, rowCount: r.rowCount };
  }

  // biome-ignore lint/suspicious/noExplicitAny: the same constraint as SqlDb.transaction (better-sqlite3's).
  transaction<F extends (...args: any[]) => unknown>(fn: F): (...params: ArgumentTypes<F>) => ReturnType<F> {
    return (...params) => {
      this.assertOpen();
      const outer = this.depth === 0;
      const savepoint = `rb_sp_${this.depth}`;
      if (outer) this.txGen = this.call({ op: 'exec', text: 'BEGIN' }, this.deadlineMs).gen;
      else this.execRaw(`SAVEPOINT ${savepoint}`);
      this.depth++;
      let result: ReturnType<F>;
      try {
        result = fn(...params) as ReturnType<F>;
        if (result instanceof Promise) throw new TypeError('Transaction function cannot return a promise');
      } catch (e) {
        this.depth--;
        this.undo(outer, savepoint);
        throw e;
      }
      this.depth--;
      try {
        this.execRaw(outer ? 'COMMIT' : `RELEASE SAVEPOINT ${savepoint}`);
      } catch (e) {
        // A failed COMMIT has ended the transaction (PostgreSQL rolls it back); a failed RELEASE leaves it to the outer one.
        this.undo(outer, savepoint);
        throw e;
      }
      if (outer) this.txGen = undefined;
      return result;
    };
  }

  /**
   * Calls `onNotify` with each NOTIFY payload on `channel` (on the event loop, from the worker's
   * own LISTEN connection). `onResync` runs after that connection was lost and made again:
   * notifications in between are lost, so whatever they keep current must be read again.
   * Returns the function that stops listening.
   */
  listen(channel: string, onNotify: (payload: string) => void, onResync?: () => void): () => void {
    let set = this.listeners.get(channel);
    if (!set) {
      set = new Set();
      this.listeners.set(channel, set);
      this.command({ type: 'listen', channel });
    }
    set.add(onNotify);
    if (onResync) this.resyncs.add(onResync);
    return () => {
      set.delete(onNotify);
      if (onResync) this.resyncs.delete(onResync);
      if (set.size === 0 && this.listeners.get(channel) === set) {
        this.listeners.delete(channel);
        this.command({ type: 'unlisten', channel });
      }
    };
  }

  /** Reachable (ok) or not, with the latest error; updated by calls and by the worker's reconnects. */
  health(): StoreHealth {
    return { ...this.state };
  }

  close(): this {
    if (!this.isOpen) return this;
    try {
      this.call({ op: 'close' }, 2000);
    } catch {
      // Closing anyway.
    }
    this.isOpen = false;
    this.port.close();
    void this.worker.terminate();
    return this;
  }

  private undo(outer: boolean, savepoint: string): void {
    try {
      if (outer) this.execRaw('ROLLBACK');
      else this.execRaw(`ROLLBACK TO SAVEPOINT ${savepoint}; RELEASE SAVEPOINT ${savepoint}`);
    } catch {
      // The connection is gone (its transaction with it) or the transaction already ended.
    } finally {
      if (outer) this.txGen = undefined;
    }
  }

  private txField(): { gen?: number } {
    return this.txGen === undefined ? {} : { gen: this.txGen };
  }

  private assertOpen(): void {
    if (!this.isOpen) throw new TypeError('The database connection is not open');
  }

  private command(c: PgCommand): void {
    if (this.isOpen) this.worker.postMessage(c);
  }

  /** Posts one request and blocks until its reply or the deadline. */
  private call(req: DistributiveOmit<PgRequest, 'id' | 'deadline'>, deadlineMs: number): Extract<PgReply, { ok: true }> {
    if (!this.isOpen && req.op !== 'close') throw new TypeError('The database connection is not open');
    if (this.workerGone && req.op !== 'close') throw new AppError('STORE_UNAVAILABLE', `PostgreSQL store (${this.name}): ${this.workerGone}`);
    if (this.workerGone) return { id: 0, ok: true, rows: [], rowCount: 0, gen: 0, bytea: [] };
    const id = this.nextId++;
    const deadline = Date.now() + deadlineMs;
    this.port.postMessage({ ...req, id, deadline } as PgRequest);
    const giveUp = deadline + GRACE_MS;
    for (;;) {
      const seen = Atomics.load(this.signal, 0);
      const m = receiveMessageOnPort(this.port);
      if (m) {
        const reply = m.message as PgReply;
        if (reply.id !== id) continue; // a reply to a call that gave up
        return this.settle(reply);
      }
      const left = giveUp - Date.now();
      if (left <= 0) {
        this.setHealth(false, `no answer from the store worker within ${deadlineMs} ms`);
        throw new AppError('STORE_UNAVAILABLE', `PostgreSQL store (${this.name}) did not answer within ${deadlineMs} ms`);
      }
      Atomics.wait(this.signal, 0, seen, left);
    }
  }

  private settle(reply: PgReply): Extract<PgReply, { ok: true }> {
    if (reply.ok) {
      if (!this.state.ok) this.setHealth(true);
      for (const key of reply.bytea) for (const row of reply.rows) toBuffer(row as Record<string | number, unknown>, key);
      return reply;
    }
    const message = this.scrub(reply.error.message);
    if (reply.unavailable) {
      this.setHealth(false, message);
      throw new AppError('STORE_UNAVAILABLE', `PostgreSQL store (${this.name}): ${message}`, { details: { store: this.name } });
    }
    throw new PgQueryError({ ...reply.error, message });
  }

  private event(m: PgEvent): void {
    if (m.type === 'status') {
      this.setHealth(m.ok, m.error === undefined ? undefined : this.scrub(m.error));
    } else if (m.type === 'notify') {
      for (const f of this.listeners.get(m.channel) ?? []) f(m.payload);
    } else {
      for (const f of this.resyncs) f();
    }
  }

  /**
   * The one place health changes, so the owner hears every change once, whoever saw it first: a
   * failed or timed-out call, a dead worker, or the worker's own connection status.
   */
  private setHealth(ok: boolean, error?: string): void {
    if (ok !== this.state.ok) this.onStatus?.(ok, ok ? undefined : (error ?? 'unreachable'));
    if (ok) this.state = { ok: true };
    else this.state = { ok: false, error: error ?? this.state.error ?? 'unreachable', since: this.state.ok ? Date.now() : (this.state.since ?? Date.now()) };
  }

  private scrub(text: string): string {
    return scrubPassword(text, this.url);
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** Structured cloning turns a Buffer into a plain Uint8Array: bytea values become Buffers again. */
function toBuffer(row: Record<string | number, unknown>, key: string | number): void {
  const v = row[key];
  if (v instanceof Uint8Array && !Buffer.isBuffer(v)) row[key] = Buffer.from(v.buffer, v.byteOffset, v.byteLength);
}

/** A statement of a PgDb: translated once, bound and run at each call. */
class PgStatement implements SqlStatement {
  private mode: 'rows' | 'pluck' | 'raw' = 'rows';

  constructor(
    private readonly db: PgDb,
    private readonly sql: TranslatedSql,
  ) {}

  run(...params: unknown[]): RunResult {
    return { changes: this.exec(params).rowCount };
  }

  get(...params: unknown[]): unknown {
    return this.shape(this.exec(params).rows)[0];
  }

  all(...params: unknown[]): unknown[] {
    return this.shape(this.exec(params).rows);
  }

  pluck(toggle = true): this {
    this.mode = toggle ? 'pluck' : this.mode === 'pluck' ? 'rows' : this.mode;
    return this;
  }

  raw(toggle = true): this {
    this.mode = toggle ? 'raw' : this.mode === 'raw' ? 'rows' : this.mode;
    return this;
  }

  private exec(params: unknown[]): { rows: unknown[]; rowCount: number } {
    return this.db.query(this.sql.text, bindParams(this.sql.params, params), { array: this.mode !== 'rows' });
  }

  private shape(rows: unknown[]): unknown[] {
    return this.mode === 'pluck' ? rows.map((r) => (r as unknown[])[0]) : rows;
  }
}
