import { randomBytes } from 'node:crypto';
import { closeSync, fstatSync, mkdtempSync, openSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { silentLogger } from '../../src/log.js';
import { TftpHandlerRegistry } from '../../src/tftp/handlers.js';
import { type NativeSendOptions, nativeTftp, startNativeTransfer } from '../../src/tftp/native.js';
import { encodeOack, encodeRequest } from '../../src/tftp/packet.js';
import { type TransferRecord, TftpServer } from '../../src/tftp/server.js';
import { tftpSettingsSchema } from '../../src/tftp/settings.js';
import type { TransferResult } from '../../src/tftp/transfer.js';
import { sha256 } from './helpers/files.js';
import { nativeFixture } from './helpers/native-fixture.js';
import { LossyRelay, RealClient } from './helpers/udp.js';

const { file, client, close: closeClients } = nativeFixture('rb-tftp-native-');

/** Runs the addon on `path` (size defaults to the file's) toward `peer`; closes the fd after done. */
async function send(path: string, peer: { address: string; port: number }, o: Partial<NativeSendOptions> = {}): Promise<TransferResult> {
  const fd = openSync(path, 'r');
  try {
    const t = startNativeTransfer(nativeTftp!, {
      fd,
      size: fstatSync(fd).size,
      localAddress: '127.0.0.1',
      peerAddress: peer.address,
      peerPort: peer.port,
      blksize: 512,
      windowsize: 1,
      timeoutMs: 30,
      maxTimeoutMs: 200,
      retries: 10,
      ...o,
    });
    const r = await t.done;
    // The addon never closes the descriptor: JS owns it.
    expect(fstatSync(fd).size).toBeGreaterThanOrEqual(0);
    t.abort('after the end: a no-op');
    return r;
  } finally {
    closeSync(fd);
  }
}

const fdCount = () => readdirSync('/proc/self/fd').length;

async function until<T>(what: string, f: () => T | undefined, ms = 10_000): Promise<T> {
  for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, 10))) {
    const v = f();
    if (v !== undefined) return v;
  }
  throw new Error(`timed out waiting for ${what}`);
}

afterAll(() => {
  closeClients();
});

