import type { ConfigRepo, ConfigToken } from './configs.js';
import type { Db } from './db.js';
import type { EventRepo, NewEvent } from './events.js';

/** The writes of one steady-state network boot: its fresh tokens and its trace row. */
export interface BootWrite {
  machineId: number;
  /** The boot's tokens; a report token among them revokes the machine's earlier report tokens first. */
  tokens: ConfigToken[];
  event: NewEvent;
  /** `event.detail` already serialized (BootService serializes a machine's steady detail once); written instead of it. */
  eventDetail?: string;
}

interface Pending {
  write: BootWrite;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/**
 * Group commit of boot writes (issue #21). A boot whose config version is reused writes only two
 * token rows, a revocation and an event; one commit per boot made the commit the largest cost of
 * a boot script. Boots queued in one turn of the event loop are written in one transaction at
 * the end of that turn (setImmediate); when that transaction fails, each boot is written on its
 * own, so a failure rejects only the boots it belongs to.
 *
 * Durability: unlike EventRepo.addSoon, nothing is handed out before it is durable. The promise
 * of commitSoon resolves only after the batch's COMMIT returned, and the caller sends the script
 * (with its tokens) only then, so a crash loses only boots whose scripts were never sent (the
 * machine's request failed; it boots again). Tokens a machine holds are always in the database,
 * with the same guarantee as any other commit (synchronous=NORMAL: a rackboot crash; `fsync`
 * durability: power loss too). The cost is latency: up to one event-loop turn plus the batch's
 * commit.
 *
 * Order: every access to config tokens and every event read or write flushes the queue first
 * (outside a transaction; Store.transaction flushes before it opens one), so a later boot's
 * revocation or a `provision` never runs before an earlier queued boot's writes.
 */
export class BootWriteQueue {
  private queued: Pending[] = [];
  private scheduled = false;

  constructor(
    private readonly db: Db,
    private readonly configs: ConfigRepo,
    private readonly events: EventRepo,
    private readonly maxQueued = 256,
  ) {}

  /** Queues a boot's writes; resolves once they are committed, rejects when they could not be. */
  commitSoon(write: BootWrite): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queued.push({ write, resolve, reject });
      if (this.queued.length >= this.maxQueued && !this.db.inTransaction) this.flush();
      else if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => {
          this.scheduled = false;
          this.flush();
        });
      }
    });
  }

  /** Boots queued and not yet committed. */
  get size(): number {
    return this.queued.length;
  }

  /**
   * Writes every queued boot in one transaction, then settles their promises. Inside an open
   * transaction it does nothing (its commit is not ours to promise); the scheduled flush runs later.
   */
  flush(): void {
    if (this.queued.length === 0 || this.db.inTransaction || !this.db.open) return;
    const batch = this.queued;
    this.queued = [];
    try {
      this.db.transaction(() => this.writeBatch(batch.map((p) => p.write)))();
    } catch {
      // Rolled back: one boot's writes failed (its version deleted meanwhile, a full disk). Each
      // boot again on its own, so a failure rejects only the boots it belongs to.
      for (const p of batch) this.writeAlone(p);
      return;
    }
    for (const p of batch) p.resolve();
  }

  private writeAlone(p: Pending): void {
    try {
      this.db.transaction(() => this.write(p.write))();
    } catch (err) {
      p.reject(err);
      return;
    }
    p.resolve();
  }

  /**
   * The batch's writes with the end state of writing them one by one: a machine's report tokens
   * are revoked once, and of its report tokens in the batch only the last one is stored (each
   * earlier one would be revoked by the next boot's revocation in this same transaction). The
   * tokens and the trace rows go in multi-row INSERTs (ids in the boots' order), after the
   * events queued before them (EventRepo.addSoon).
   */
  private writeBatch(writes: BootWrite[]): void {
    this.events.flush();
    const lastReport = new Map<number, ConfigToken>();
    for (const w of writes) for (const t of w.tokens) if (t.kind === 'report') lastReport.set(w.machineId, t);
    for (const [machineId] of lastReport) this.configs.revokeTokens(machineId, 'report');
    const tokens: ConfigToken[] = [];
    for (const w of writes) for (const t of w.tokens) if (t.kind !== 'report' || lastReport.get(w.machineId) === t) tokens.push(t);
    this.configs.addTokens(tokens);
    this.addEvents(writes);
  }

  /** The batch's trace rows (EventRepo.addMany: after the events queued before them, stamped now). */
  private addEvents(writes: BootWrite[]): void {
    this.events.addMany(writes.map((w) => ({ event: w.event, machineId: w.machineId, detailJson: w.eventDetail })));
  }

  private write(w: BootWrite): void {
    this.events.flush();
    if (w.tokens.some((t) => t.kind === 'report')) this.configs.revokeTokens(w.machineId, 'report');
    this.configs.addTokens(w.tokens);
    this.addEvents([w]);
  }
}
