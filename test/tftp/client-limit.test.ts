import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OPCODE } from '../../src/tftp/packet.js';
import { TestNet, waitFor } from '../helpers/netns.js';
import { memoryServer } from './helpers/memory-server.js';

const HELPERS = resolve(import.meta.dirname, 'helpers');
const FLOODER = '198.18.0.10';
const OTHER = '198.18.0.11';

/** Collects a child's stdout lines. */
function lines(p: ChildProcess): string[] {
  const out: string[] = [];
  let buf = '';
  p.stdout?.on('data', (d: Buffer) => {
    buf += d.toString();
    const parts = buf.split('\n');
    buf = parts.pop() ?? '';
    out.push(...parts);
  });
  return out;
}

describe('TFTP per-client transfer limit (simulated network)', () => {
  it('drops the 5th concurrent request of one address unanswered, counts it, and serves other addresses', async () => {
    const s = await memoryServer({ settings: { maxTransfersPerClient: 4 } });
    s.files.set('mem/f', Buffer.alloc(5000, 1));
    const answers: Buffer[][] = Array.from({ length: 6 }, () => []);
    const eps = answers.map((box, i) => s.net.open({ address: '198.18.0.70', port: 6000 + i }, (p) => box.push(p)));
    for (const ep of eps) ep.send(Buffer.from('\x00\x01mem/f\x00octet\x00', 'latin1'), s.addr);
    await s.run(() => answers.slice(0, 4).every((a) => a.length > 0));
    expect(answers.slice(0, 4).map((a) => a[0]!.readUInt16BE(0))).toEqual([OPCODE.DATA, OPCODE.DATA, OPCODE.DATA, OPCODE.DATA]);
    expect(answers.slice(4).map((a) => a.length)).toEqual([0, 0]);
    expect(s.server.stats.clientLimited).toBe(2);
    expect(s.server.stats.busy).toBe(0);
    const other = await s.fetch('mem/f', {}, { address: '198.18.0.71' });
    expect(other.complete).toBe(true);
    for (const ep of eps) ep.close();
    await s.drain();
    // Once the silent transfers time out, the address gets slots again.
    expect((await s.fetch('mem/f', {}, { address: '198.18.0.70', port: 7000 })).complete).toBe(true);
  });
});

/**
 * Issue #15: about 30 unanswered RRQs/s from one host kept all slots busy. Here one host sends
 * 1,000 RRQs from 1,000 ports and ACKs nothing; the global cap is set to 200 so that, without
 * the per-client cap, the flood alone would fill it. Another address still gets its file.
 */
describe('TFTP per-client transfer limit (1,000 never-ACKed RRQs from one host)', () => {
  let net: TestNet;
  let server: ChildProcess;
  let serverOut: string[];
  const root = mkdtempSync(join(tmpdir(), 'rb-tftp-limit-'));
  const body = Buffer.alloc(200_000, 7);

  beforeAll(async () => {
    writeFileSync(join(root, 'boot.bin'), body);
    net = await TestNet.create('tftpl');
    // OTHER first: it is the primary address, the source tftp-hpa's socket gets.
    await net.exec(net.cli, 'ip', ['addr', 'add', `${OTHER}/24`, 'dev', 'eth0']);
    await net.exec(net.cli, 'ip', ['addr', 'add', `${FLOODER}/24`, 'dev', 'eth0']);
    const settings = { host: net.serverIp, port: 69, maxTransfers: 200, maxTransfersPerClient: 4 };
    server = net.spawn(net.srv, process.execPath, ['--import', 'tsx', join(HELPERS, 'tftp-only.ts'), root, JSON.stringify(settings)]);
    serverOut = lines(server);
    await waitFor('tftp server', () => serverOut.includes('listening'), 30_000);
  }, 60_000);

  afterAll(async () => {
    await net?.destroy();
  });

  it('holds the flooder to 4 transfers and serves another client meanwhile', async () => {
    const flood = net.spawn(net.cli, process.execPath, ['--import', 'tsx', join(HELPERS, 'rrq-flood.ts'), net.serverIp, '69', FLOODER, '1000', 'boot.bin', '3000', '30000']);
    const floodOut = lines(flood);
    const summary = JSON.parse(await waitFor('flood summary', () => floodOut[0], 30_000)) as { sent: number; transfers: number; errors: number };
    expect(summary.sent).toBe(1000);
    expect(summary.transfers).toBeLessThanOrEqual(4);
    expect(summary.transfers).toBeGreaterThanOrEqual(1);

    // The flooder's sockets are still open and its transfers still retransmitting.
    const out = join(root, 'fetched.bin');
    const started = Date.now();
    await net.exec(net.cli, 'tftp', ['-m', 'binary', net.serverIp, '-c', 'get', 'boot.bin', out], 20_000);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(readFileSync(out).equals(body)).toBe(true);

    const seen = serverOut.length;
    const line = await waitFor('server stats', () => serverOut.slice(seen).find((l) => l.startsWith('{')), 10_000);
    const stats = JSON.parse(line) as Record<string, number>;
    // Some of the burst overflows the request socket's receive buffer in the kernel; of what
    // arrives, all but the first 4 are dropped by the limit.
    expect(stats.clientLimited).toBeGreaterThanOrEqual(500);
    expect(stats.busy).toBe(0);
    expect(stats.active).toBeLessThanOrEqual(4);
    flood.kill('SIGKILL');
  }, 90_000);
});
