import type { MessagePort } from 'node:worker_threads';
import type { PgCommand, PgErrorInfo, PgEvent, PgReply, PgRequest, PgWorkerInit } from './protocol.js';

/** The part of a pg result the worker reads. */
interface PgResult {
  rows: unknown[];
  rowCount: number | null;
  /** The command tag's verb: 'ROLLBACK' for a COMMIT of a transaction a failed statement aborted. */
  command?: string;
  fields?: Array<{ name: string; dataTypeID: number }>;
}

/** The part of a pg.Client the worker uses (pg is loaded with require inside the worker). */
interface PgClient {
  connect(): Promise<void>;
  end(): Promise<void>;
  query(q: string | Record<string, unknown>): Promise<PgResult | PgResult[]>;
  on(event: string, listener: (arg: never) => void): void;
  connection?: { stream?: { destroy(): void } };
}

/** The part of the pg module the worker uses. */
interface PgModule {
  Client: new (config: Record<string, unknown>) => PgClient;
  types: { getTypeParser(oid: number, format?: string): unknown };
}

/**
 * The body of PgDb's worker thread. It is serialized with Function.prototype.toString and run as
 * an eval worker (plain CommonJS, from src under tsx and from dist alike), so it must use nothing
 * from its module: only its parameters, and pg through `req`.
 *
 * Two connections: one runs the calling thread's statements one at a time, in arrival order;
 * one holds the LISTENs. Both reconnect after a loss with backoff (backoffMinMs doubling to
 * backoffMaxMs). Each statement has a deadline: a call that cannot start (no connection) fails
 * at once, one that outlives its deadline drops the connection (its state is unknown). Every new
 * statement connection has a new generation number; a call inside a transaction names the
 * generation it began on and fails if that connection is gone, so a transaction never continues
 * on a new connection.
 */
