import { createSocket } from 'node:dgram';
import { readdirSync } from 'node:fs';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { type Datagram, type UdpEndpoint, openUdp } from '../../src/net/udp.js';
import { udpAddon } from '../../src/net/udp-native.js';
import { waitFor } from '../helpers/netns.js';

const open: UdpEndpoint[] = [];
const client = createSocket('udp4');
afterEach(async () => {
  for (const e of open.splice(0)) await e.close();
});
afterAll(() => client.close());

async function bindClient(): Promise<number> {
  try {
    return client.address().port;
  } catch {
    await new Promise<void>((r) => client.bind(0, '127.0.0.1', r));
    return client.address().port;
  }
}

function blockFor(ms: number): void {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    // Busy: the event loop cannot read the socket meanwhile.
  }
}

describe('the native UDP addon', () => {
  it('is built by npm ci', () => {
    expect(udpAddon).toBeDefined();
  });
});

describe.each([true, false])('openUdp (native %s)', (native) => {
  it('receives with the sender address and answers it', async () => {
    const got: Datagram[] = [];
    const ep = await openUdp({ host: '127.0.0.1', port: 0, native, onMessage: (d, e) => {
      got.push(d);
      e.send(Buffer.from(`re:${d.data.toString()}`), d.from.address, d.from.port);
    } });
    open.push(ep);
    const port = await bindClient();
    const replies: string[] = [];
    const onReply = (m: Buffer) => replies.push(m.toString());
    client.on('message', onReply);
    for (const word of ['one', 'two', 'three']) client.send(word, ep.port, '127.0.0.1');
    await waitFor('three replies', () => replies.length === 3, 5_000, 10);
    client.off('message', onReply);
    expect(got.map((d) => d.data.toString())).toEqual(['one', 'two', 'three']);
    expect(got[0]?.from).toEqual({ address: '127.0.0.1', port });
    expect(got[0]?.port).toBe(ep.port);
    expect(replies).toEqual(['re:one', 're:two', 're:three']);
  });
});

describe.skipIf(!udpAddon)('native socket specifics', () => {
  it('reports a failed send (broadcast without SO_BROADCAST) instead of throwing', async () => {
    const errors: Array<{ code?: string; address: string }> = [];
    const ep = await openUdp({ host: '127.0.0.1', port: 0, onMessage: () => {}, onSendError: (e, address) => errors.push({ code: (e as NodeJS.ErrnoException).code, address }) });
    open.push(ep);
    ep.send(Buffer.from('x'), '255.255.255.255', 9);
    await waitFor('send error', () => errors.length > 0, 5_000, 10);
    expect(errors[0]?.code).toBe('EACCES');
  });

  it('drops an oversized datagram and a stale one (queued past maxQueueMs), then serves fresh ones', async () => {
    const got: string[] = [];
    const dropped: string[] = [];
    const ep = await openUdp({
      host: '127.0.0.1',
      port: 0,
      maxQueueMs: 50,
      onMessage: (d) => got.push(d.data.toString()),
      onOversize: () => dropped.push('oversize'),
      onStale: () => dropped.push('stale'),
    });
    open.push(ep);
    await bindClient();
    client.send(Buffer.alloc(3000, 1), ep.port, '127.0.0.1');
    await waitFor('oversize drop', () => dropped.length === 1, 5_000, 10);
    client.send('old', ep.port, '127.0.0.1', () => blockFor(200));
    await waitFor('stale drop', () => dropped.length === 2, 5_000, 10);
    client.send('fresh', ep.port, '127.0.0.1');
    await waitFor('fresh one', () => got.length === 1, 5_000, 10);
    expect(dropped).toEqual(['oversize', 'stale']);
    expect(got).toEqual(['fresh']);
  });

  it('survives a handler that throws, and closing releases the descriptor', async () => {
    const fds = () => readdirSync('/proc/self/fd').length;
    const before = fds();
    const errors: string[] = [];
    const got: string[] = [];
    const ep = await openUdp({
      host: '127.0.0.1',
      port: 0,
      onMessage: (d) => {
        if (d.data.toString() === 'boom') throw new Error('handler bug');
        got.push(d.data.toString());
      },
      onSendError: (e) => errors.push(e.message),
    });
    await bindClient();
    client.send('boom', ep.port, '127.0.0.1');
    client.send('after', ep.port, '127.0.0.1');
    await waitFor('the next datagram', () => got.length === 1, 5_000, 10);
    expect(errors).toEqual(['handler bug']);
    await ep.close();
    await ep.close();
    ep.send(Buffer.from('late'), '127.0.0.1', 9);
    await waitFor('descriptor closed', () => fds() <= before, 5_000, 10);
  });
});
