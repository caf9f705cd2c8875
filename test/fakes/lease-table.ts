import { decideLease } from '../../src/coordination/lease-policy.js';
import type { LeaseTable } from '../../src/coordination/leader.js';
import type { LeaseClaim, LeaseRecord } from '../../src/inventory/coordination.js';

/** coordination_leases in memory, by the pure rule (the SQL repo is checked against the same rule). */
export class FakeLeaseTable implements LeaseTable {
  readonly rows = new Map<string, LeaseRecord>();
  /** Claims and releases fail while set (a database outage). */
  down = false;

  tryTake(name: string, c: LeaseClaim): LeaseRecord | null {
    if (this.down) throw new Error('database unreachable');
    const d = decideLease(name, this.rows.get(name) ?? null, c);
    if (d.kind === 'busy') return null;
    this.rows.set(name, d.next);
    return { ...d.next };
  }

  release(name: string, holder: string): boolean {
    if (this.down) throw new Error('database unreachable');
    if (this.rows.get(name)?.holder !== holder) return false;
    return this.rows.delete(name);
  }

  get(name: string): LeaseRecord | null {
    const r = this.rows.get(name);
    return r ? { ...r } : null;
  }
}

/** Fake timers: callbacks run when the test moves time forward with advance(). */
export class FakeTimers {
  private seq = 0;
  private readonly due = new Map<number, { at: number; fn: () => void }>();
  constructor(public t = 1_700_000_000_000) {}
  now = (): number => this.t;
  setTimeout = (fn: () => void, ms: number): unknown => {
    const id = ++this.seq;
    this.due.set(id, { at: this.t + ms, fn });
    return id;
  };
  clearTimeout = (h: unknown): void => {
    this.due.delete(h as number);
  };
  /** Moves the clock forward `ms`, running every timer that falls due, in order. */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      const next = [...this.due.entries()].filter(([, d]) => d.at <= end).sort((a, b) => a[1].at - b[1].at)[0];
      if (!next) break;
      this.due.delete(next[0]);
      this.t = Math.max(this.t, next[1].at);
      next[1].fn();
    }
    this.t = end;
  }
}
