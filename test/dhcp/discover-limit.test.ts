import { describe, expect, it } from 'vitest';
import { DiscoverLimiter, discoverKey } from '../../src/dhcp/discover-limit.js';

/** Takes at each of `times` (ms) from `key`; returns the admitted count. */
const admitted = (l: DiscoverLimiter, key: string, times: number[]) => times.filter((t) => l.take(key, t)).length;

describe('DiscoverLimiter (token bucket per relay/segment)', () => {
  it.each([
    // rate/s, burst, request times (ms), admitted
    [5, 50, Array.from({ length: 50 }, () => 0), 50],
    [5, 50, Array.from({ length: 1000 }, () => 0), 50],
    // A flood of 1,000 over 10 s: the burst, then 5 per second.
    [5, 50, Array.from({ length: 1000 }, (_, i) => i * 10), 50 + 49],
    [1, 1, [0, 500, 999, 1000, 1500, 2000], 3],
    [0.5, 2, [0, 0, 0, 1999, 2000], 3],
  ])('rate %d/s burst %d: %j → %i admitted', (rate, burst, times, want) => {
    expect(admitted(new DiscoverLimiter(rate, burst), 'iface eth0', times)).toBe(want);
  });

  it('keeps a separate bucket per relay: a flood behind one leaves the others alone', () => {
    const l = new DiscoverLimiter(5, 10);
    expect(admitted(l, discoverKey('198.18.1.1', 'eth0'), Array.from({ length: 500 }, () => 0))).toBe(10);
    expect(admitted(l, discoverKey('198.18.2.1', 'eth0'), Array.from({ length: 10 }, () => 0))).toBe(10);
    expect(admitted(l, discoverKey('0.0.0.0', 'eth0'), [0])).toBe(1);
  });

  it('does not refill for a clock that goes backwards', () => {
    const l = new DiscoverLimiter(1, 1);
    expect(l.take('k', 10_000)).toBe(true);
    expect(l.take('k', 0)).toBe(false);
    expect(l.take('k', 10_999)).toBe(false);
    expect(l.take('k', 11_000)).toBe(true);
  });

  it('forgets the least recently used bucket past maxKeys', () => {
    const l = new DiscoverLimiter(1, 1, 2);
    expect(l.take('a', 0)).toBe(true);
    expect(l.take('b', 0)).toBe(true);
    expect(l.take('a', 0)).toBe(false);
    expect(l.take('c', 0)).toBe(true); // b is the oldest now: forgotten
    expect(l.take('a', 0)).toBe(false);
    expect(l.take('b', 0)).toBe(true);
  });

  it.each([
    ['198.18.7.1', 'eth0', 'relay 198.18.7.1'],
    ['0.0.0.0', 'eth1', 'iface eth1'],
    ['0.0.0.0', undefined, 'iface *'],
  ])('key of giaddr %s on %s is %s', (giaddr, iface, key) => expect(discoverKey(giaddr, iface)).toBe(key));
});
