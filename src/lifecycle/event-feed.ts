import type { BootEvent } from '../inventory/events.js';
import type { Store } from '../inventory/store.js';

/** Where the feed reads new events from (the events table, or a fake in tests). */
export interface EventSource {
  /** The newest event id now. */
  lastId(): number;
  /** Events with id > `afterId`, oldest first, at most `limit`. */
  after(afterId: number, limit: number): BootEvent[];
}

/** The events table of a store as an EventSource. */
export function storeEventSource(store: Store): EventSource {
  return {
    lastId: () => store.events.lastId(),
    after: (afterId, limit) => store.events.list({ afterId, limit }),
  };
}

/** Timer functions (fake timers in tests). */
export interface FeedTimers {
  setTimeout(fn: () => void, ms: number): NodeJS.Timeout;
  clearTimeout(t: NodeJS.Timeout): void;
}

/** Feed options. */
export interface EventFeedOptions {
  intervalMs: number;
  /** Rows read per query. */
  pageSize?: number;
  /** Queries per tick at most: a burst larger than this is delivered over the next ticks. */
  maxPagesPerTick?: number;
  timers?: FeedTimers;
  onError?: (err: unknown) => void;
}

/** A subscriber receives each batch of new events (oldest first, ids increasing). */
export type FeedListener = (events: readonly BootEvent[]) => void;

/**
 * One poller of the events table for every live consumer (server-sent event streams, metrics):
 * every `intervalMs` it reads the rows after the last id it delivered and hands them to each
 * subscriber, so N browsers cost one query per tick, not N.
 */
export class EventFeed {
  private last = 0;
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private readonly listeners = new Set<FeedListener>();
  private readonly timers: FeedTimers;

  constructor(
    private readonly source: EventSource,
    private readonly opts: EventFeedOptions,
  ) {
    this.timers = opts.timers ?? { setTimeout: (fn, ms) => setTimeout(fn, ms), clearTimeout: (t) => clearTimeout(t) };
  }

  /** The id of the newest event delivered to subscribers. */
  get position(): number {
    return this.last;
  }

  /** Starts polling from the newest event now (history is not replayed to subscribers). */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.last = this.source.lastId();
    this.schedule();
  }

  /** Stops polling. */
  stop(): void {
    this.running = false;
    if (this.timer) this.timers.clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Adds a subscriber; returns its unsubscribe function. */
  subscribe(fn: FeedListener): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Subscribers now. */
  get size(): number {
    return this.listeners.size;
  }

  /** One tick: reads what is new and delivers it. Returns the number of events delivered. */
  poll(): number {
    const pageSize = this.opts.pageSize ?? 1000;
    let delivered = 0;
    for (let page = 0; page < (this.opts.maxPagesPerTick ?? 10); page++) {
      const batch = this.source.after(this.last, pageSize);
      if (batch.length === 0) break;
      this.last = batch.at(-1)!.id;
      delivered += batch.length;
      for (const fn of this.listeners) {
        try {
          fn(batch);
        } catch (err) {
          this.opts.onError?.(err);
        }
      }
      if (batch.length < pageSize) break;
    }
    return delivered;
  }

  private schedule(): void {
    if (!this.running) return;
    this.timer = this.timers.setTimeout(() => {
      try {
        this.poll();
      } catch (err) {
        this.opts.onError?.(err);
      }
      this.schedule();
    }, this.opts.intervalMs);
    this.timer.unref?.();
  }
}
