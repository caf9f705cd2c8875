import { createSocket } from 'node:dgram';
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.js';
import { TftpHandlerRegistry } from '../../src/tftp/handlers.js';
import { type TftpPacket, decodeTftpPacket, encodeError, encodeRequest } from '../../src/tftp/packet.js';
import { type TransferRecord, TftpServer } from '../../src/tftp/server.js';
import { tftpSettingsSchema } from '../../src/tftp/settings.js';
import type { UdpPeer } from '../../src/tftp/udp.js';

/** Sends one datagram from a fresh loopback socket and returns the first answer. */
async function ask(to: UdpPeer, packet: Buffer): Promise<TftpPacket> {
  const sock = createSocket('udp4');
  try {
    return await new Promise<TftpPacket>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no answer within 10 s')), 10_000);
      sock.once('message', (msg, rinfo) => {
        clearTimeout(timer);
        // End a started transfer politely so the server does not retransmit.
        sock.send(encodeError(0, 'test done'), rinfo.port, rinfo.address);
        resolve(decodeTftpPacket(msg));
      });
      sock.bind(0, '127.0.0.1', () => sock.send(packet, to.port, to.address));
    });
  } finally {
    setTimeout(() => sock.close(), 50);
  }
}

const rrq = (filename: string, mode = 'octet') => encodeRequest({ op: 'rrq', filename, mode });
const raw = (s: string) => Buffer.from(s, 'latin1');

describe('hostile requests over real UDP (127.0.0.1)', () => {
  const root = mkdtempSync(join(tmpdir(), 'rb-tftp-hostile-'));
  const outside = mkdtempSync(join(tmpdir(), 'rb-tftp-outside-'));
  const records: TransferRecord[] = [];
  let server: TftpServer;
  let addr: UdpPeer;

  beforeAll(async () => {
    writeFileSync(join(outside, 'secret'), 'TOP SECRET');
    writeFileSync(join(root, 'ok.txt'), 'hello');
    mkdirSync(join(root, 'sub'));
    writeFileSync(join(root, 'sub', 'ok2.txt'), 'hello2');
    symlinkSync(join(outside, 'secret'), join(root, 'escape'));
    symlinkSync(outside, join(root, 'escdir'));
    symlinkSync('sub/ok2.txt', join(root, 'inside'));
    execFileSync('mkfifo', [join(root, 'fifo')]);
    server = new TftpServer({
      settings: tftpSettingsSchema.parse({ port: 0 }),
      root,
      log: silentLogger(),
      handlers: new TftpHandlerRegistry(),
      onTransfer: (r) => records.push(r),
    });
    addr = await server.listen('127.0.0.1', 0);
  });
  afterAll(async () => {
    await server.close();
  });

  it.each([
    ['ok.txt', 'hello'],
    ['/ok.txt', 'hello'],
    ['sub\\ok2.txt', 'hello2'],
    ['\\sub\\ok2.txt', 'hello2'],
    ['inside', 'hello2'],
  ])('serves %j', async (filename, text) => {
    const p = await ask(addr, rrq(filename));
    expect(p).toMatchObject({ op: 'data', block: 1 });
    expect(p.op === 'data' && p.data.toString()).toBe(text);
  });

  it.each([
    ['dot-dot', rrq('../../../../etc/passwd'), 2],
    ['dot-dot inside a path', rrq('sub/../../etc/passwd'), 2],
    ['backslash dot-dot', rrq('..\\..\\etc\\passwd'), 2],
    ['absolute path (root-relative: not the host file)', rrq('/etc/passwd'), 1],
    ['drive letter', rrq('C:\\Windows\\win.ini'), 2],
    ['symlink leaving the root', rrq('escape'), 2],
    ['directory symlink leaving the root', rrq('escdir/secret'), 2],
    ['over-long name', rrq('a/'.repeat(200)), 2],
    ['control character', rrq('ok.txt\x01'), 2],
    ['NUL inside the name (ends the field: the rest is no mode)', raw('\x00\x01ok.txt\x00../../etc/passwd\x00octet\x00'), 4],
    ['a directory', rrq('sub'), 1],
    ['a FIFO', rrq('fifo'), 1],
    ['missing file', rrq('nope.efi'), 1],
    ['write request', encodeRequest({ op: 'wrq', filename: 'ok.txt', mode: 'octet' }), 2],
    ['mail mode', rrq('ok.txt', 'mail'), 4],
  ])('refuses %s with error %i', async (_name, packet, code) => {
    const p = await ask(addr, packet);
    expect(p).toMatchObject({ op: 'error', code });
    expect(p.op === 'error' && p.message.length).toBeGreaterThan(0);
  });

  it('recorded every refusal for the boot trace', () => {
    expect(records.filter((r) => r.result === 'refused').length).toBeGreaterThanOrEqual(15);
    expect(records.some((r) => r.client.address === '127.0.0.1')).toBe(true);
  });
});
