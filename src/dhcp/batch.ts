import type { WriteFailureSink } from '../inventory/write-failures.js';
import type { Logger } from '../log.js';
import { isStoreUnavailable } from './outage.js';

/**
 * Writes of one kind that a batch runs together after its other writes (issue #20: a turn's
 * lease claims in one PostgreSQL statement instead of a round trip each).
 */
export interface GroupedWrite<I, R> {
  /** Every input of the transaction, in the order queued; one result per input, in that order. */
  many(inputs: I[]): R[];
  /** One input, with the result `many` would give it: the fallback that finds an input at fault. */
  one(input: I): R;
}

interface Item {
  /** Runs the write; returns its result, or for a grouped write the group's input (undefined: none). */
  write: () => unknown;
  group: GroupedWrite<unknown, unknown> | undefined;
  /** Runs with the result once the write is committed (the reply). */
  after: ((result: unknown) => void) | undefined;
  /** Runs when the write or its commit failed (the reply is withheld). */
  failed: (() => void) | undefined;
}

/** Thrown inside a transaction to roll it back after one write failed (the others are redone). */
class WriteFailed extends Error {
  constructor(readonly index: number) {
    super('write failed');
  }
}

/** Thrown inside a transaction when a group's `many` failed: the batch is redone one by one. */
class GroupFailed extends Error {}

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
 * both). Each write returns a value its `after` gets: a lease claim says whether it won. The
 * claims themselves are a grouped write (addGrouped): all of a turn's in one call, after the
 * other writes, so PostgreSQL takes them in one statement.
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
    this.push({ write, group: undefined, after: after as Item['after'], failed });
  }

  /**
   * Queues a write whose last step joins `group`: `write` does the item's own writes and returns
   * its input to the group (undefined: none); `after` gets the group's result for that input
   * (undefined when it gave none) once committed. The batch calls `group.many` once, after every
   * write of the transaction; if it throws, the batch is redone with `group.one` in each write's
   * place, as if queued with add(), which finds the input at fault.
   */
  addGrouped<I, R>(group: GroupedWrite<I, R>, write: () => I | undefined, after?: (result: R | undefined) => void, failed?: () => void): void {
    this.push({ write, group: group as GroupedWrite<unknown, unknown>, after: after as Item['after'], failed });
  }

  private push(item: Item): void {
    if (this.closed) {
      this.fail(item);
      return;
    }
    this.queue.push(item);
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
    let oneByOne = false;
    let results: unknown[] = [];
    for (;;) {
      try {
        this.transaction(() => {
          results = this.writeAll(items, oneByOne);
        });
      } catch (err) {
        if (err instanceof WriteFailed) {
          writeFailed = true;
          this.fail(items[err.index]);
          items = items.filter((_, i) => i !== err.index);
          // The rest goes back to the groups: one bad input should not cost a round trip per write.
          oneByOne = false;
          if (items.length > 0) continue;
          return;
        }
        if (err instanceof GroupFailed) {
          this.log.debug({ err: err.cause }, 'dhcp grouped write failed; redoing the batch write by write');
          oneByOne = true;
          continue;
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
    items.forEach((item, i) => {
      if (!item.after) return;
      try {
        item.after(results[i]);
      } catch (err) {
        // A failed send must not keep the replies after it from leaving.
        this.log.error({ err }, 'dhcp reply after commit failed');
      }
    });
  }

  /**
   * The writes of one transaction, then each group's inputs at once (or, `oneByOne`, each in its
   * write's place); returns every item's result. Throws WriteFailed naming the write at fault.
   */
  private writeAll(items: Item[], oneByOne: boolean): unknown[] {
    const results: unknown[] = new Array(items.length);
    const grouped = new Map<GroupedWrite<unknown, unknown>, number[]>();
    items.forEach((item, i) => {
      try {
        const r = item.write();
        if (!item.group || r === undefined) results[i] = item.group ? undefined : r;
        else if (oneByOne) results[i] = item.group.one(r);
        else {
          results[i] = r;
          const at = grouped.get(item.group);
          if (at) at.push(i);
          else grouped.set(item.group, [i]);
        }
      } catch (err) {
        // An unreachable store fails every write alike: the whole batch fails at once, without
        // a retry per write (each would wait out the store's deadline again).
        if (isStoreUnavailable(err)) throw err;
        // One bad write (a constraint) must not sink the others in the batch.
        this.stats.failedWrites++;
        if (this.failures) this.failures.failed(err, 1);
        else this.log.error({ err }, 'dhcp write failed');
        throw new WriteFailed(i);
      }
    });
    for (const [group, at] of grouped) {
      let out: unknown[];
      try {
        out = group.many(at.map((i) => results[i]));
      } catch (err) {
        if (isStoreUnavailable(err)) throw err;
        throw new GroupFailed('grouped write failed', { cause: err });
      }
      if (out.length !== at.length) throw new GroupFailed(`grouped write gave ${out.length} results for ${at.length} inputs`);
      at.forEach((i, k) => {
        results[i] = out[k];
      });
    }
    return results;
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
