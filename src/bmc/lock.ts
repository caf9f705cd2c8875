/** A FIFO counting semaphore: at most `limit` holders at once. */
export class Semaphore {
  private active = 0;
  private readonly queue: (() => void)[] = [];
  constructor(private readonly limit: number) {}

  /** Runs fn once a slot is free, releasing the slot however fn ends. */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) await new Promise<void>((r) => this.queue.push(r));
    else this.active++;
    try {
      return await fn();
    } finally {
      const next = this.queue.shift();
      if (next) next();
      else this.active--;
    }
  }

  /** Holders right now (tests). */
  get inUse(): number {
    return this.active;
  }
}

/** A mutex: operations on one BMC never interleave. */
export class Mutex extends Semaphore {
  constructor() {
    super(1);
  }
}
