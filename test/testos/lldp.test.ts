import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lldpNeighbourSchema } from '../../src/http/routes/inspect-report.js';

/**
 * The inspection image's LLDP reader (boot-assets/testos/lldp.c), compiled here as the boot-assets
 * build compiles it: crafted LLDPDUs through its parse mode (-p), every truncation and random
 * mutations of a valid one (it must never crash, and whatever it prints must pass the report's
 * schema), then a real LLDP sender: Debian's lldpd in a network namespace on a veth pair.
 */
const ROOT = resolve(import.meta.dirname, '../..');
const run = promisify(execFile);
let dir: string;
let bin: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'rb-lldp-'));
  bin = join(dir, 'rackboot-lldp');
  execFileSync('gcc', ['-std=c11', '-O2', '-Wall', '-Wextra', '-Werror', '-static', '-o', bin, join(ROOT, 'boot-assets/testos/lldp.c')]);
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

// --- LLDPDU builders (IEEE 802.1AB §8: 7-bit type, 9-bit length, information string) ---
const bytes = (...parts: Array<Buffer | number[] | string>) => Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : Buffer.from(p))));
function tlv(type: number, value: Buffer, len = value.length): Buffer {
  return Buffer.concat([Buffer.from([(type << 1) | (len >> 8), len & 0xff]), value]);
}
const MAC = [0x0c, 0x42, 0xa1, 0x00, 0x07, 0x01];
const chassisMac = tlv(1, bytes([4], MAC));
const portName = (name: string) => tlv(2, bytes([5], name));
const ttl = (s: number) => tlv(3, Buffer.from([s >> 8, s & 0xff]));
const portDesc = (s: string | Buffer) => tlv(4, bytes(s));
const sysName = (s: string | Buffer) => tlv(5, bytes(s));
/** Management Address TLV (§8.5.9): IPv4 (family 1), ifIndex numbering, no OID. */
const mgmtV4 = (a: number[]) => tlv(8, bytes([5, 1], a, [2, 0, 0, 0, 7, 0]));
const END = tlv(0, Buffer.alloc(0));
const FULL = bytes(chassisMac, portName('swp7'), ttl(120), portDesc('to node 7'), sysName('leaf-r7'), tlv(6, bytes('Cumulus Linux')), mgmtV4([198, 18, 0, 250]), END);
const FULL_JSON = { chassisId: '0c:42:a1:00:07:01', portId: 'swp7', systemName: 'leaf-r7', portDescription: 'to node 7', managementAddress: '198.18.0.250' };

/** Runs the parse mode over LLDPDUs; one parsed line per LLDPDU (null or the neighbour). */
async function parse(pdus: Buffer[]): Promise<unknown[]> {
  const input = Buffer.concat(pdus.map((p) => Buffer.concat([Buffer.from([p.length >> 8, p.length & 0xff]), p])));
  const file = join(dir, `in-${randomBytes(4).toString('hex')}`);
  writeFileSync(file, input);
  const { stdout } = await run('sh', ['-c', `exec "$0" -p < "$1"`, bin, file], { maxBuffer: 64 * 1024 * 1024 });
  const lines = stdout.split('\n').filter(Boolean);
  expect(lines).toHaveLength(pdus.length);
  return lines.map((l) => JSON.parse(l));
}

