import type { Logger } from '../log.js';

/**
 * True when an error says the shared store (PostgreSQL) cannot be reached right now, as
 * opposed to a write the database refused: the PostgreSQL facade's "store unavailable" code.
 */
export function isStoreUnavailable(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === 'STORE_UNAVAILABLE';
}

/** Timer functions the outage probe uses (injected so tests drive it). */
export interface OutageTimers {
  now: () => number;
  later: (fn: () => void, ms: number) => { unref?: () => void };
}

const realTimers: OutageTimers = { now: () => Date.now(), later: (fn, ms) => setTimeout(fn, ms) };

/** What StoreOutage needs: a probe that throws while the store is unreachable, what to do after. */
export interface StoreOutageDeps {
  log: Logger;
  /** One round trip to the store; throws while it cannot be reached. */
  probe: () => void;
  /** Runs once the store answers again (the DHCP server reloads what it missed). */
  recovered: () => void;
  timers?: OutageTimers;
  /** First retry delay; doubled each failed probe up to maxRetryMs. */
  firstRetryMs?: number;
  maxRetryMs?: number;
}

/**
 * The DHCP server's view of a store outage (issue #20). A commit failing with "store
 * unavailable" starts one: one error line, then probes with backoff (0.5 s doubling to 5 s,
 * no log line per probe or per packet); the first probe that succeeds ends it with one info
 * line saying how long it lasted and how many requests went unanswered meanwhile.
 */
export class StoreOutage {
  private since: number | undefined;
  private unanswered = 0;
  private retryMs: number;
  private readonly timers: OutageTimers;
  private closed = false;

  constructor(private readonly d: StoreOutageDeps) {
    this.timers = d.timers ?? realTimers;
    this.retryMs = d.firstRetryMs ?? 500;
  }

  /** True while the store is known to be unreachable. */
  get down(): boolean {
    return this.since !== undefined;
  }

  /** A write or commit failed: starts an outage if the error says the store is unreachable. */
  failed(err: unknown): void {
    if (this.since !== undefined || this.closed || !isStoreUnavailable(err)) return;
    this.since = this.timers.now();
    this.unanswered = 0;
    this.retryMs = this.d.firstRetryMs ?? 500;
    this.d.log.error(
      { err },
      'store unreachable: renewals of stored leases are answered from memory for the time they have left, new addresses are not offered or ACKed until it is back',
    );
    this.schedule();
  }

  /** A request left unanswered because of the outage (counted for the recovery line). */
  noteUnanswered(): void {
    this.unanswered++;
  }

  /** Stops probing. */
  close(): void {
    this.closed = true;
  }

  private schedule(): void {
    const t = this.timers.later(() => this.probe(), this.retryMs);
    t.unref?.();
    this.retryMs = Math.min(this.retryMs * 2, this.d.maxRetryMs ?? 5000);
  }

  private probe(): void {
    if (this.closed || this.since === undefined) return;
    try {
      this.d.probe();
    } catch {
      this.schedule();
      return;
    }
    const downMs = this.timers.now() - this.since;
    this.since = undefined;
    this.d.log.info({ downMs, unanswered: this.unanswered }, 'store reachable again: DHCP grants new addresses again');
    try {
      this.d.recovered();
    } catch (err) {
      // The store went away again while reloading: a new outage (a plain failure is only logged).
      if (isStoreUnavailable(err)) this.failed(err);
      else this.d.log.error({ err }, 'dhcp reload after the store outage failed');
    }
  }
}
