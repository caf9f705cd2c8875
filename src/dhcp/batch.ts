import type { WriteFailureSink } from '../inventory/write-failures.js';
import type { Logger } from '../log.js';

interface Item {
  /** Runs the write; returns what to do once it is committed. */
  write: () => (() => void) | undefined;
  /** Runs when the write or its commit failed (the reply is withheld). */
  failed: (() => void) | undefined;
}

/** Thrown inside a transaction to roll it back after one write failed (the others are redone). */
class WriteFailed extends Error {}

/** Timer functions the batcher uses (injected so tests can drive it). */
export interface BatchTimers {
  now: () => number;
  immediate: (fn: () => void) => void;
  later: (fn: () => void, ms: number) => void;
}

const realTimers: BatchTimers = {
  now: () => performance.now(),
  immediate: (fn) => setImmediate(fn),
  later: (fn, ms) => setTimeout(fn, ms),
};

/**
 * Collects the writes of one event-loop turn and commits them in one transaction, then runs
 * the `after` callbacks (the replies). An ACK thus leaves only once its lease is on disk,
 * while the hot path pays one commit per turn instead of one per packet. With `minIntervalMs`
 * a turn that comes right after a commit waits out the rest of the interval, so under steady
 * load the commit rate is bounded and each transaction carries many packets (a commit, with
 * its WAL pages, costs far more than a row). The boot trace does not go through here: its rows
 * are queued by EventRepo.addSoon, since no reply waits for them.
 *
 * A write that throws rolls its transaction back and the others are written again without it
 * (PostgreSQL aborts the whole transaction at the first error, SQLite would not; one rule for
 * both). Each write returns a value its `after` gets: a lease claim says whether it won.
 */
export class TurnBatcher {
  private queue: Item[] = [];
  private scheduled = false;
  private closed = false;
  /** Transactions committed and writes in them (for the stats log). */
  readonly stats = { commits: 0, writes: 0, failedWrites: 0, failedCommits: 0, commitMs: 0, maxCommitMs: 0 };

  private lastCommit = Number.NEGATIVE_INFINITY;
  /**
   * Takes failed writes and commits instead of one error line each (the server's is throttled
   * and names a full disk: under a flood every turn's commit fails alike).
   */
  failures: WriteFailureSink | undefined;

  constructor(
    private readonly transaction: (fn: () => void) => void,
    private readonly log: Logger,
    private readonly minIntervalMs = 0,
    private readonly timers: BatchTimers = realTimers,
  ) {}

  /**
   * Queues a write; `after` runs with its result once it is committed (never if the write or
   * commit fails: then `failed` runs).
   */
  add<T>(write: () => T, after?: (result: T) => void, failed?: () => void): void {
    if (this.closed) {
      failed?.();
      return;
    }
    this.queue.push({
      write: () => {
        const r = write();
        return after ? () => after(r) : undefined;
      },
      failed,
    });
    if (!this.scheduled) {
      this.scheduled = true;
      const wait = this.lastCommit + this.minIntervalMs - this.timers.now();
      if (wait > 0) this.timers.later(() => this.flush(), wait);
      else this.timers.immediate(() => this.flush());
    }
  }

  /** Commits everything queued now (also called on close). */
  flush(): void {
    this.scheduled = false;
    let items = this.queue;
    if (items.length === 0) return;
    this.queue = [];
    const started = this.timers.now();
    let writeFailed = false;
    let done: Array<(() => void) | undefined> = [];
    for (;;) {
      let bad = -1;
      try {
        done = [];
        this.transaction(() => {
          for (const item of items) {
            try {
              done.push(item.write());
            } catch (err) {
              // One bad write (a constraint) must not sink the others in the batch.
              this.stats.failedWrites++;
              if (this.failures) this.failures.failed(err, 1);
              else this.log.error({ err }, 'dhcp write failed');
              bad = done.length;
              throw new WriteFailed();
            }
          }
        });
      } catch (err) {
        if (err instanceof WriteFailed) {
          writeFailed = true;
          this.fail(items[bad]);
          items = items.filter((_, i) => i !== bad);
          if (items.length > 0) continue;
          return;
        }
        this.stats.failedCommits++;
        if (this.failures) this.failures.failed(err, items.length);
        else this.log.error({ err, writes: items.length }, 'dhcp batch commit failed; replies withheld');
        for (const item of items) this.fail(item);
        return;
      }
      break;
    }
    if (!writeFailed) this.failures?.succeeded();
    this.lastCommit = this.timers.now();
    const took = this.lastCommit - started;
    this.stats.commitMs += took;
    if (took > this.stats.maxCommitMs) this.stats.maxCommitMs = took;
    this.stats.commits++;
    this.stats.writes += items.length;
    for (const after of done) {
      if (!after) continue;
      try {
        after();
      } catch (err) {
        // A failed send must not keep the replies after it from leaving.
        this.log.error({ err }, 'dhcp reply after commit failed');
      }
    }
  }

  private fail(item: Item | undefined): void {
    try {
      item?.failed?.();
    } catch (err) {
      this.log.error({ err }, 'dhcp write failure handler failed');
    }
  }

  /** Flushes what is pending and refuses new writes. */
  close(): void {
    this.flush();
    this.closed = true;
  }
}
