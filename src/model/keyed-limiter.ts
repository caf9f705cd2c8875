/**
 * Token buckets by key, bounded in keys (least recently used forgotten). Used where something a
 * client sends would write without bound: DHCP discovery (a bucket per relay or segment, issue
 * #15) and identity claims traced in a machine's trace (a bucket per claimed machine, #19).
 * Time is a parameter: no clock inside.
 */
export class KeyedLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  /**
   * @param ratePerSecond tokens added per second to each bucket
   * @param burst bucket size: how many at once (for discovery: a rack powering on)
   * @param maxKeys buckets kept; the least recently used one is forgotten beyond that (a
   *   forgotten bucket starts full again, so forged keys gain nothing over the cap)
   */
  constructor(
    private readonly ratePerSecond: number,
    private readonly burst: number,
    private readonly maxKeys = 1024,
  ) {}

  /** Takes one token from `key`'s bucket at `nowMs`; false when it is empty. */
  take(key: string, nowMs: number): boolean {
    const b = this.buckets.get(key) ?? { tokens: this.burst, at: nowMs };
    const elapsed = Math.max(0, nowMs - b.at) / 1000;
    b.tokens = Math.min(this.burst, b.tokens + elapsed * this.ratePerSecond);
    b.at = Math.max(b.at, nowMs);
    // Re-inserted: Map order is least recently used first.
    this.buckets.delete(key);
    this.buckets.set(key, b);
    if (this.buckets.size > this.maxKeys) this.buckets.delete(this.buckets.keys().next().value as string);
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }
}
