import type { NewEvent } from '../inventory/events.js';
import type { Store } from '../inventory/store.js';
import type { Logger } from '../log.js';
import { EVENT } from '../lifecycle/event-kinds.js';
import type { TransferRecord } from './server.js';

/** The boot-trace event of one TFTP request. */
export function transferEvent(r: TransferRecord): NewEvent {
  const detail: Record<string, unknown> = {
    file: r.file,
    bytes: r.bytes,
    ms: r.ms,
    blksize: r.blksize,
    windowsize: r.windowsize,
    client: r.client.address,
    result: r.result,
  };
  if (r.retransmits) detail.retransmits = r.retransmits;
  if (r.error !== undefined) detail.error = r.error;
  return { mac: r.client.mac ?? null, source: 'tftp', kind: r.result === 'sent' ? EVENT.tftpSent : EVENT.tftpFailed, detail };
}

/**
 * Writes transfer events in batches: one SQLite transaction per `flushMs` (or per `maxBatch`
 * events), so a burst of 50 transfers does not serialize on the database. Past `maxQueue`
 * pending events (a request flood) further events are counted and dropped.
 */
export class TransferEventBatcher {
  private queue: NewEvent[] = [];
  private timer: NodeJS.Timeout | undefined;
  /** Events dropped because the queue was full. */
  dropped = 0;

  constructor(
    private readonly store: Pick<Store, 'events' | 'transaction'>,
    private readonly log: Logger,
    private readonly opts: { flushMs: number; maxBatch: number; maxQueue: number } = { flushMs: 250, maxBatch: 200, maxQueue: 5000 },
  ) {}

  /** Queues the event of one request. */
  push(record: TransferRecord): void {
    if (this.queue.length >= this.opts.maxQueue) {
      this.dropped++;
      return;
    }
    this.queue.push(transferEvent(record));
    if (this.queue.length >= this.opts.maxBatch) this.flush();
    else if (!this.timer) {
      this.timer = setTimeout(() => this.flush(), this.opts.flushMs);
      this.timer.unref();
    }
  }

  /** Writes everything queued now. */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.queue.length === 0) return;
    const batch = this.queue;
    this.queue = [];
    try {
      this.store.transaction(() => {
        for (const e of batch) this.store.events.add(e);
      });
    } catch (err) {
      this.log.error({ err, events: batch.length }, 'tftp events not recorded');
    }
    if (this.dropped > 0) {
      this.log.warn({ dropped: this.dropped }, 'tftp events dropped (queue full)');
      this.dropped = 0;
    }
  }
}