describe('rackboot-lldp: parsing LLDPDUs', () => {
  it.each([
    ['a full LLDPDU', FULL, FULL_JSON],
    ['mandatory TLVs only, no End TLV', bytes(chassisMac, portName('Ethernet1/7'), ttl(120)), { chassisId: '0c:42:a1:00:07:01', portId: 'Ethernet1/7' }],
    ['Ethernet padding after End', bytes(chassisMac, portName('p1'), ttl(120), END, Buffer.alloc(20)), { chassisId: '0c:42:a1:00:07:01', portId: 'p1' }],
    [
      'chassis by IPv6 address, port by MAC, IPv6 management address',
      bytes(tlv(1, bytes([5, 2], [0x20, 0x01, 0x0d, 0xb8], Buffer.alloc(11), [1])), tlv(2, bytes([3], MAC)), ttl(30), tlv(8, bytes([17, 2], [0x20, 0x01, 0x0d, 0xb8], Buffer.alloc(11), [2], [2, 0, 0, 0, 1, 0])), END),
      { chassisId: '2001:db8::1', portId: '0c:42:a1:00:07:01', managementAddress: '2001:db8::2' },
    ],
    ['chassis component, locally assigned port', bytes(tlv(1, bytes([1], 'SN-4411')), tlv(2, bytes([7], '17')), ttl(1), END), { chassisId: 'SN-4411', portId: '17' }],
    ['a MAC subtype that is not 6 bytes: hex', bytes(tlv(1, bytes([4], [1, 2, 3])), portName('p'), ttl(9), END), { chassisId: '010203', portId: 'p' }],
    ['a reserved chassis subtype: hex', bytes(tlv(1, bytes([0], 'ab')), portName('p'), ttl(9), END), { chassisId: '6162', portId: 'p' }],
    ['the second management address is not kept', bytes(chassisMac, portName('p'), ttl(9), mgmtV4([198, 18, 0, 1]), mgmtV4([198, 18, 0, 2]), END), { chassisId: '0c:42:a1:00:07:01', portId: 'p', managementAddress: '198.18.0.1' }],
    ['a management TLV whose lengths do not add up: ignored', bytes(chassisMac, portName('p'), ttl(9), tlv(8, bytes([33, 1, 198, 18, 0, 1])), sysName('s'), END), { chassisId: '0c:42:a1:00:07:01', portId: 'p', systemName: 's' }],
    [
      'control characters, invalid UTF-8, quotes; valid UTF-8 and padding',
      bytes(chassisMac, portName('p'), ttl(9), sysName(bytes('a"b\\c', [0x01, 0x0a, 0xff, 0xc3], 'Schalter-Ü', [0xed, 0xa0, 0x80], '  ', [0, 0])), END),
      { chassisId: '0c:42:a1:00:07:01', portId: 'p', systemName: 'a"b\\c????Schalter-Ü???' },
    ],
    ['a 255-octet system name', bytes(chassisMac, portName('p'), ttl(9), sysName('n'.repeat(255)), END), { chassisId: '0c:42:a1:00:07:01', portId: 'p', systemName: 'n'.repeat(255) }],
    ['an oversized system name TLV (511 octets): 255 kept', bytes(chassisMac, portName('p'), ttl(9), sysName('n'.repeat(511)), END), { chassisId: '0c:42:a1:00:07:01', portId: 'p', systemName: 'n'.repeat(255) }],
    ['TTL 0 (the neighbour shuts down)', bytes(chassisMac, portName('p'), ttl(0), END), null],
    ['Port ID first', bytes(portName('p'), chassisMac, ttl(9), END), null],
    ['no TTL', bytes(chassisMac, portName('p'), sysName('s'), END), null],
    ['End before the TTL', bytes(chassisMac, portName('p'), END, ttl(9)), null],
    ['a second Chassis ID', bytes(chassisMac, portName('p'), ttl(9), chassisMac, END), null],
    ['a Chassis ID of the subtype alone', bytes(tlv(1, Buffer.from([4])), portName('p'), ttl(9), END), null],
    ['a TTL of one octet', bytes(chassisMac, portName('p'), tlv(3, Buffer.from([9])), END), null],
    ['a TLV longer than the frame', bytes(chassisMac, portName('p'), ttl(9), tlv(5, bytes('short'), 200)), null],
    ['a lone header octet', bytes(chassisMac, portName('p'), ttl(9), [0x0a]), { chassisId: '0c:42:a1:00:07:01', portId: 'p' }],
    ['empty', Buffer.alloc(0), null],
  ])('%s', async (_what, pdu, want) => {
    expect(await parse([pdu])).toEqual([want]);
  });

  it('never crashes on any truncation or on random mutations, and what it prints passes the report schema', async () => {
    const pdus: Buffer[] = [];
    for (let n = 0; n <= FULL.length; n++) pdus.push(FULL.subarray(0, n));
    // Deterministic mutations (xorshift): flipped, inserted and deleted bytes, length fields hit too.
    let s = 0x2f6b_1d3a;
    const rnd = (m: number) => {
      s ^= s << 13;
      s ^= s >>> 17;
      s ^= s << 5;
      return (s >>> 0) % m;
    };
    for (let i = 0; i < 3000; i++) {
      const b = Buffer.from(FULL);
      for (let k = 1 + rnd(6); k > 0; k--) b[rnd(b.length)] = rnd(256);
      const cut = rnd(4) === 0 ? rnd(b.length) : b.length;
      pdus.push(rnd(3) === 0 ? Buffer.concat([b.subarray(0, cut), randomBytes(rnd(600))]) : b.subarray(0, cut));
    }
    const out = await parse(pdus);
    for (let n = 0; n < 20; n++) expect(out[n]).toBeNull(); // cut inside the mandatory TLVs (20 octets)
    expect(out[FULL.length]).toEqual(FULL_JSON);
    for (const o of out) if (o !== null) expect(lldpNeighbourSchema.parse(o)).toEqual(o);
    expect(out.filter((o) => o !== null).length).toBeGreaterThan(100);
  });

  it('refuses bad arguments', async () => {
    for (const args of [[], ['-w', '601', 'eth0'], ['-w', 'x', 'eth0'], ['-w', '-1', 'eth0']]) {
      await expect(run(bin, args)).rejects.toMatchObject({ code: 2 });
    }
  });
});

