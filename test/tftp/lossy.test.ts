import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { OPCODE } from '../../src/tftp/packet.js';
import { memoryServer } from './helpers/memory-server.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const lossy = { drop: 0.1, duplicate: 0.1, reorder: 0.15, maxDelayMs: 2500 };

describe('transfers over a lossy network (seeded drop/duplicate/reorder, fake clock)', () => {
  it.each([
    [1, 1, 512],
    [2, 1, 1024],
    [3, 8, 512],
    [4, 16, 1432],
    [5, 4, 8],
  ])('seed %i, window %i, blksize %i: identical bytes, bounded retransmission', async (seed, windowsize, blksize) => {
    const s = await memoryServer({ seed, faults: lossy });
    const content = randomBytes(blksize * 120 + 17);
    s.files.set('mem/f', content);
    const options: Record<string, string> = { blksize: String(blksize), tsize: '0' };
    if (windowsize > 1) options.windowsize = String(windowsize);
    const r = await s.fetch('mem/f', options);
    expect(r.complete).toBe(true);
    expect(sha(r.data)).toBe(sha(content));
    expect(r.oack).toMatchObject({ tsize: String(content.length) });
    await s.drain();
    expect(s.records).toHaveLength(1);
    expect(s.records[0]).toMatchObject({ result: 'sent', bytes: content.length, blksize, windowsize });
    // Faults happened, yet retransmissions stay proportional to losses (no resend storm).
    expect(s.net.counts.dropped + s.net.counts.duplicated + s.net.counts.delayed).toBeGreaterThan(10);
    const blocks = Math.ceil(content.length / blksize);
    expect(s.net.counts.sent).toBeLessThan(blocks * 4 + 200);
  });

  it('sends exactly one packet per block and one OACK on a clean network', async () => {
    const s = await memoryServer();
    const content = randomBytes(512 * 30);
    s.files.set('mem/f', content);
    const r = await s.fetch('mem/f', { tsize: '0' });
    expect(sha(r.data)).toBe(sha(content));
    await s.drain();
    // Server: OACK + 31 DATA; client: RRQ + ACK 0 + 31 ACKs.
    expect(s.net.counts.sent).toBe(1 + 31 + 1 + 1 + 31);
  });

  it('serves netascii with CR LF line ends and no tsize', async () => {
    const s = await memoryServer();
    s.files.set('mem/t.txt', Buffer.from('line1\nline2\rend'));
    const r = await s.fetch('mem/t.txt', { tsize: '0' }, { mode: 'netascii' });
    expect(r.data.toString('latin1')).toBe('line1\r\nline2\r\0end');
    expect(r.oack).toBeUndefined();
  });

  it('ignores a retransmitted RRQ from the same client port (one transfer, not two)', async () => {
    const s = await memoryServer();
    s.files.set('mem/f', randomBytes(2000));
    const rrq = Buffer.from('\x00\x01mem/f\x00octet\x00', 'latin1');
    const client = { address: '198.18.0.9', port: 3333 };
    const seen: Buffer[] = [];
    const ep = s.net.open(client, (p) => seen.push(p));
    ep.send(rrq, s.addr);
    ep.send(rrq, s.addr);
    await s.run(() => seen.length >= 1);
    expect(s.server.stats.duplicates).toBe(1);
    expect(s.server.activeTransfers).toBe(1);
    ep.close();
  });
});

describe('limits and dynamic files', () => {
  it('refuses transfers past maxTransfers with a clear error, then serves again', async () => {
    const s = await memoryServer({ settings: { maxTransfers: 2 } });
    s.files.set('mem/f', randomBytes(5000));
    const answers: Buffer[][] = [[], [], []];
    const eps = answers.map((box, i) => s.net.open({ address: '198.18.0.60', port: 5000 + i }, (p) => box.push(p)));
    for (const ep of eps) ep.send(Buffer.from('\x00\x01mem/f\x00octet\x00', 'latin1'), s.addr);
    await s.run(() => answers.every((a) => a.length > 0));
    expect(answers[0]![0]!.readUInt16BE(0)).toBe(OPCODE.DATA);
    expect(answers[1]![0]!.readUInt16BE(0)).toBe(OPCODE.DATA);
    const busy = answers[2]![0]!;
    expect(busy.readUInt16BE(0)).toBe(OPCODE.ERROR);
    expect(busy.readUInt16BE(2)).toBe(0);
    expect(busy.toString('latin1', 4)).toContain('server busy: 2 transfers in progress (limit 2)');
    expect(s.records.find((r) => r.result === 'busy')).toBeDefined();
    for (const ep of eps) ep.close();
    await s.drain(); // the two silent clients time out
    expect(s.records.filter((r) => r.result === 'timeout')).toHaveLength(2);
    const r = await s.fetch('mem/f');
    expect(r.complete).toBe(true);
  });

  it('renders per-client content from an async handler, buffering a stream to announce tsize', async () => {
    const s = await memoryServer();
    const seen: Array<{ address: string; mac?: string }> = [];
    s.handlers.register({
      match: (p) => p.startsWith('grub/grub.cfg-01-'),
      open: async (path, client) => {
        seen.push(client);
        async function* render() {
          await new Promise((r) => setImmediate(r));
          yield Buffer.from(`# ${path}\n`);
          yield Buffer.from(`set mac=${client.mac ?? 'unknown'}\n`);
        }
        return { stream: render() };
      },
    });
    const r = await s.fetch('/grub/grub.cfg-01-52-54-00-00-00-77', { tsize: '0', blksize: '8' }, { address: '198.18.0.77' });
    const text = '# grub/grub.cfg-01-52-54-00-00-00-77\nset mac=52:54:00:00:00:77\n';
    expect(r.data.toString()).toBe(text);
    expect(r.oack).toEqual({ tsize: String(text.length), blksize: '8' });
    expect(seen[0]).toMatchObject({ address: '198.18.0.77', mac: '52:54:00:00:00:77' });
    await s.drain();
    expect(s.records[0]).toMatchObject({ result: 'sent', client: { mac: '52:54:00:00:00:77' } });
  });

  it('answers "file not found" when a handler has nothing, and error 0 when it throws', async () => {
    const s = await memoryServer();
    s.handlers.register({
      match: (p) => p === 'boom',
      open: async () => {
        throw new Error('template broken');
      },
    });
    expect((await s.fetch('mem/none')).error).toMatchObject({ code: 1 });
    expect((await s.fetch('boom')).error).toMatchObject({ code: 0, message: 'internal error' });
    await s.drain();
    expect(s.records.map((r) => r.result)).toEqual(['refused', 'source-error']);
    expect(s.records[1]!.error).toBe('template broken');
  });
});
