import type { LeaseClaim, LeaseRecord } from '../inventory/coordination.js';
import type { Logger } from '../log.js';
import { type LeaseTiming, actUntil } from './lease-policy.js';

/** The lease table as a leader sees it (CoordinationRepo; test/fakes/lease-table.ts in memory). */
export interface LeaseTable {
  tryTake(name: string, c: LeaseClaim): LeaseRecord | null;
  release(name: string, holder: string): boolean;
  get(name: string): LeaseRecord | null;
}

/** Timer functions (tests pass fake ones). */
export interface LeaseTimers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** The real clock's timers, unref'd (a pending renewal never keeps the process alive). */
export const realLeaseTimers: LeaseTimers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms).unref(),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

/** Who claims: this process (holder) on behalf of its appliance. */
export interface Claimant {
  holder: string;
  appliance: string;
}

/** Whether this appliance may run a singleton loop now. */
export interface Leadership {
  /** True while this process holds the role's lease with time to spare; checked before every step. */
  held(): boolean;
}

/**
 * One singleton role (e.g. `rollout-runner`) held by at most one appliance: the lease is claimed
 * every `renewMs` (a renewal while held, a takeover attempt while not). held() is answered from
 * this process's clock and the time of its last successful claim, so a holder cut off from the
 * database stops acting `marginMs` before anyone else can take over, without asking anything.
 */
export class LeaderLease implements Leadership {
  private until = 0;
  private timer: unknown;
  private running = false;
  private forceNext: boolean;

  constructor(
    private readonly o: {
      table: LeaseTable;
      role: string;
      me: Claimant;
      timing: LeaseTiming;
      now: () => number;
      log: Logger;
      timers?: LeaseTimers;
      /** Take the role at the first claim whoever holds it (a locked SQLite data dir: any other holder is dead). */
      exclusive?: boolean;
      /** Called when this process becomes the holder or stops being it. */
      onChange?: (held: boolean, row: LeaseRecord | null) => void;
    },
  ) {
    this.forceNext = o.exclusive === true;
  }

  /** The role's name. */
  get role(): string {
    return this.o.role;
  }

  held(): boolean {
    return this.o.now() < this.until;
  }

  /** One claim now; true when this process holds the role afterwards. */
  claim(): boolean {
    const { table, role, me, timing } = this.o;
    const before = this.held();
    const at = this.o.now();
    let row: LeaseRecord | null;
    try {
      row = table.tryTake(role, { ...me, now: at, ttlMs: timing.ttlMs, ...(this.forceNext ? { force: true } : {}) });
      this.forceNext = false;
    } catch (err) {
      // Unknown outcome: keep acting only until the last known claim runs out.
      this.o.log.warn({ err, role }, 'lease claim failed');
      this.report(before);
      return this.held();
    }
    this.until = row ? actUntil(at, timing) : 0;
    this.report(before, row);
    return this.held();
  }

  /** Claims now and then every renewMs until stop(). */
  start(): void {
    if (this.running) return;
    this.running = true;
    const loop = () => {
      if (!this.running) return;
      try {
        this.claim();
      } catch (err) {
        this.o.log.warn({ err, role: this.o.role }, 'lease claim failed');
      }
      this.timer = (this.o.timers ?? realLeaseTimers).setTimeout(loop, this.o.timing.renewMs);
    };
    loop();
  }

  /** Stops claiming and gives the role up at once (a clean shutdown: the standby need not wait for expiry). */
  stop(): void {
    this.running = false;
    if (this.timer !== undefined) (this.o.timers ?? realLeaseTimers).clearTimeout(this.timer);
    this.timer = undefined;
    const was = this.held();
    this.until = 0;
    try {
      this.o.table.release(this.o.role, this.o.me.holder);
    } catch (err) {
      this.o.log.warn({ err, role: this.o.role }, 'lease release failed (it expires on its own)');
    }
    if (was) this.notify(false, null);
  }

  /** Tells the listener; its failure (e.g. a trace row the database refused) never stops the claims. */
  private notify(held: boolean, row: LeaseRecord | null): void {
    try {
      this.o.onChange?.(held, row);
    } catch (err) {
      this.o.log.warn({ err, role: this.o.role }, 'lease change listener failed');
    }
  }

  private holderName(): string | null {
    try {
      return this.o.table.get(this.o.role)?.appliance ?? null;
    } catch {
      return null;
    }
  }

  private report(before: boolean, row?: LeaseRecord | null): void {
    const now = this.held();
    if (now === before) return;
    const { role, me } = this.o;
    if (now) this.o.log.info({ role, appliance: me.appliance, epoch: row?.epoch }, 'lease taken: this appliance runs the role');
    else this.o.log.warn({ role, appliance: me.appliance, holder: row === null ? this.holderName() : null }, 'lease lost: this appliance stops the role');
    this.notify(now, row ?? null);
  }
}
