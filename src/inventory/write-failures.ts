import { dirname } from 'node:path';
import type { Logger } from '../log.js';

/**
 * Where a write failed for lack of space: 'local' when SQLite could not write (SQLITE_FULL, which
 * SQLite reports for ENOSPC on the database, WAL or journal, or a raw ENOSPC), 'postgres' when the
 * PostgreSQL server's disk is full (SQLSTATE 53100 disk_full); undefined for any other failure.
 */
export function diskFullAt(err: unknown): 'local' | 'postgres' | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return undefined;
  if (code.startsWith('SQLITE_FULL') || code === 'ENOSPC') return 'local';
  if (code === '53100') return 'postgres';
  return undefined;
}

/** True when a write failed for lack of space, here or on the PostgreSQL server. */
export function isDiskFull(err: unknown): boolean {
  return diskFullAt(err) !== undefined;
}

/** Where a write path reports its failures and successes (TurnBatcher, EventRepo callers). */
export interface WriteFailureSink {
  /** A write or commit failed; `lost` rows or replies went with it. */
  failed(err: unknown, lost: number): void;
  /** A write succeeded (ends a failure episode). */
  succeeded(): void;
}

/**
 * Logs the failures of one write path at error level at most once per `intervalMs`, with how
 * many failed and what was lost since the previous line, so a full disk under a DHCP flood is
 * one clear line every few seconds (naming SQLITE_FULL and the data dir), not one per packet.
 * The first success after failures is logged at info (throttled alike).
 */
export class WriteFailureLog implements WriteFailureSink {
  private failures = 0;
  private lost = 0;
  private failing = false;
  private lastError = Number.NEGATIVE_INFINITY;
  private lastRecovery = Number.NEGATIVE_INFINITY;
  /** Failures since start (for stats). */
  total = 0;
  private readonly intervalMs: number;
  private readonly now: () => number;

  constructor(
    private readonly o: {
      log: Logger;
      /** What is not written, e.g. 'dhcp leases'. */
      what: string;
      /** What that means for clients, e.g. 'their ACKs are withheld'. */
      consequence: string;
      /** The database file (its directory is the data dir the operator must free). */
      dbFile: string;
      intervalMs?: number;
      now?: () => number;
    },
  ) {
    this.intervalMs = o.intervalMs ?? 10_000;
    this.now = o.now ?? Date.now;
  }

  failed(err: unknown, lost: number): void {
    this.total++;
    this.failures++;
    this.lost += lost;
    this.failing = true;
    const t = this.now();
    if (t - this.lastError < this.intervalMs) return;
    this.lastError = t;
    const fields = { failures: this.failures, lost: this.lost, intervalMs: this.intervalMs };
    this.failures = 0;
    this.lost = 0;
    const { log, what, consequence } = this.o;
    const full = diskFullAt(err);
    if (full === 'postgres') {
      log.error({ ...fields, code: '53100', store: this.o.dbFile }, `disk full on the PostgreSQL server: ${what} cannot be written (SQLSTATE 53100 disk_full), ${consequence}; free space on the database server`);
    } else if (full === 'local') {
      const dataDir = dirname(this.o.dbFile);
      log.error({ ...fields, code: 'SQLITE_FULL', dataDir }, `disk full: ${what} cannot be written to the data dir ${dataDir} (SQLITE_FULL), ${consequence}; free space there`);
    } else {
      log.error({ ...fields, err }, `${what} cannot be written, ${consequence}`);
    }
  }

  /** Ends a failure episode; a disk at its limit can flap, so this line is throttled too. */
  succeeded(): void {
    if (!this.failing) return;
    this.failing = false;
    const t = this.now();
    if (t - this.lastRecovery < this.intervalMs) return;
    this.lastRecovery = t;
    this.o.log.info({ unreportedFailures: this.failures, lost: this.lost }, `${this.o.what} written again`);
  }
}
