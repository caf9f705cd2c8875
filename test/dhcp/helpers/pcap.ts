import { readFileSync } from 'node:fs';

/** One UDP datagram read from a pcap file. */
export interface PcapUdp {
  src: string;
  dst: string;
  srcPort: number;
  dstPort: number;
  payload: Buffer;
}

const ip = (b: Buffer, at: number) => `${b[at]}.${b[at + 1]}.${b[at + 2]}.${b[at + 3]}`;

/**
 * Reads the IPv4/UDP datagrams of a classic pcap file (Ethernet link type; what dumpcap and
 * tshark write with `-F pcap`). Other frames are skipped; a truncated tail ends the list.
 */
export function readPcapUdp(path: string): PcapUdp[] {
  const b = readFileSync(path);
  if (b.length < 24) return [];
  const magic = b.readUInt32LE(0);
  const le = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d;
  if (!le && b.readUInt32BE(0) !== 0xa1b2c3d4 && b.readUInt32BE(0) !== 0xa1b23c4d) throw new Error(`${path}: not a classic pcap file`);
  const u32 = (at: number) => (le ? b.readUInt32LE(at) : b.readUInt32BE(at));
  const out: PcapUdp[] = [];
  let at = 24;
  while (at + 16 <= b.length) {
    const incl = u32(at + 8);
    const frame = b.subarray(at + 16, at + 16 + incl);
    at += 16 + incl;
    if (frame.length < 42 || frame.readUInt16BE(12) !== 0x0800) continue;
    const ihl = (frame[14]! & 0x0f) * 4;
    if (frame[14 + 9] !== 17) continue;
    const udp = 14 + ihl;
    const len = frame.readUInt16BE(udp + 4);
    out.push({
      src: ip(frame, 26),
      dst: ip(frame, 30),
      srcPort: frame.readUInt16BE(udp),
      dstPort: frame.readUInt16BE(udp + 2),
      payload: Buffer.from(frame.subarray(udp + 8, udp + Math.min(len, frame.length - udp))),
    });
  }
  return out;
}
