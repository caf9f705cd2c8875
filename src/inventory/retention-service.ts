import type { Logger } from '../log.js';
import type { Service } from '../service.js';
import type { PruneCounts, RetentionRepo, RetentionSettings } from './retention.js';
import type { Store } from './store.js';

/** Whether this appliance runs retention now (the `retention` lease; src/coordination/leader.ts). */
export interface RetentionLeader {
  held(): boolean;
}

/** Timer functions (tests pass fake ones). */
export interface RetentionTimers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  now(): number;
}

/** The real clock; timers are unref'd so a pending prune never keeps the process alive. */
export const systemRetentionTimers: RetentionTimers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms).unref(),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
  now: () => Date.now(),
};

/** Pause between two steps of one run: the event loop (DHCP, TFTP) gets its turn in between. */
const STEP_PAUSE_MS = 20;

const DAY_MS = 86_400_000;

/**
 * Prunes events and config versions on a timer, off the DHCP hot path: a run is a series of
 * steps, each one short transaction of at most `batchRows` rows per kind, with a pause between
 * steps; the next run starts `intervalSeconds` after a run finds nothing more to delete.
 */
export class RetentionService {
  private readonly repo: RetentionRepo;
  private readonly timers: RetentionTimers;
  private timer: unknown;
  private closed = false;
  /** Where the config-version scan goes on (null: it went through every machine this run). */
  private versionCursor: number | null = 0;
  /** Rows deleted since start, by reason. */
  readonly totals: PruneCounts = { eventsByAge: 0, eventsByCount: 0, configVersions: 0, expiredTokens: 0 };

  constructor(
    private readonly o: { store: Store; settings: RetentionSettings; log: Logger; timers?: RetentionTimers; leader?: RetentionLeader },
  ) {
    this.repo = o.store.retention;
    this.timers = o.timers ?? systemRetentionTimers;
  }

  /** Schedules the first run (after one step pause, so start-up is not delayed). */
  start(): void {
    if (!this.o.settings.enabled || this.closed) return;
    this.schedule(STEP_PAUSE_MS);
  }

  /** Stops the timer; a step in progress (synchronous) has already finished. */
  close(): void {
    this.closed = true;
    if (this.timer !== undefined) this.timers.clearTimeout(this.timer);
    this.timer = undefined;
  }

  /**
   * One step: at most batchRows rows of each kind, each kind in its own transaction. `more`:
   * something was deleted or the version scan has machines left, so another step should follow.
   */
  step(): PruneCounts & { more: boolean } {
    const s = this.o.settings;
    const now = this.timers.now();
    let configVersions = 0;
    if (this.versionCursor !== null) {
      const r = this.repo.pruneConfigVersions(s.configVersionsKeep, s.batchRows, this.versionCursor);
      configVersions = r.deleted;
      this.versionCursor = r.next;
    }
    const counts: PruneCounts = {
      eventsByAge: s.eventsMaxAgeDays > 0 ? this.repo.pruneEventsOlderThan(new Date(now - s.eventsMaxAgeDays * DAY_MS).toISOString(), s.batchRows) : 0,
      eventsByCount: s.eventsMaxRows > 0 ? this.repo.pruneEventsBeyond(s.eventsMaxRows, s.batchRows) : 0,
      expiredTokens: this.repo.pruneExpiredTokens(now, s.batchRows),
      configVersions,
    };
    for (const k of Object.keys(counts) as Array<keyof PruneCounts>) this.totals[k] += counts[k];
    const more = total(counts) > 0 || this.versionCursor !== null;
    // A run ends when a step finds nothing left; the next run scans every machine again.
    if (!more) this.versionCursor = 0;
    return { ...counts, more };
  }

  /** Runs steps until one deletes nothing (tests and `rackboot` maintenance; blocks the loop). */
  runToEnd(maxSteps = 100_000): PruneCounts {
    const sum: PruneCounts = { eventsByAge: 0, eventsByCount: 0, configVersions: 0, expiredTokens: 0 };
    for (let i = 0; i < maxSteps; i++) {
      const { more, ...c } = this.step();
      for (const k of Object.keys(c) as Array<keyof PruneCounts>) sum[k] += c[k];
      if (!more) break;
    }
    return sum;
  }

  private schedule(ms: number): void {
    if (this.closed) return;
    this.timer = this.timers.setTimeout(() => this.tick(), ms);
  }

  private tick(): void {
    this.timer = undefined;
    let more = false;
    // Appliances sharing the inventory prune it once: the holder of the retention lease does.
    if (this.o.leader && !this.o.leader.held()) {
      this.schedule(this.o.settings.intervalSeconds * 1000);
      return;
    }
    try {
      const c = this.step();
      more = c.more;
      if (total(c) > 0) this.o.log.debug({ ...c }, 'retention step');
    } catch (err) {
      this.o.log.warn({ err }, 'retention step failed; retrying at the next interval');
    }
    this.schedule(more ? STEP_PAUSE_MS : this.o.settings.intervalSeconds * 1000);
  }
}

function total(c: PruneCounts): number {
  return c.eventsByAge + c.eventsByCount + c.configVersions + c.expiredTokens;
}

/** Starts retention for the composition root (main.ts): `services.push(startRetention(ctx))`. */
export function startRetention(ctx: { store: Store; settings: { retention: RetentionSettings }; log: Logger; leader?: RetentionLeader }, timers?: RetentionTimers): Service {
  const svc = new RetentionService({ store: ctx.store, settings: ctx.settings.retention, log: ctx.log.child({ subsys: 'retention' }), ...(timers ? { timers } : {}), ...(ctx.leader ? { leader: ctx.leader } : {}) });
  svc.start();
  return {
    name: 'retention',
    close: async () => svc.close(),
  };
}
