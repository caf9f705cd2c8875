import { randomBytes } from 'node:crypto';
import { AppError, isAppError } from '../errors.js';
import type { Logger } from '../log.js';
import { type Claimant, LeaderLease, type LeaseTable, type LeaseTimers, realLeaseTimers } from './leader.js';
import { leaseTiming } from './lease-policy.js';

/** Singleton loops that must not run on two appliances at once. */
export const ROLES = {
  /** The rollout runner and the Kubernetes readiness monitor it waits on. */
  rolloutRunner: 'rollout-runner',
  /** Pruning of old events, config versions and expired tokens. */
  retention: 'retention',
} as const;

/** The lease name of one machine's BMC. */
export const bmcLockName = (machineId: number): string => `bmc:${machineId}`;

/** True when `e` says a BMC is being operated by another appliance (nothing was sent to it). */
export function isBmcBusy(e: unknown): e is AppError {
  return isAppError(e, 'CONFLICT') && (e.details as { reason?: unknown } | undefined)?.reason === 'bmc-busy';
}

/** Runs BMC operations under a lock that no other appliance can hold at the same time. */
export interface BmcLocks {
  withBmc<T>(machineId: number, op: string, fn: () => Promise<T>): Promise<T>;
}

/** What a coordinator needs. */
export interface CoordinatorOptions {
  table: LeaseTable;
  /** This appliance's name (settings appliance.name). */
  appliance: string;
  /** Leader lease time to live; renewed every third of it. */
  leaseMs: number;
  /** BMC lock time to live (renewed while the operation runs, released after it). */
  bmcLockMs?: number;
  now?: () => number;
  log: Logger;
  timers?: LeaseTimers;
  /** The database is this process's alone (SQLite behind the data-dir lock): take roles at once. */
  exclusive?: boolean;
  /** Called when a role changes hands here (main.ts records it in the trace). */
  onLeaderChange?: (role: string, held: boolean, epoch: number | null) => void;
}

/**
 * Coordination of one appliance with the others on the same database: leader leases per
 * singleton role and a lock per BMC, all rows of coordination_leases claimed by this process
 * (`<appliance>#<random instance>`: a restarted appliance is a new holder and waits out its
 * previous life's lease unless it owns the database alone).
 */
export class Coordinator implements BmcLocks {
  readonly me: Claimant;
  private readonly leaders = new Map<string, LeaderLease>();
  private readonly bmcHolds = new Map<string, { count: number; renew: unknown }>();
  private readonly now: () => number;
  private readonly timers: LeaseTimers;

  constructor(private readonly o: CoordinatorOptions) {
    this.me = { holder: `${o.appliance}#${randomBytes(4).toString('hex')}`, appliance: o.appliance };
    this.now = o.now ?? Date.now;
    this.timers = o.timers ?? realLeaseTimers;
  }

  /** The lease of a singleton role (one object per role; start() it to take part). */
  leader(role: string): LeaderLease {
    let l = this.leaders.get(role);
    if (!l) {
      l = new LeaderLease({
        table: this.o.table,
        role,
        me: this.me,
        timing: leaseTiming(this.o.leaseMs),
        now: this.now,
        log: this.o.log.child({ subsys: 'coordination' }),
        timers: this.timers,
        ...(this.o.exclusive ? { exclusive: true } : {}),
        onChange: (held, row) => this.o.onLeaderChange?.(role, held, row?.epoch ?? null),
      });
      this.leaders.set(role, l);
    }
    return l;
  }

  /**
   * Runs fn holding the BMC's lock row. Operations of this appliance on one BMC share the row
   * (the driver's in-process mutex orders them); another appliance's hold is a CONFLICT
   * (reason `bmc-busy`, HTTP 409) at once, before anything is sent.
   */
  async withBmc<T>(machineId: number, op: string, fn: () => Promise<T>): Promise<T> {
    const name = bmcLockName(machineId);
    const mine = this.bmcHolds.get(name);
    if (mine) mine.count++;
    else this.bmcHolds.set(name, { count: 1, renew: this.takeBmc(name, machineId, op) });
    try {
      return await fn();
    } finally {
      this.releaseBmc(name);
    }
  }

  /** Stops every role (each released for the standby) and gives up BMC locks still held. */
  stop(): void {
    for (const l of this.leaders.values()) l.stop();
    for (const name of [...this.bmcHolds.keys()]) {
      const h = this.bmcHolds.get(name)!;
      h.count = 1;
      this.releaseBmc(name);
    }
  }

  private bmcTtl(): number {
    return this.o.bmcLockMs ?? 30_000;
  }

  /** Claims the row or throws bmc-busy; returns the renewal timer that keeps it while operations run. */
  private takeBmc(name: string, machineId: number, op: string): unknown {
    const ttlMs = this.bmcTtl();
    // An exclusive store has no other process: a row held by someone else is a killed predecessor's.
    const force = this.o.exclusive ? { force: true } : {};
    let row: ReturnType<LeaseTable['tryTake']>;
    try {
      row = this.o.table.tryTake(name, { ...this.me, now: this.now(), ttlMs, ...force });
    } catch (e) {
      this.bmcHolds.delete(name);
      throw e;
    }
    if (!row) {
      this.bmcHolds.delete(name);
      const cur = this.o.table.get(name);
      const until = cur ? new Date(cur.expiresAt).toISOString() : null;
      throw new AppError('CONFLICT', `the BMC of machine ${machineId} is busy: appliance ${cur?.appliance ?? '?'} is operating it (lock until ${until ?? '?'}); try again shortly`, {
        details: { reason: 'bmc-busy', machineId, op, appliance: cur?.appliance ?? null, until },
      });
    }
    const renew = (): unknown =>
      this.timers.setTimeout(() => {
        const h = this.bmcHolds.get(name);
        if (!h) return;
        try {
          if (!this.o.table.tryTake(name, { ...this.me, now: this.now(), ttlMs })) this.o.log.warn({ machineId, op }, 'BMC lock taken over while an operation runs');
        } catch (err) {
          this.o.log.warn({ err, machineId, op }, 'BMC lock renewal failed');
        }
        h.renew = renew();
      }, Math.floor(ttlMs / 3));
    return renew();
  }

  private releaseBmc(name: string): void {
    const h = this.bmcHolds.get(name);
    if (!h) return;
    h.count--;
    if (h.count > 0) return;
    this.bmcHolds.delete(name);
    this.timers.clearTimeout(h.renew);
    try {
      this.o.table.release(name, this.me.holder);
    } catch (err) {
      this.o.log.warn({ err, lock: name }, 'BMC lock release failed (it expires on its own)');
    }
  }
}
