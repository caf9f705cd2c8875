import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { encodeAck, encodeData, encodeError, encodeOack, encodeRequest } from '../../src/tftp/packet.js';
import { settle } from './helpers/fake-clock.js';
import { seededRandom } from './helpers/memory-net.js';
import { memoryServer } from './helpers/memory-server.js';

describe('request flood', () => {
  it('100,000 random, mutated and truncated packets crash nothing; the server still serves', async () => {
    const s = await memoryServer({ settings: { maxTransfers: 64 } });
    const content = randomBytes(3000);
    s.files.set('mem/f', content);
    const random = seededRandom(20240607);
    const pick = (n: number) => Math.floor(random() * n);
    const templates = [
      encodeRequest({ op: 'rrq', filename: 'mem/f', mode: 'octet', options: { blksize: '1432', tsize: '0', windowsize: '16', timeout: '1' } }),
      encodeRequest({ op: 'rrq', filename: 'mem/f', mode: 'netascii' }),
      encodeRequest({ op: 'rrq', filename: '../../etc/passwd', mode: 'octet' }),
      encodeRequest({ op: 'wrq', filename: 'x', mode: 'octet' }),
      encodeAck(1),
      encodeAck(0),
      encodeData(1, Buffer.alloc(16)),
      encodeError(8, 'no'),
      encodeOack({ blksize: '8' }),
    ];
    const mutate = (): Buffer => {
      const kind = pick(4);
      if (kind === 0) {
        const b = Buffer.allocUnsafe(pick(700));
        for (let j = 0; j < b.length; j++) b[j] = pick(256);
        return b;
      }
      const t = Buffer.from(templates[pick(templates.length)]!);
      if (kind === 1) return t.subarray(0, pick(t.length + 1));
      if (kind === 2) {
        for (let j = pick(4); j >= 0; j--) t[pick(t.length)] = pick(256);
        return t;
      }
      return t;
    };
    let sockets = s.net.openSockets().filter((x) => x.peer);
    for (let i = 0; i < 100_000; i++) {
      const pkt = mutate();
      if (sockets.length > 0 && i % 4 === 0) {
        // Into a running transfer, from its client (the only sender a transfer socket hears).
        const t = sockets[pick(sockets.length)]!;
        s.net.inject(t.local, pkt, t.peer!);
      } else {
        s.net.inject(s.addr, pkt, { address: `198.18.${1 + pick(3)}.${1 + pick(250)}`, port: 1024 + pick(60000) });
      }
      if (i % 500 === 0) {
        // Let requests reach their transfers and 50 virtual ms pass (deliveries, retransmits).
        await settle();
        s.clock.advance(50);
        await settle();
        sockets = s.net.openSockets().filter((x) => x.peer);
      }
    }
    await s.drain();
    expect(s.server.activeTransfers).toBe(0);
    expect(s.server.stats.malformed).toBeGreaterThan(10_000);
    expect(s.server.stats.busy + s.server.stats.refused).toBeGreaterThan(0);
    const r = await s.fetch('mem/f', { blksize: '1000' });
    expect(r.complete).toBe(true);
    expect(r.data.equals(content)).toBe(true);
  });
});
