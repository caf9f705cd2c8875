import { describe, expect, it, vi } from 'vitest';
import { IpmiDriver } from '../../src/bmc/ipmi/driver.js';
import type { Datagram, Timers } from '../../src/bmc/ipmi/transport.js';
import { Mutex, Semaphore } from '../../src/bmc/lock.js';
import { bmcSettingsSchema } from '../../src/bmc/settings.js';
import { silentLogger } from '../../src/log.js';

/** A BMC that never answers; counts datagrams. */
function silent(): { sent: Buffer[]; factory: () => Promise<Datagram> } {
  const sent: Buffer[] = [];
  return {
    sent,
    factory: async () => ({ send: (b) => sent.push(b), onMessage: () => {}, onError: () => {}, close: () => {} }),
  };
}

describe('IPMI retries and timeouts (fake clock)', () => {
  it('gives up after (retries + 1) × timeoutMs with BMC_TIMEOUT, one datagram per attempt', async () => {
    vi.useFakeTimers();
    try {
      const bmc = silent();
      const timers: Timers = { now: () => Date.now(), setTimeout: (f, ms) => setTimeout(f, ms), clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout) };
      const d = new IpmiDriver(
        { host: '198.18.0.99', username: 'u', password: 'p' },
        { settings: bmcSettingsSchema.parse({ timeoutMs: 2000, retries: 2 }), log: silentLogger(), limiter: new Semaphore(4), timers, datagrams: bmc.factory },
      );
      let settled: unknown;
      const p = d.status().catch((e: unknown) => {
        settled = e;
      });
      await vi.advanceTimersByTimeAsync(5999);
      expect(settled).toBeUndefined();
      expect(bmc.sent).toHaveLength(3);
      await vi.advanceTimersByTimeAsync(1);
      await p;
      expect(settled).toMatchObject({ code: 'BMC_TIMEOUT', details: { attempts: 3, timeoutMs: 2000 } });
      // Every attempt was a Get Channel Auth Capabilities (v1.5, cmd 0x38).
      expect(bmc.sent.every((b) => b[4] === 0 && b[19] === 0x38)).toBe(true);
    } finally {
      vi.useRealTimers();
    }
  });

  it('an unreachable port (ICMP refused) fails at once with BMC_UNREACHABLE', async () => {
    const d = new IpmiDriver(
      { host: '127.0.0.1', port: 9, username: 'u', password: 'p' },
      {
        settings: bmcSettingsSchema.parse({ timeoutMs: 60_000, retries: 0 }),
        log: silentLogger(),
        limiter: new Semaphore(1),
        datagrams: async () => {
          let err: (e: NodeJS.ErrnoException) => void = () => {};
          return {
            send: () => setImmediate(() => err(Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }))),
            onMessage: () => {},
            onError: (f) => {
              err = f;
            },
            close: () => {},
          };
        },
      },
    );
    await expect(d.status()).rejects.toMatchObject({ code: 'BMC_UNREACHABLE', details: { errno: 'ECONNREFUSED' } });
  });
});

describe('locks', () => {
  it('Mutex: operations on one BMC never interleave', async () => {
    const m = new Mutex();
    const trace: string[] = [];
    const op = (n: string) => m.run(async () => {
      trace.push(`${n}+`);
      await new Promise((r) => setTimeout(r, 5));
      trace.push(`${n}-`);
    });
    await Promise.all([op('a'), op('b'), op('c')]);
    expect(trace).toEqual(['a+', 'a-', 'b+', 'b-', 'c+', 'c-']);
  });
  it('Semaphore: the global limit holds under load', async () => {
    const s = new Semaphore(3);
    let peak = 0;
    await Promise.all(
      Array.from({ length: 20 }, () =>
        s.run(async () => {
          peak = Math.max(peak, s.inUse);
          await new Promise((r) => setTimeout(r, 2));
        }),
      ),
    );
    expect(peak).toBe(3);
    expect(s.inUse).toBe(0);
  });
});
