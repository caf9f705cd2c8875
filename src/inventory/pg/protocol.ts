import type { MessagePort } from 'node:worker_threads';

/** Messages between PgDb (the calling thread) and its worker (pg-worker.ts). */

/** What the worker gets at start (workerData). */
export interface PgWorkerInit {
  /** require.resolve('pg') of the calling thread. */
  pgPath: string;
  url: string;
  /** Scrubbed from every error message the worker sends (the URL's password). */
  secret: string;
  /** Int32 counter the worker bumps (and notifies) after each reply it posts on `port`. */
  signal: SharedArrayBuffer;
  /** The reply port (the calling thread reads it with receiveMessageOnPort). */
  port: MessagePort;
  connectTimeoutMs: number;
  backoffMinMs: number;
  backoffMaxMs: number;
  applicationName: string;
}

/** A synchronous call (calling thread → worker, on the reply port). */
export type PgRequest =
  | { id: number; op: 'query'; text: string; values: unknown[]; array: boolean; deadline: number; gen?: number }
  | { id: number; op: 'exec'; text: string; deadline: number; gen?: number }
  | { id: number; op: 'connect'; deadline: number }
  | { id: number; op: 'close'; deadline: number };

/** A database error as the calling thread rethrows it (SQLSTATE in `code`, like pg's DatabaseError). */
export interface PgErrorInfo {
  message: string;
  code?: string;
  constraint?: string;
  detail?: string;
  table?: string;
  column?: string;
}

/** The answer to one call. `unavailable`: the store could not be reached (or the connection was lost). */
export type PgReply =
  | { id: number; ok: true; rows: unknown[]; rowCount: number; gen: number; bytea: Array<string | number> }
  | { id: number; ok: false; unavailable: boolean; error: PgErrorInfo };

/** Worker → calling thread, on the event loop (parentPort). */
export type PgEvent =
  | { type: 'status'; ok: boolean; error?: string }
  | { type: 'notify'; channel: string; payload: string }
  /** The LISTEN connection was re-established: notifications in between may be lost. */
  | { type: 'resync' };

/** Calling thread → worker, on the event loop (parentPort). */
export type PgCommand = { type: 'listen'; channel: string } | { type: 'unlisten'; channel: string };