describe('native TFTP data path (rackboot-tftp addon) over real loopback UDP', () => {
  it('is built', () => {
    expect(nativeTftp).toBeDefined();
  });

  it.each([
    [1, 1, 512, false],
    [2, 1, 1432, true],
    [3, 8, 512, true],
    [4, 16, 1432, true],
    [5, 4, 8, false],
  ])('seed %i, window %i, blksize %i (OACK %s) through a lossy relay: identical bytes, bounded retransmission', async (seed, windowsize, blksize, withOack) => {
    const content = randomBytes(blksize * 300 + 17);
    const c = await client();
    const relay = await LossyRelay.open(c.local, seed, { drop: 0.08, duplicate: 0.08, reorder: 0.1, maxDelayMs: 15 });
    try {
      const oack = withOack ? encodeOack({ blksize: String(blksize), tsize: String(content.length) }) : undefined;
      const got = c.receive({ blksize, windowsize, timeoutMs: 50 });
      const r = await send(file(content), relay.serverSide, { blksize, windowsize, oack });
      const f = await got;
      expect(f.complete).toBe(true);
      expect(sha256(f.data)).toBe(sha256(content));
      expect(r).toMatchObject({ result: 'sent', bytes: content.length, blocks: Math.floor(content.length / blksize) + 1 });
      const faults = relay.counts.dropped + relay.counts.duplicated + relay.counts.delayed;
      expect(faults).toBeGreaterThan(10);
      // Resends stay proportional to faults: each one costs at most a window or two (a gap
      // resends the rest of its window, RFC 7440 §4); a duplicate ACK never resends, so there is
      // no Sorcerer's Apprentice storm (which would double the traffic per round).
      expect(relay.counts.fromServer).toBeLessThan(r.blocks + (faults + r.retransmits + 1) * windowsize * 2);
      expect(r.retransmits).toBeLessThan(r.blocks / 2);
    } finally {
      relay.close();
    }
  });

  it('rolls block numbers over 65535 → 0 at window 16 (blksize 8, 70,001 blocks)', async () => {
    const content = randomBytes(8 * 70_000 + 3);
    const c = await client();
    const got = c.receive({ blksize: 8, windowsize: 16 });
    const r = await send(file(content), c.local, { blksize: 8, windowsize: 16, timeoutMs: 200 });
    const f = await got;
    expect(sha256(f.data)).toBe(sha256(content));
    expect(r).toMatchObject({ result: 'sent', bytes: content.length, blocks: 70_001 });
  });

  it.each([0, 512, 1024])('sends a final empty or short block (%i bytes)', async (size) => {
    const content = randomBytes(size);
    const c = await client();
    const got = c.receive({ blksize: 512, windowsize: 1 });
    const r = await send(file(content), c.local);
    expect((await got).data.equals(content)).toBe(true);
    expect(r).toMatchObject({ result: 'sent', bytes: size, blocks: Math.floor(size / 512) + 1, retransmits: 0 });
  });

  it('ignores malformed and stray packets from the client mid-transfer (window 1 and 8)', async () => {
    const junk = [
      Buffer.alloc(0),
      Buffer.from([0]),
      Buffer.from([0, 4, 0]), // a truncated ACK
      Buffer.from([9, 4, 0, 1]), // not an opcode
      Buffer.from([0, 3, 0, 1, 1, 2, 3]), // DATA on a read transfer
      Buffer.from([0, 1, 0x66, 0, 0x6f, 0x63, 0x74, 0x65, 0x74, 0]), // an RRQ on the transfer port
      Buffer.from([0, 4, 0xfd, 0xe8]), // an ACK for block 65000, far beyond what was sent
      randomBytes(3000), // longer than the receive buffer
    ];
    for (const windowsize of [1, 8]) {
      const content = randomBytes(512 * 40 + 7);
      const c = await client();
      const got = c.receive({ blksize: 512, windowsize, junk });
      const r = await send(file(content), c.local, { windowsize });
      expect((await got).data.equals(content)).toBe(true);
      expect(r).toMatchObject({ result: 'sent', bytes: content.length, blocks: 41 });
    }
  });

  it('gives up with timeout after `retries` retransmissions when the client vanishes', async () => {
    const c = await client();
    const got = c.receive({ blksize: 512, windowsize: 1, vanishAfter: 5 });
    const r = await send(file(randomBytes(512 * 20)), c.local, { timeoutMs: 10, maxTimeoutMs: 40, retries: 3 });
    await got;
    expect(r).toMatchObject({ result: 'timeout', blocks: 5, bytes: 5 * 512, retransmits: 3, error: 'no ACK after 3 retransmissions' });
  });

  it('stops at once with closed when the client port is unreachable (ICMP)', async () => {
    const c = await RealClient.open();
    const got = c.receive({ blksize: 512, windowsize: 1, vanishAfter: 3 });
    const t = send(file(randomBytes(512 * 20)), c.local, { timeoutMs: 20, retries: 50 });
    await got;
    c.close();
    const r = await t;
    expect(r).toMatchObject({ result: 'closed', blocks: 3, error: 'client port unreachable' });
    expect(r.retransmits).toBeLessThan(5);
  });

  it.each([
    ['before the first block', 1000, 5000],
    ['after the first read-ahead chunk', 600 * 1024, 700 * 1024],
  ])('ends with source-error when the file reads short (%s) and tells the client', async (_when, real, size) => {
    const c = await client();
    const got = c.receive({ blksize: 512, windowsize: 1 });
    const r = await send(file(randomBytes(real)), c.local, { size });
    const f = await got;
    expect(r.result).toBe('source-error');
    expect(r.error).toMatch(/truncated/);
    expect(f.error).toMatchObject({ code: 0 });
    expect(f.error?.message).toMatch(/truncated/);
    expect(r.bytes).toBeLessThanOrEqual(real);
  });

  it('reports source-error when the transfer socket cannot be bound (address not local)', async () => {
    const r = await send(file(randomBytes(10)), { address: '127.0.0.1', port: 9 }, { localAddress: '198.18.255.254' });
    expect(r.result).toBe('source-error');
    expect(r.error).toMatch(/cannot open the transfer socket/);
  });

  it('refuses bad options with a TypeError', () => {
    expect(() => nativeTftp!.sendFile({ blksize: 0 } as unknown as NativeSendOptions, () => {})).toThrow(TypeError);
  });

  it('runs 50 transfers in parallel (all on the one loop thread)', async () => {
    const content = randomBytes(100 * 1024 + 5);
    const path = file(content);
    const runs = await Promise.all(
      Array.from({ length: 50 }, async () => {
        const c = await client();
        const got = c.receive({ blksize: 1432, windowsize: 4, timeoutMs: 500 });
        const r = await send(path, c.local, { blksize: 1432, windowsize: 4, timeoutMs: 500, maxTimeoutMs: 2000 });
        return { r, f: await got };
      }),
    );
    for (const { r, f } of runs) {
      expect(r.result).toBe('sent');
      expect(sha256(f.data)).toBe(sha256(content));
    }
  });
});

