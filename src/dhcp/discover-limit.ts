/**
 * Rate limit of `unknownMacs: discover` (issue #15): every unknown MAC that is answered becomes a
 * `discovered` machine row, so a host inventing MACs could grow the inventory without bound. Each
 * relay (giaddr) or directly attached segment (interface) gets its own token bucket, so a flood
 * behind one relay does not stop discovery on the others. Time is a parameter: no clock inside.
 */
export class DiscoverLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  /**
   * @param ratePerSecond tokens added per second to each bucket
   * @param burst bucket size: how many new machines a segment may add at once (a rack powering on)
   * @param maxKeys buckets kept; the least recently used one is forgotten beyond that (a
   *   forgotten bucket starts full again, so forged giaddrs gain nothing over the cap)
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

/** The bucket of a request: its relay agent when relayed, else the interface it arrived on. */
export function discoverKey(giaddr: string, iface: string | undefined): string {
  return giaddr !== '0.0.0.0' ? `relay ${giaddr}` : `iface ${iface ?? '*'}`;
}
