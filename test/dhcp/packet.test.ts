import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MSG, OPT, readSubOptions, readUserClasses } from '../../src/dhcp/options.js';
import { MIN_REPLY_LEN, decodeDhcpPacket, encodeDhcpPacket } from '../../src/dhcp/packet.js';
import { readRequest } from '../../src/dhcp/request.js';
import { isAppError } from '../../src/errors.js';
import { dumpPacket } from './helpers/dump.js';
import { clientBytes, clientPacket, firmware } from './helpers/packets.js';
import { readPcapUdp } from './helpers/pcap.js';

const FIXTURES = join(import.meta.dirname, '../fixtures/dhcp');

function protocolError(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(isAppError(e, 'PROTOCOL')).toBe(true);
    return (e as Error).message;
  }
  throw new Error('expected a PROTOCOL error');
}

describe('DHCP codec (built in code)', () => {
  it('encodes a DISCOVER and decodes it back to the same fields', () => {
    const p = clientPacket({ type: MSG.DISCOVER, mac: '52:54:00:aa:bb:cc', xid: 0xdeadbeef, flags: 0x8000, options: firmware('uefiX64') });
    const bytes = encodeDhcpPacket(p);
    expect(bytes.length).toBe(306);
    // Short packets are padded to the BOOTP minimum (RFC 2131 §3).
    expect(encodeDhcpPacket(clientPacket({ type: MSG.DISCOVER, mac: '02:00:00:00:00:01' })).length).toBe(MIN_REPLY_LEN);
    expect(bytes.readUInt32BE(236)).toBe(0x63825363);
    expect(decodeDhcpPacket(bytes)).toEqual(p);
    expect(dumpPacket(decodeDhcpPacket(bytes))).toMatchInlineSnapshot(`
      "op=1 htype=1 hlen=6 hops=0 xid=0xdeadbeef secs=0 flags=0x8000
      ciaddr=0.0.0.0 yiaddr=0.0.0.0 siaddr=0.0.0.0 giaddr=0.0.0.0
      chaddr=52:54:00:aa:bb:cc sname="" file=""
      option 53 len=1 01
      option 60 len=32 "PXEClient:Arch:00007:UNDI:003000"
      option 93 len=2 0007
      option 94 len=3 010300
      option 97 len=17 00000102030405060708090a0b0c0d0e0f
      "
    `);
  });

  it('reads the typed request: arch, UUID, NIC id, PXE class, client key', () => {
    const r = readRequest(clientPacket({ type: MSG.DISCOVER, mac: '52:54:00:aa:bb:cc', options: firmware('uefiX64') }));
    expect(r).toMatchObject({
      type: MSG.DISCOVER,
      mac: '52:54:00:aa:bb:cc',
      clientKey: '52:54:00:aa:bb:cc',
      arch: 7,
      isPxe: true,
      isIpxe: false,
      isHttpBoot: false,
      nicId: '1:3.0',
      // Option 97 carries the EFI GUID layout: the first three fields little-endian.
      uuid: '03020100-0504-0706-0809-0a0b0c0d0e0f',
    });
  });

  it('recognises iPXE by user class or by option 175 alone', () => {
    const byClass = readRequest(clientPacket({ type: MSG.DISCOVER, mac: '02:00:00:00:00:01', options: [[OPT.USER_CLASS, 'iPXE']] }));
    const by175 = readRequest(clientPacket({ type: MSG.DISCOVER, mac: '02:00:00:00:00:01', options: [[OPT.IPXE, [0x10, 1, 1]]] }));
    expect(byClass.isIpxe).toBe(true);
    expect(by175.isIpxe).toBe(true);
    // RFC 3004 length-prefixed form is read as a list.
    expect(readUserClasses(Buffer.from('\x04iPXE\x03foo', 'latin1'))).toEqual(['iPXE', 'foo']);
  });

  it('takes the arch from PXEClient:Arch:xxxxx when option 93 is missing', () => {
    const r = readRequest(clientPacket({ type: MSG.DISCOVER, mac: '02:00:00:00:00:01', options: [[OPT.VENDOR_CLASS, 'PXEClient:Arch:00011:UNDI:003000']] }));
    expect(r.arch).toBe(11);
  });

  it('skips PAD, stops at END and concatenates split options (RFC 3396)', () => {
    const bytes = clientBytes({ type: MSG.DISCOVER, mac: '02:00:00:00:00:02' });
    const opts = Buffer.from([0, 0, 12, 3, 0x61, 0x62, 0x63, 0, 12, 2, 0x64, 0x65, 255, 12, 1, 0x7a]);
    const raw = Buffer.concat([bytes.subarray(0, 240), Buffer.from([53, 1, 1]), opts]);
    const p = decodeDhcpPacket(raw);
    expect(p.options.get(OPT.HOSTNAME)?.toString()).toBe('abcde');
  });

  it('splits options longer than 255 bytes on encode and joins them on decode', () => {
    const long = Buffer.alloc(600, 0x41);
    const p = clientPacket({ type: MSG.DISCOVER, mac: '02:00:00:00:00:03', options: [[OPT.VENDOR_SPECIFIC, long]] });
    const bytes = encodeDhcpPacket(p);
    expect(decodeDhcpPacket(bytes).options.get(OPT.VENDOR_SPECIFIC)).toEqual(long);
  });

  it('reads options out of file and sname when option 52 overloads them', () => {
    const base = clientBytes({ type: MSG.DISCOVER, mac: '02:00:00:00:00:04', options: [[OPT.OVERLOAD, [3]]] });
    const raw = Buffer.from(base);
    Buffer.from([OPT.HOSTNAME, 2, 0x68, 0x69, 255]).copy(raw, 108); // file field
    Buffer.from([OPT.DOMAIN, 3, 0x6c, 0x61, 0x62, 255]).copy(raw, 44); // sname field
    const p = decodeDhcpPacket(raw);
    expect(p.options.get(OPT.HOSTNAME)?.toString()).toBe('hi');
    expect(p.options.get(OPT.DOMAIN)?.toString()).toBe('lab');
    expect(p.file).toBe('');
    expect(p.sname).toBe('');
  });

  it('parses option 82 sub-options and keeps the raw value', () => {
    const o82 = Buffer.from([1, 3, 0x65, 0x74, 0x31, 2, 2, 0xab, 0xcd]);
    const r = readRequest(clientPacket({ type: MSG.DISCOVER, mac: '02:00:00:00:00:05', giaddr: '198.18.5.1', options: [[OPT.RELAY_AGENT, o82]] }));
    expect(r.relay).toEqual({ circuitId: '657431', remoteId: 'abcd', raw: o82 });
    expect([...readSubOptions(o82).keys()]).toEqual([1, 2]);
  });

  it.each([
    ['empty', Buffer.alloc(0), /shorter than 240/],
    ['header only', Buffer.alloc(236), /shorter than 240/],
    ['bad cookie', Buffer.alloc(300), /magic cookie/],
    ['oversized', Buffer.alloc(70_000), /longer than/],
  ])('rejects %s packets with a PROTOCOL error', (_name, buf, msg) => {
    expect(protocolError(() => decodeDhcpPacket(buf))).toMatch(msg);
  });

  it('names the option, its claimed length and what remains when an option is truncated', () => {
    const bytes = clientBytes({ type: MSG.DISCOVER, mac: '02:00:00:00:00:06' });
    const raw = Buffer.concat([bytes.subarray(0, 240), Buffer.from([60, 20, 0x50, 0x58])]);
    expect(protocolError(() => decodeDhcpPacket(raw))).toBe('option 60 in options claims 20 bytes but only 2 remain');
  });

  it('rejects replies, unknown message types and non-Ethernet hardware in readRequest', () => {
    const reply = { ...clientPacket({ type: MSG.DISCOVER, mac: '02:00:00:00:00:07' }), op: 2 };
    expect(protocolError(() => readRequest(reply))).toMatch(/BOOTREQUEST/);
    expect(protocolError(() => readRequest(clientPacket({ type: MSG.OFFER, mac: '02:00:00:00:00:07' })))).toMatch(/message type 2/);
    expect(protocolError(() => readRequest({ ...clientPacket({ type: MSG.DISCOVER, mac: '02:00:00:00:00:07' }), htype: 6 }))).toMatch(/Ethernet/);
  });
});

// Captures from the QEMU lab and real clients (tshark/dumpcap), decoded to a text dump.
const captures = existsSync(FIXTURES) ? readdirSync(FIXTURES).filter((f) => f.endsWith('.pcap')) : [];

describe('DHCP codec (captured packets)', () => {
  it('has captures to check', () => {
    expect(captures.length).toBeGreaterThan(0);
  });

  it.each(captures)('%s decodes to its golden dump and round-trips', (file) => {
    const packets = readPcapUdp(join(FIXTURES, file)).filter((u) => [67, 68, 4011].includes(u.dstPort));
    expect(packets.length).toBeGreaterThan(0);
    const dump = packets
      .map((u) => {
        const p = decodeDhcpPacket(u.payload);
        // Round trip: re-encoding gives the same packet (clients' own padding may differ).
        expect(decodeDhcpPacket(encodeDhcpPacket(p))).toEqual(p);
        return `# ${u.src}:${u.srcPort} -> ${u.dst}:${u.dstPort} (${u.payload.length} bytes)\n${dumpPacket(p)}`;
      })
      .join('\n');
    const golden = join(FIXTURES, file.replace(/\.pcap$/, '.txt'));
    expect(dump).toBe(readFileSync(golden, 'utf8'));
  });
});
