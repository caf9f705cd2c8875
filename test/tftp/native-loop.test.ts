import { randomBytes } from 'node:crypto';
import { closeSync, fstatSync, openSync, readdirSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { type NativeSendOptions, nativeTftp } from '../../src/tftp/native.js';
import { decodeTftpPacket, encodeAck, encodeOack } from '../../src/tftp/packet.js';
import type { TransferResult } from '../../src/tftp/transfer.js';
import { sha256 } from './helpers/files.js';
import { nativeFixture } from './helpers/native-fixture.js';
import { loopbackSocket } from './helpers/udp.js';

/*
 * Issue #21: the native data path runs every transfer on one event-loop thread (epoll, timer
 * heap, round-robin bursts), so a boot storm costs a bounded number of threads. Loopback only.
 */

const { file, client, close: closeClients } = nativeFixture('rb-tftp-loop-');
const fds: number[] = [];

/** A started transfer: its result, how often done ran, and abort. */
interface Started {
  result: Promise<TransferResult>;
  calls: () => number;
  abort: (reason?: string) => void;
}

/** Starts the addon on `path` toward `peer` with every done() call counted; fds close in afterAll. */
function start(path: string, peer: { address: string; port: number }, o: Partial<NativeSendOptions> = {}): Started {
  const fd = openSync(path, 'r');
  fds.push(fd);
  const size = o.size ?? fstatSync(fd).size;
  let calls = 0;
  let resolve!: (r: TransferResult) => void;
  const result = new Promise<TransferResult>((r) => {
    resolve = r;
  });
  const handle = nativeTftp!.sendFile(
    {
      fd,
      size,
      localAddress: '127.0.0.1',
      peerAddress: peer.address,
      peerPort: peer.port,
      blksize: 512,
      windowsize: 1,
      timeoutMs: 50,
      maxTimeoutMs: 400,
      retries: 10,
      ...o,
    },
    (r) => {
      calls++;
      resolve(r);
    },
  );
  return { result, calls: () => calls, abort: (reason) => handle.abort(reason) };
}

const threadCount = () => readdirSync('/proc/self/task').length;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, f: () => T | undefined, ms = 10_000): Promise<T> {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(5)) {
    const v = f();
    if (v !== undefined) return v;
  }
  throw new Error(`timed out waiting for ${what}`);
}

afterAll(() => {
  closeClients();
  for (const fd of fds) closeSync(fd);
});