describe('TftpServer on the native path', () => {
  async function server(settings: Record<string, unknown> = {}) {
    const root = mkdtempSync(join(tmpdir(), 'rb-tftp-nroot-'));
    const records: TransferRecord[] = [];
    const s = new TftpServer({
      settings: tftpSettingsSchema.parse({ port: 0, ...settings }),
      root,
      log: silentLogger(),
      handlers: new TftpHandlerRegistry(),
      onTransfer: (r) => records.push(r),
    });
    const addr = await s.listen('127.0.0.1', 0);
    return { s, addr, root, records };
  }

  it('records options-declined when the client answers the OACK with ERROR 8', async () => {
    const spy = vi.spyOn(nativeTftp!, 'sendFile');
    const { s, addr, root, records } = await server();
    try {
      writeFileSync(join(root, 'f'), randomBytes(5000));
      const c = await client();
      const rrq = encodeRequest({ op: 'rrq', filename: 'f', mode: 'octet', options: { blksize: '1024', tsize: '0' } });
      const f = await c.receive({ request: { packet: rrq, to: addr }, blksize: 1024, windowsize: 1, declineOack: true });
      expect(f.oack).toEqual({ blksize: '1024', tsize: '5000' });
      const rec = await until('the record', () => records[0]);
      expect(rec).toMatchObject({ file: 'f', result: 'options-declined', bytes: 0, blksize: 1024 });
      expect(rec.error).toMatch(/^client error 8/);
      expect(spy).toHaveBeenCalledTimes(1);
    } finally {
      spy.mockRestore();
      await s.close();
    }
  });

  it('keeps netascii, handlers and nativeTransfers: false on the TS path', async () => {
    const spy = vi.spyOn(nativeTftp!, 'sendFile');
    const { s, addr, root, records } = await server({ nativeTransfers: false });
    try {
      writeFileSync(join(root, 'f'), randomBytes(3000));
      const c = await client();
      const f = await c.receive({ request: { packet: encodeRequest({ op: 'rrq', filename: 'f', mode: 'octet' }), to: addr }, blksize: 512, windowsize: 1 });
      expect(f.data.length).toBe(3000);
      await until('the record', () => records[0]);
      expect(records[0]).toMatchObject({ result: 'sent', bytes: 3000 });
      expect(spy).not.toHaveBeenCalled();
    } finally {
      spy.mockRestore();
      await s.close();
    }
  });

  it('aborts a running transfer on close() with closed, an ERROR to the client and no leaked descriptors', async () => {
    const before = fdCount();
    const { s, addr, root, records } = await server();
    writeFileSync(join(root, 'big'), randomBytes(1024 * 1024));
    const c = await RealClient.open();
    const errors: Buffer[] = [];
    const got = c.receive({ request: { packet: encodeRequest({ op: 'rrq', filename: 'big', mode: 'octet' }), to: addr }, blksize: 512, windowsize: 1, vanishAfter: 10 });
    await got;
    c.sock.on('message', (m) => {
      if (m.readUInt16BE(0) === 5) errors.push(m);
    });
    expect(s.activeTransfers).toBe(1);
    await s.close();
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ result: 'closed', error: 'server shutting down' });
    // bytes counts what the native loop saw acknowledged: the client's 10th ACK can still be
    // in flight to it when close() aborts.
    expect([9 * 512, 10 * 512]).toContain(records[0]!.bytes);
    await until('the ERROR packet', () => errors[0]);
    expect(errors[0]!.subarray(4, -1).toString()).toBe('server shutting down');
    c.close();
    // The file handle closes asynchronously; sockets and the file must all be gone.
    await until('descriptors to be released', () => (fdCount() <= before ? true : undefined));
    expect(fdCount()).toBeLessThanOrEqual(before);
  });
});
