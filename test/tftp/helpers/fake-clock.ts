import type { TransferClock } from '../../../src/tftp/transfer.js';

interface Timer {
  at: number;
  seq: number;
  fn: () => void;
}

/** A virtual clock: timers run only when the test advances it (no sleeping). */
export class FakeClock implements TransferClock {
  private t = 0;
  private seq = 0;
  private timers: Timer[] = [];

  now(): number {
    return this.t;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    const timer = { at: this.t + Math.max(0, ms), seq: this.seq++, fn };
    // Keep timers sorted by (at, seq): equal deadlines fire in the order they were set.
    let lo = 0;
    let hi = this.timers.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const m = this.timers[mid]!;
      if (m.at < timer.at || (m.at === timer.at && m.seq < timer.seq)) lo = mid + 1;
      else hi = mid;
    }
    this.timers.splice(lo, 0, timer);
    return timer;
  }

  clearTimeout(handle: unknown): void {
    const i = this.timers.indexOf(handle as Timer);
    if (i !== -1) this.timers.splice(i, 1);
  }

  /** Pending timers. */
  get pending(): number {
    return this.timers.length;
  }

  /** Runs every timer due up to `ms` from now (in order), then sets the time to it. */
  advance(ms: number): void {
    const until = this.t + ms;
    while (this.timers.length > 0 && this.timers[0]!.at <= until) this.runNext();
    this.t = until;
  }

  /** Jumps to the earliest timer and runs it; false when none is left. */
  runNext(): boolean {
    const next = this.timers.shift();
    if (!next) return false;
    this.t = next.at;
    next.fn();
    return true;
  }
}

/** Lets every queued promise continuation run (one macrotask turn). */
export function settle(): Promise<void> {
  return new Promise((r) => setImmediate(r));
}