describe('native TFTP event loop: every transfer on one thread', () => {
  it('runs 200 concurrent transfers to completion with a bounded number of threads, none starved', async () => {
    // Warm up: the loop thread and libuv's pool exist before the baseline is read.
    const warm = await client();
    const warmPath = file(randomBytes(3000));
    const warmGot = warm.receive({ blksize: 512, windowsize: 1 });
    expect((await start(warmPath, warm.local).result).result).toBe('sent');
    await warmGot;
    const before = threadCount();

    const kinds = [
      { blksize: 512, windowsize: 1 },
      { blksize: 1432, windowsize: 4 },
      { blksize: 1024, windowsize: 16 },
    ];
    const runs = await Promise.all(
      Array.from({ length: 200 }, async (_, i) => {
        const content = randomBytes(64 * 1024 + i);
        const kind = kinds[i % kinds.length]!;
        return { content, kind, path: file(content), c: await client() };
      }),
    );
    let peak = before;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        peak = Math.max(peak, threadCount());
        await sleep(2);
      }
    })();
    // Round-robin turns, counted rather than timed: by the time half of the transfers have
    // completed, every other one has received DATA (served in turn; a queue served one transfer
    // after another would leave the later half without a single datagram).
    const received = runs.map(() => 0);
    let completed = 0;
    let atHalfDone: number[] | undefined;
    const done = await Promise.all(
      runs.map(async ({ content, kind, path, c }, i) => {
        c.sock.on('message', () => {
          received[i]!++;
        });
        const got = c.receive({ ...kind, timeoutMs: 200 }).then((f) => {
          if (++completed === runs.length / 2) atHalfDone = [...received];
          return f;
        });
        const s = start(path, c.local, { ...kind, timeoutMs: 200, maxTimeoutMs: 1000 });
        const [r, f] = await Promise.all([s.result, got]);
        return { r, f, content, s, kind };
      }),
    );
    sampling = false;
    await sampler;

    for (const { r, f, content, s } of done) {
      expect(r.result).toBe('sent');
      expect(r.bytes).toBe(content.length);
      expect(f.complete).toBe(true);
      expect(sha256(f.data)).toBe(sha256(content));
      expect(s.calls()).toBe(1);
    }
    expect(atHalfDone?.filter((n) => n === 0)).toEqual([]);
    // One loop thread for all: a thread per transfer would have added ~200 here.
    expect(peak - before).toBeLessThanOrEqual(2);
  }, 60_000);

  it('aborts mid-transfer: closed with the reason, an ERROR to the client, done once, later aborts are no-ops', async () => {
    const c = await client();
    const errors: string[] = [];
    c.sock.on('message', (m) => {
      if (m.readUInt16BE(0) === 5) errors.push(m.subarray(4, -1).toString());
    });
    const content = randomBytes(4 * 1024 * 1024);
    const got = c.receive({ blksize: 512, windowsize: 1, timeoutMs: 200 });
    const s = start(file(content), c.local, { timeoutMs: 500 });
    await until('20 blocks', () => (c.received >= 20 ? true : undefined));
    s.abort('operator abort');
    s.abort('a second abort');
    const r = await s.result;
    expect(r).toMatchObject({ result: 'closed', error: 'operator abort' });
    expect(r.bytes).toBeGreaterThanOrEqual(19 * 512);
    expect(r.bytes).toBeLessThan(content.length);
    const f = await got;
    expect(f.complete).toBe(false);
    expect(errors).toEqual(['operator abort']);
    s.abort('after the end');
    await sleep(100);
    expect(s.calls()).toBe(1);
  });

  it('aborts a transfer right after it was started (before the loop ran it)', async () => {
    const c = await client();
    const s = start(file(randomBytes(100_000)), c.local);
    s.abort('at once');
    const r = await s.result;
    expect(r).toMatchObject({ result: 'closed', error: 'at once' });
    await sleep(50);
    expect(s.calls()).toBe(1);
  });

  it('aborting half of 40 running transfers leaves the other half complete and byte-identical', async () => {
    const content = randomBytes(512 * 1024 + 3);
    const path = file(content);
    const runs = await Promise.all(
      Array.from({ length: 40 }, async () => {
        const c = await client();
        const got = c.receive({ blksize: 512, windowsize: 2, timeoutMs: 200 });
        return { c, got, s: start(path, c.local, { windowsize: 2, timeoutMs: 300 }) };
      }),
    );
    await until('every transfer under way', () => (runs.every((r) => r.c.received > 4) ? true : undefined));
    runs.forEach((r, i) => {
      if (i % 2 === 0) r.s.abort(`abort ${i}`);
    });
    for (const [i, { s, got }] of runs.entries()) {
      const r = await s.result;
      if (i % 2 === 0) {
        expect(r).toMatchObject({ result: 'closed', error: `abort ${i}` });
      } else {
        expect(r.result).toBe('sent');
        expect(sha256((await got).data)).toBe(sha256(content));
      }
    }
    await sleep(50);
    expect(runs.every((r) => r.s.calls() === 1)).toBe(true);
  }, 30_000);

  it('peers that stop ACKing time out after their retries with backoff, reported once each, beside live transfers', async () => {
    const content = randomBytes(512 * 40);
    const path = file(content);
    const runs = await Promise.all(
      Array.from({ length: 20 }, async (_, i) => {
        const c = await client();
        const vanish = i % 2 === 0;
        const got = c.receive({ blksize: 512, windowsize: 1, ...(vanish ? { vanishAfter: 5 } : {}) });
        // 100 ms first timeout: at 20 ms a live peer slowed by a loaded machine (CI, 2 cores) drew
        // retransmissions before the vanishing ones stopped, and the counts below came out otherwise.
        return { vanish, got, s: start(path, c.local, { timeoutMs: 100, maxTimeoutMs: 400, retries: 3 }) };
      }),
    );
    for (const { vanish, got, s } of runs) {
      const r = await s.result;
      await got;
      if (vanish) {
        expect(r).toMatchObject({ result: 'timeout', blocks: 5, retransmits: 3, error: 'no ACK after 3 retransmissions' });
        // 100 + 200 + 400 + 400 ms of waiting (the timeout doubles up to maxTimeoutMs).
        expect(r.ms).toBeGreaterThanOrEqual(1000);
      } else {
        expect(r).toMatchObject({ result: 'sent', bytes: content.length });
      }
    }
    await sleep(500);
    expect(runs.every((r) => r.s.calls() === 1)).toBe(true);
  });

  it.each([
    [1, false],
    [1, true],
    [4, true],
  ])('duplicate and stale ACKs never trigger a resend (window %i, OACK %s): one DATA datagram per block, none numbered 0', async (windowsize, withOack) => {
    const content = randomBytes(512 * 60 + 11);
    const { sock, local } = await loopbackSocket();
    try {
      let datagrams = 0;
      let expected = 1;
      const chunks: Buffer[] = [];
      const complete = new Promise<void>((resolve) => {
        sock.on('message', (m, rinfo) => {
          const p = decodeTftpPacket(m);
          if (p.op === 'oack') {
            for (let k = 0; k < 2; k++) sock.send(encodeAck(0), rinfo.port, rinfo.address);
            return;
          }
          if (p.op !== 'data') return;
          datagrams++;
          if (p.block !== expected) return;
          chunks.push(Buffer.from(p.data));
          expected++;
          const last = p.data.length < 512;
          if (last || p.block % windowsize === 0) {
            // Every ACK three times, then a stale one and a malformed one.
            for (let k = 0; k < 3; k++) sock.send(encodeAck(p.block), rinfo.port, rinfo.address);
            sock.send(encodeAck(Math.max(0, p.block - windowsize)), rinfo.port, rinfo.address);
            sock.send(Buffer.from([0, 4, 1]), rinfo.port, rinfo.address);
          }
          if (last) resolve();
        });
      });
      const oack = withOack ? encodeOack({ blksize: '512', windowsize: String(windowsize) }) : undefined;
      const s = start(file(content), local, { windowsize, timeoutMs: 2000, maxTimeoutMs: 2000, oack });
      const r = await s.result;
      await complete;
      expect(r).toMatchObject({ result: 'sent', bytes: content.length, blocks: 61, retransmits: 0 });
      expect(Buffer.concat(chunks).equals(content)).toBe(true);
      await sleep(50);
      expect(datagrams).toBe(61);
    } finally {
      sock.close();
    }
  });
});
