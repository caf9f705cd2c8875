import { describe, expect, it } from 'vitest';
import { type ChangeSource, type ChangeTarget, type FeedTimers, followChanges } from '../../src/dhcp/change-feed.js';
import { CHANGE_CHANNEL } from '../../src/inventory/pg-notify.js';
import { silentLogger } from '../../src/log.js';

/** A change source whose LISTEN comes into effect when the test says so, and fake timers. */
function setUp() {
  const pending: Array<{ fn: () => void; ms: number; live: boolean }> = [];
  const timers: FeedTimers = {
    later: (fn, ms) => {
      const t = { fn, ms, live: true };
      pending.push(t);
      return () => {
        t.live = false;
      };
    },
  };
  let onPayload: ((p: string) => void) | undefined;
  let onResync: (() => void) | undefined;
  let listening = false;
  const sent: string[] = [];
  let unlistened = 0;
  const source: ChangeSource = {
    listen: (channel, on, resync) => {
      expect(channel).toBe(CHANGE_CHANNEL);
      onPayload = on;
      onResync = resync;
      return () => {
        unlistened++;
      };
    },
    notify: (_channel, payload) => {
      sent.push(payload);
      if (listening) onPayload?.(payload);
    },
  };
  const calls: string[] = [];
  const target: ChangeTarget = {
    applyStoredLease: (r) => calls.push(`lease ${r.ip}`),
    invalidateMachines: (ids) => calls.push(`machines ${ids.join(',')}`),
    resync: () => calls.push('resync'),
  };
  /** Runs the next live timer; its delay, or undefined when none is armed. */
  const tick = (): number | undefined => {
    const t = pending.filter((p) => p.live).shift();
    if (!t) return undefined;
    t.live = false;
    t.fn();
    return t.ms;
  };
  return {
    source,
    target,
    timers,
    sent,
    calls,
    tick,
    listen: () => {
      listening = true;
    },
    payload: (p: string) => onPayload!(p),
    resync: () => onResync!(),
    unlistened: () => unlistened,
  };
}

describe('followChanges (issue #20)', () => {
  it('says hello with backoff until its LISTEN is in effect, then reloads once and stops', () => {
    const t = setUp();
    const stop = followChanges(t.source, t.target, silentLogger(), t.timers);
    expect(t.sent).toHaveLength(1);
    const waits: Array<number | undefined> = [];
    for (let i = 0; i < 8; i++) waits.push(t.tick());
    expect(waits).toEqual([500, 1000, 2000, 4000, 8000, 16_000, 30_000, 30_000]);
    expect(t.sent).toHaveLength(9);
    expect(t.calls).toEqual([]);
    t.listen();
    t.tick();
    expect(t.calls).toEqual(['resync']);
    expect(t.tick()).toBeUndefined();
    // Another hello of its own (sent before) changes nothing now.
    t.payload(t.sent[0]!);
    expect(t.calls).toEqual(['resync']);
    stop();
    expect(t.unlistened()).toBe(1);
  });

  it('a LISTEN made again before the hello came back reloads once and ends the hellos', () => {
    const t = setUp();
    followChanges(t.source, t.target, silentLogger(), t.timers);
    t.resync();
    expect(t.calls).toEqual(['resync']);
    expect(t.tick()).toBeUndefined();
  });

  it('applies lease and machine changes; drops what it does not understand without throwing', () => {
    const t = setUp();
    t.listen();
    const stop = followChanges(t.source, t.target, silentLogger(), t.timers);
    expect(t.calls).toEqual(['resync']);
    expect(t.tick()).toBeUndefined();
    t.payload(JSON.stringify({ t: 'lease', ip: '198.18.0.100', mac: '02:00:00:00:00:01', clientId: null, hostname: null, state: 'active', expiresAt: 5, updatedAt: 4 }));
    t.payload('{"t":"machine","id":7}');
    for (const bad of ['', 'not json', '[]', '{"t":"hello"}', '{"t":"hello","token":"someone else"}', '{"t":"lease","ip":1}']) t.payload(bad);
    expect(t.calls).toEqual(['resync', 'lease 198.18.0.100', 'machines 7']);
    stop();
  });

  it('a reload that fails (the store not back yet) is tried again with backoff until it succeeds, and not after stop', () => {
    const t = setUp();
    let failures = 3;
    t.target.resync = () => {
      t.calls.push('resync');
      if (failures-- > 0) throw Object.assign(new Error('PostgreSQL unreachable'), { code: 'STORE_UNAVAILABLE' });
    };
    const stop = followChanges(t.source, t.target, silentLogger(), t.timers);
    t.resync();
    expect([t.tick(), t.tick(), t.tick(), t.tick()]).toEqual([1000, 2000, 4000, undefined]);
    expect(t.calls).toEqual(['resync', 'resync', 'resync', 'resync']);
    // Failing again later starts over at 1 s; stop() cancels the retry.
    failures = 1;
    t.resync();
    stop();
    expect(t.tick()).toBeUndefined();
  });

  it('a target that throws is logged, not thrown into the notification handler', () => {
    const t = setUp();
    t.listen();
    t.target.applyStoredLease = () => {
      throw new Error('bad row');
    };
    t.target.resync = () => {
      throw new Error('store down');
    };
    followChanges(t.source, t.target, silentLogger(), t.timers);
    expect(() => t.payload(JSON.stringify({ t: 'lease', ip: 'x', mac: 'y', state: 'active', expiresAt: 1, updatedAt: 1 }))).not.toThrow();
    expect(() => t.resync()).not.toThrow();
  });
});
