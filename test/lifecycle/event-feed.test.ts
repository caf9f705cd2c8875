import { afterEach, describe, expect, it, vi } from 'vitest';
import type { BootEvent } from '../../src/inventory/events.js';
import { Store } from '../../src/inventory/store.js';
import { EventFeed, type EventSource, storeEventSource } from '../../src/lifecycle/event-feed.js';
import { PhaseClock } from '../../src/metrics/phase-clock.js';

const ev = (id: number, sec = id, kind = 'dhcp.offer', detail: Record<string, unknown> = {}, machineId: number | null = 1): BootEvent => ({
  id,
  at: new Date(Date.parse('2026-12-04T10:00:00Z') + sec * 1000).toISOString(),
  mac: '52:54:00:00:00:01',
  machineId,
  source: kind.split('.')[0]!,
  kind,
  detail,
});

/** An in-memory event source that counts its queries. */
function fakeSource(rows: BootEvent[]): EventSource & { queries: number } {
  const s = {
    queries: 0,
    lastId: () => rows.at(-1)?.id ?? 0,
    after(afterId: number, limit: number) {
      s.queries++;
      return rows.filter((r) => r.id > afterId).slice(0, limit);
    },
  };
  return s;
}

afterEach(() => {
  vi.useRealTimers();
});

describe('EventFeed', () => {
  it('delivers only events after start, one query per tick for all subscribers', () => {
    vi.useFakeTimers();
    const rows = [ev(1), ev(2)];
    const src = fakeSource(rows);
    const feed = new EventFeed(src, { intervalMs: 500 });
    const a: number[] = [];
    const b: number[] = [];
    feed.subscribe((es) => a.push(...es.map((e) => e.id)));
    const unsubscribe = feed.subscribe((es) => b.push(...es.map((e) => e.id)));
    feed.start();
    expect(feed.position).toBe(2);
    rows.push(ev(3), ev(4));
    vi.advanceTimersByTime(500);
    expect(a).toEqual([3, 4]);
    expect(b).toEqual([3, 4]);
    expect(src.queries).toBe(1);
    unsubscribe();
    rows.push(ev(5));
    vi.advanceTimersByTime(500);
    expect(a).toEqual([3, 4, 5]);
    expect(b).toEqual([3, 4]);
    feed.stop();
    rows.push(ev(6));
    vi.advanceTimersByTime(5000);
    expect(a).toEqual([3, 4, 5]);
  });

  it('reads a burst in pages, at most maxPagesPerTick per tick; a throwing subscriber does not stop the others', () => {
    const rows: BootEvent[] = [];
    const src = fakeSource(rows);
    const errors: unknown[] = [];
    const feed = new EventFeed(src, { intervalMs: 500, pageSize: 10, maxPagesPerTick: 3, onError: (e) => errors.push(e) });
    feed.start();
    for (let i = 1; i <= 45; i++) rows.push(ev(i));
    const got: number[] = [];
    feed.subscribe(() => {
      throw new Error('broken consumer');
    });
    feed.subscribe((es) => got.push(...es.map((e) => e.id)));
    expect(feed.poll()).toBe(30);
    expect(feed.poll()).toBe(15);
    expect(got).toEqual(rows.map((r) => r.id));
    expect(errors).toHaveLength(5);
  });

  it('reads the events table of a store (queued DHCP rows included)', () => {
    const store = Store.memory();
    store.events.add({ source: 'api', kind: 'machine.created' });
    const feed = new EventFeed(storeEventSource(store), { intervalMs: 500 });
    feed.start();
    const got: string[] = [];
    feed.subscribe((es) => got.push(...es.map((e) => e.kind)));
    store.events.addSoon({ mac: '52:54:00:00:00:01', source: 'dhcp', kind: 'dhcp.offer' });
    feed.poll();
    feed.stop();
    expect(got).toEqual(['dhcp.offer']);
    store.close();
  });
});

describe('PhaseClock', () => {
  it('reports each phase when the next starts, ignores repeats and earlier phases, restarts on a new boot', () => {
    const c = new PhaseClock();
    const url = 'http://x/boot.ipxe?mac=1';
    const out = [
      ev(1, 0, 'dhcp.offer', { bootFile: 'ipxe.efi' }),
      ev(2, 1, 'dhcp.ack', { bootFile: 'ipxe.efi' }),
      ev(3, 4, 'tftp.sent', { file: 'ipxe.efi' }),
      ev(4, 6, 'dhcp.ack', { bootFile: url }),
      ev(5, 7, 'boot.script', { mode: 'network' }),
      ev(6, 8, 'dhcp.ack', { bootFile: url }),
      ev(7, 100, 'dhcp.offer', { bootFile: 'ipxe.efi' }),
      ev(8, 103, 'tftp.sent', { file: 'ipxe.efi' }),
    ].map((e) => c.observe(e));
    expect(out).toEqual([null, null, { phase: 'dhcp', ms: 4000 }, { phase: 'loader', ms: 2000 }, { phase: 'ipxe', ms: 1000 }, null, null, { phase: 'dhcp', ms: 3000 }]);
  });

  it('is bounded: the least recently active boots are forgotten', () => {
    const c = new PhaseClock(2);
    c.observe(ev(1, 0, 'dhcp.offer', { bootFile: 'ipxe.efi' }, 1));
    c.observe(ev(2, 0, 'dhcp.offer', { bootFile: 'ipxe.efi' }, 2));
    c.observe(ev(3, 0, 'dhcp.offer', { bootFile: 'ipxe.efi' }, 3));
    expect(c.observe(ev(4, 5, 'tftp.sent', { file: 'ipxe.efi' }, 1))).toBeNull();
    expect(c.observe(ev(5, 5, 'tftp.sent', { file: 'ipxe.efi' }, 3))).toEqual({ phase: 'dhcp', ms: 5000 });
  });
});
