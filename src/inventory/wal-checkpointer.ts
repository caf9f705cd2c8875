import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { type Db, sqliteOf } from './db.js';

const require = createRequire(import.meta.url);

/** Options of startWalCheckpointer. */
export interface WalCheckpointerOptions {
  /** Pause between two background checkpoints. */
  intervalMs?: number;
  /**
   * The main connection's own automatic checkpoint, kept as a backstop: a PASSIVE checkpoint
   * racing a busy writer never catches up with the WAL's end, and only a fully checkpointed
   * WAL is rewound, so under sustained writes this bounds the WAL (in pages).
   */
  backstopPages?: number;
  /** Called when the background thread fails (the main connection checkpoints again). */
  onError?: (err: Error) => void;
  /** Called when checkpoints start failing (e.g. SQLITE_FULL); the thread goes on trying. */
  onCheckpointError?: (err: { code?: string; message: string }) => void;
}

/** A running background checkpointer. */
export interface WalCheckpointer {
  /** Stops the thread and gives checkpointing back to the main connection. */
  stop(): Promise<void>;
}

/** SQLite's default wal_autocheckpoint (pages). */
const DEFAULT_AUTOCHECKPOINT = 1000;

// Plain CommonJS for an eval worker: it runs under node alone (no tsx), from src and from dist.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.path, { fileMustExist: true });
// The checkpoint's fsyncs follow this connection's setting: the same as the main one (db.ts).
db.pragma('synchronous = NORMAL');
db.pragma('wal_autocheckpoint = 0');
let timer;
let failing = false;
const tick = () => {
  // A full disk fails checkpoints (the database file cannot grow) until space is freed: keep
  // trying, and tell the main thread when that starts, not at every tick.
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
    failing = false;
  } catch (err) {
    if (!failing) parentPort.postMessage({ code: err.code, message: err.message });
    failing = true;
  }
  timer = setTimeout(tick, workerData.intervalMs);
};
parentPort.on('message', () => {
  clearTimeout(timer);
  db.close();
  parentPort.close();
});
tick();
`;

/**
 * Runs WAL checkpoints in a worker thread on its own connection. A checkpoint copies the WAL
 * into the database file and fsyncs both; done by the committing connection (SQLite's default)
 * that wait stalls the event loop, and with it every DHCP reply queued behind the commit.
 * WAL readers and writers do not block a PASSIVE checkpoint, nor it them, so the main thread
 * only appends to the WAL. Returns undefined for in-memory databases, and for PostgreSQL, whose
 * own checkpointer process does this.
 */
export function startWalCheckpointer(store: Db, opts: WalCheckpointerOptions = {}): WalCheckpointer | undefined {
  const db = sqliteOf(store);
  if (!db || db.memory || String(db.pragma('journal_mode', { simple: true })) !== 'wal') return undefined;
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    execArgv: [],
    workerData: { driver: require.resolve('better-sqlite3'), path: db.name, intervalMs: opts.intervalMs ?? 100 },
  });
  worker.unref();
  db.pragma(`wal_autocheckpoint = ${opts.backstopPages ?? 65_536}`);
  const restore = () => {
    if (db.open) db.pragma(`wal_autocheckpoint = ${DEFAULT_AUTOCHECKPOINT}`);
  };
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  worker.on('message', (err: { code?: string; message: string }) => opts.onCheckpointError?.(err));
  worker.on('error', (err) => {
    restore();
    opts.onError?.(err);
  });
  return {
    stop: async () => {
      worker.postMessage('stop');
      await exited;
      restore();
    },
  };
}