describe('rackboot-lldp: a real LLDP sender (lldpd in a network namespace)', () => {
  const tag = randomBytes(3).toString('hex');
  const sw = `rb-lldp${tag}-s`; // the "switch": lldpd on sw0
  const host = `rb-lldp${tag}-h`; // the machine: eth0 (sw0's peer) and eth1 (link up to eth2, nobody sends)
  let lldpd: ChildProcess | undefined;
  let lldpdLog = '';
  const ip = (...a: string[]) => run('ip', a);
  const listen = async (...args: string[]) => {
    const t0 = Date.now();
    const { stdout } = await run('ip', ['netns', 'exec', host, bin, ...args]);
    return { ms: Date.now() - t0, lines: stdout.split('\n').filter(Boolean) };
  };

  beforeAll(async () => {
    await ip('netns', 'add', sw);
    await ip('netns', 'add', host);
    await ip('-n', sw, 'link', 'add', 'sw0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', host);
    await ip('-n', host, 'link', 'add', 'eth1', 'type', 'veth', 'peer', 'name', 'eth2');
    await ip('-n', sw, 'addr', 'add', '198.18.7.250/24', 'dev', 'sw0');
    await ip('-n', sw, 'link', 'set', 'sw0', 'up');
    for (const n of ['eth0', 'eth1', 'eth2']) await ip('-n', host, 'link', 'set', n, 'up');
    // lldpd runs lldpcli (with the configuration) as its unprivileged user, which must reach the socket.
    chmodSync(dir, 0o755);
    writeFileSync(join(dir, 'lldpd.conf'), 'configure system hostname leaf-r7\nconfigure lldp tx-interval 1\nconfigure lldp portidsubtype ifname\n');
    // -d: foreground (its PID is the one we kill); its own control socket and configuration only.
    lldpd = spawn('ip', ['netns', 'exec', sw, 'lldpd', '-d', '-u', join(dir, 'lldpd.sock'), '-O', join(dir, 'lldpd.conf'), '-I', 'sw0', '-m', '198.18.7.250'], { stdio: ['ignore', 'ignore', 'pipe'] });
    lldpd.stderr?.on('data', (d) => {
      lldpdLog += d;
    });
  });
  afterAll(async () => {
    if (lldpd && lldpd.exitCode === null && lldpd.signalCode === null) {
      const gone = new Promise((r) => lldpd?.once('exit', r));
      lldpd.kill('SIGTERM'); // its monitor stops the privilege-separated child too
      await gone;
    }
    for (const ns of [sw, host]) await ip('netns', 'del', ns).catch(() => undefined);
  });

  const NEIGHBOUR = { chassisId: expect.stringMatching(/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/), portId: 'sw0', systemName: 'leaf-r7', portDescription: 'sw0', managementAddress: '198.18.7.250' };
  const heard = (lines: string[]) => Object.fromEntries(lines.map((l) => [l.split('\t')[0], JSON.parse(l.split('\t')[1] ?? '')]));

  it('hears the neighbour and stops as soon as every NIC with link has one', async () => {
    const { ms, lines } = await listen('-w', '20', 'eth0');
    expect(heard(lines), `lldpd said: ${lldpdLog}`).toEqual({ eth0: NEIGHBOUR });
    expect(ms).toBeLessThan(5000); // lldpd sends every second here
  }, 30_000);

  it('a NIC with link and no neighbour: the whole wait, and only the neighbours heard are printed', async () => {
    const { ms, lines } = await listen('-w', '3', 'eth0', 'eth1');
    expect(heard(lines)).toEqual({ eth0: NEIGHBOUR });
    expect(ms).toBeGreaterThanOrEqual(2900);
    expect(ms).toBeLessThan(6000);
  }, 30_000);

  it('no neighbour at all: nothing printed after the wait; a missing interface is skipped', async () => {
    const { ms, lines } = await listen('-w', '1', 'eth1', 'nosuch0');
    expect(lines).toEqual([]);
    expect(ms).toBeLessThan(4000);
  }, 30_000);
});