export function pgWorkerMain(init: PgWorkerInit, parentPort: MessagePort, req: (id: string) => unknown): void {
  const pg = req(init.pgPath) as PgModule;
  const signal = new Int32Array(init.signal);
  const port = init.port;
  // Results as better-sqlite3 gives them: int8/numeric as numbers, booleans as 1/0, JSON and
  // times as their text; bytea stays pg's Buffer. On this client's own types object, not pg's global one.
  const asNumber = (v: string) => Number(v);
  const asText = (v: string) => v;
  const own: Record<number, (v: string) => unknown> = {
    16: (v: string) => (v === 't' ? 1 : 0),
    20: asNumber,
    1700: asNumber,
    114: asText,
    3802: asText,
    1082: asText,
    1114: asText,
    1184: asText,
  };
  const types = {
    getTypeParser: (oid: number, format?: string) => ((format ?? 'text') === 'text' && own[oid]) || pg.types.getTypeParser(oid, format),
  };
  const scrub = (s: string) => (init.secret ? s.split(init.secret).join('***') : s);
  const clientConfig = (role: string) => ({
    connectionString: init.url,
    types,
    connectionTimeoutMillis: init.connectTimeoutMs,
    keepAlive: true,
    application_name: `${init.applicationName}-${role}`,
  });

  let closed = false;
  let client: PgClient | null = null;
  let gen = 0;
  let connecting: Promise<void> | null = null;
  let retry: ReturnType<typeof setTimeout> | null = null;
  let backoff = init.backoffMinMs;
  let lastError = 'not connected yet';
  const statementNames = new Map<string, string>();
  const uses = new Map<string, number>();

  const status = (ok: boolean, error?: string) => parentPort.postMessage({ type: 'status', ok, ...(error ? { error } : {}) } satisfies PgEvent);
  const scheduleRetry = () => {
    if (retry || closed) return;
    retry = setTimeout(() => {
      retry = null;
      void connect();
    }, backoff);
    backoff = Math.min(backoff * 2, init.backoffMaxMs);
  };
  /** `again`: reconnect at once (the server was fine, the connection's state was not), else after the backoff. */
  const lost = (c: PgClient, e: Error, again = false) => {
    if (client !== c) return;
    client = null;
    lastError = `connection lost: ${scrub(e.message)}`;
    c.end().catch(() => {});
    if (again) {
      void connect();
      return;
    }
    status(false, lastError);
    scheduleRetry();
  };
  const connect = (): Promise<void> => {
    if (connecting || client || closed) return connecting ?? Promise.resolve();
    const c = new pg.Client(clientConfig('query'));
    c.on('error', (e: Error) => lost(c, e));
    c.on('end', () => lost(c, new Error('the server closed the connection')));
    connecting = c
      .connect()
      .then(() => {
        if (closed) return void c.end().catch(() => {});
        client = c;
        gen++;
        backoff = init.backoffMinMs;
        status(true);
      })
      .catch((e: Error) => {
        lastError = scrub(e.message);
        status(false, lastError);
        c.end().catch(() => {});
        scheduleRetry();
      })
      .finally(() => {
        connecting = null;
      });
    return connecting;
  };

  const fail = (id: number, unavailable: boolean, error: PgErrorInfo): PgReply => ({ id, ok: false, unavailable, error: { ...error, message: scrub(error.message) } });
  const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, Math.max(0, ms)));

  /** Waits for a connection until the deadline (the first connect, and calls while one is being made). */
  const connected = async (deadline: number, keepTrying: boolean): Promise<PgClient | null> => {
    for (;;) {
      if (client) return client;
      if (!connecting && !retry) void connect();
      else if (!connecting && !keepTrying) return null;
      const left = deadline - Date.now();
      if (left <= 0) return null;
      await Promise.race([connecting ?? sleep(Math.min(left, 50)), sleep(left)]);
    }
  };

  const run = async (r: PgRequest): Promise<PgReply | null> => {
    if (r.op === 'close') {
      closed = true;
      if (retry) clearTimeout(retry);
      const c = client;
      client = null;
      await Promise.allSettled([c?.end(), listener?.end()]);
      return { id: r.id, ok: true, rows: [], rowCount: 0, gen, bytea: [] };
    }
    // The caller has given up on this one already.
    if (Date.now() >= r.deadline) return null;
    // A statement of a transaction runs on the connection the transaction began on or not at
    // all: once that connection is gone, waiting for a new one (a reconnect under way) is no use.
    const txLost = () => r.op !== 'connect' && r.gen !== undefined && (client === null || r.gen !== gen);
    const lostTx = () => fail(r.id, true, { message: 'the PostgreSQL connection was lost during the transaction: it was rolled back' });
    if (txLost()) return lostTx();
    const c = await connected(r.deadline, r.op === 'connect');
    if (!c) return fail(r.id, true, { message: `PostgreSQL unreachable: ${lastError}` });
    if (r.op === 'connect') return { id: r.id, ok: true, rows: [], rowCount: 0, gen, bytea: [] };
    if (txLost()) return lostTx();
    const array = r.op === 'query' && r.array;
    let query: Promise<PgResult | PgResult[]>;
    if (r.op === 'exec') query = c.query(r.text);
    else {
      // Statements used more than once are prepared once per connection (pg keeps the names).
      const n = (uses.get(r.text) ?? 0) + 1;
      if (n <= 2) uses.set(r.text, n);
      let name = statementNames.get(r.text);
      if (!name && n >= 2 && statementNames.size < 2000) statementNames.set(r.text, (name = `rb_${statementNames.size + 1}`));
      query = c.query({ text: r.text, values: r.values, ...(array ? { rowMode: 'array' } : {}), ...(name ? { name } : {}) });
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), r.deadline - Date.now());
    });
    try {
      const res = await Promise.race([query, late]);
      if (res === 'late') {
        query.catch(() => {});
        // Its state is unknown (a statement still running, a half-read reply): start over.
        lost(c, new Error('no answer before the deadline'), true);
        c.connection?.stream?.destroy();
        return fail(r.id, true, { message: 'PostgreSQL did not answer before the deadline' });
      }
      const last = Array.isArray(res) ? res.at(-1) : res;
      // PostgreSQL answers the COMMIT of an aborted transaction (a failed statement whose error
      // the caller caught) with ROLLBACK and no error: nothing was written, so the call fails.
      if (r.op === 'exec' && /^\s*COMMIT\s*;?\s*$/i.test(r.text) && last?.command === 'ROLLBACK') {
        return fail(r.id, false, { message: 'the transaction was rolled back at COMMIT: a statement in it had failed', code: '25P02' });
      }
      const fields = last?.fields ?? [];
      const bytea: Array<string | number> = [];
      fields.forEach((f, i) => {
        if (f.dataTypeID === 17) bytea.push(array ? i : f.name);
      });
      return { id: r.id, ok: true, rows: r.op === 'exec' ? [] : (last?.rows ?? []), rowCount: last?.rowCount ?? 0, gen, bytea };
    } catch (err) {
      const e = err as Error & Partial<PgErrorInfo>;
      const sqlState = typeof e.code === 'string' && /^[0-9A-Z]{5}$/.test(e.code) ? e.code : undefined;
      if (!sqlState && !(e instanceof TypeError) && !(e instanceof RangeError)) {
        lost(c, e);
        return fail(r.id, true, { message: `PostgreSQL connection failed: ${e.message}` });
      }
      // Class 08 (connection exception) and 57P01-03 (the server shutting down or starting).
      const down = sqlState !== undefined && (sqlState.startsWith('08') || /^57P0[123]$/.test(sqlState));
      if (down) lost(c, e);
      return fail(r.id, down, { message: e.message, code: sqlState, constraint: e.constraint, detail: e.detail, table: e.table, column: e.column });
    } finally {
      clearTimeout(timer);
    }
  };

  const queue: PgRequest[] = [];
  let busy = false;
  const drain = async () => {
    busy = true;
    while (queue.length > 0) {
      const r = queue.shift()!;
      let reply: PgReply | null;
      try {
        reply = await run(r);
      } catch (e) {
        reply = fail(r.id, false, { message: (e as Error).message });
      }
      if (!reply) continue;
      port.postMessage(reply);
      Atomics.add(signal, 0, 1);
      Atomics.notify(signal, 0);
    }
    busy = false;
  };
  port.on('message', (r: PgRequest) => {
    queue.push(r);
    if (!busy) void drain();
  });

  // LISTEN connection: its own client, every channel again after a reconnect.
  const channels = new Set<string>();
  let listener: PgClient | null = null;
  let listenRetry: ReturnType<typeof setTimeout> | null = null;
  let listenBackoff = init.backoffMinMs;
  const quote = (ch: string) => `"${ch.replaceAll('"', '""')}"`;
  const listenLost = (c: PgClient | null) => {
    if (!c || listener !== c) return;
    listener = null;
    c.end().catch(() => {});
    listenSoon();
  };
  const listenSoon = () => {
    if (listenRetry || closed || channels.size === 0) return;
    listenRetry = setTimeout(() => {
      listenRetry = null;
      void startListener(true);
    }, listenBackoff);
    listenBackoff = Math.min(listenBackoff * 2, init.backoffMaxMs);
  };
  const startListener = async (again: boolean) => {
    if (listener || closed) return;
    const c = new pg.Client(clientConfig('listen'));
    listener = c;
    c.on('error', () => listenLost(c));
    c.on('end', () => listenLost(c));
    c.on('notification', (n: { channel: string; payload?: string }) =>
      parentPort.postMessage({ type: 'notify', channel: n.channel, payload: n.payload ?? '' } satisfies PgEvent),
    );
    try {
      await c.connect();
      for (const ch of channels) await c.query(`LISTEN ${quote(ch)}`);
      listenBackoff = init.backoffMinMs;
      if (again) parentPort.postMessage({ type: 'resync' } satisfies PgEvent);
    } catch {
      listenLost(c);
    }
  };
  parentPort.on('message', (m: PgCommand) => {
    if (m.type === 'listen' && !channels.has(m.channel)) {
      channels.add(m.channel);
      if (listener) {
        const c = listener;
        c.query(`LISTEN ${quote(m.channel)}`).catch(() => listenLost(c));
      }
      else if (!listenRetry) void startListener(false);
    } else if (m.type === 'unlisten' && channels.delete(m.channel) && listener) {
      listener.query(`UNLISTEN ${quote(m.channel)}`).catch(() => {});
    }
  });
}
