import { AppError } from '../errors.js';
import { intToIp, ipToInt } from '../net/ipv4.js';
import { OPT } from './options.js';

/** BOOTP/DHCP fixed header size before the magic cookie (RFC 2131 §2, figure 1). */
export const HEADER_LEN = 236;
/** RFC 2131 §3: replies shorter than this confuse old BOOTP relays; pad to it. */
export const MIN_REPLY_LEN = 300;
/** The magic cookie 99.130.83.99 (RFC 2131 §3). */
const COOKIE = 0x63825363;
/** Largest packet we accept: a jumbo UDP payload is still bounded by the IPv4 length field. */
export const MAX_PACKET_LEN = 65_507;

/** op field values (RFC 951). */
export const BOOTREQUEST = 1;
export const BOOTREPLY = 2;

/** A decoded DHCPv4 packet: header fields plus raw option values in wire order. */
export interface DhcpPacket {
  op: number;
  htype: number;
  hlen: number;
  hops: number;
  xid: number;
  secs: number;
  flags: number;
  ciaddr: string;
  yiaddr: string;
  siaddr: string;
  giaddr: string;
  /** The 16-byte client hardware address field (only the first hlen bytes are meaningful). */
  chaddr: Buffer;
  sname: string;
  file: string;
  /** Option code → value; repeated codes are concatenated (RFC 3396 §5). */
  options: Map<number, Buffer>;
}

/** The broadcast bit of the flags field (RFC 2131 §2, figure 2). */
export const FLAG_BROADCAST = 0x8000;

function protocolError(message: string, details?: Record<string, unknown>): AppError {
  return new AppError('PROTOCOL', message, details ? { details } : {});
}

/** Reads a NUL-terminated string from a fixed-size field (sname/file). */
function cString(buf: Buffer, start: number, len: number): string {
  const end = buf.indexOf(0, start);
  return buf.toString('latin1', start, end === -1 || end > start + len ? start + len : end);
}

/**
 * Parses an option area into `into`. PAD (0) is skipped and END (255) stops; a truncated
 * option is a protocol error carrying the offset and lengths.
 */
function readOptions(buf: Buffer, start: number, end: number, into: Map<number, Buffer>, where: string): void {
  let i = start;
  while (i < end) {
    const code = buf[i]!;
    if (code === OPT.PAD) {
      i++;
      continue;
    }
    if (code === OPT.END) return;
    if (i + 1 >= end) throw protocolError(`option ${code} in ${where} has no length byte at offset ${i}`, { code, offset: i });
    const len = buf[i + 1]!;
    if (i + 2 + len > end) {
      throw protocolError(`option ${code} in ${where} claims ${len} bytes but only ${end - i - 2} remain`, { code, len, offset: i });
    }
    const value = buf.subarray(i + 2, i + 2 + len);
    const prev = into.get(code);
    // RFC 3396 §5: several instances of one option are one value, concatenated in order.
    into.set(code, prev ? Buffer.concat([prev, value]) : value);
    i += 2 + len;
  }
}

/**
 * Decodes a DHCPv4 packet; anything malformed is an AppError with code PROTOCOL. Option values
 * and chaddr are views into `buf` (no copy per option on the hot path): do not reuse `buf`.
 */
export function decodeDhcpPacket(buf: Buffer): DhcpPacket {
  if (buf.length < HEADER_LEN + 4) throw protocolError(`packet of ${buf.length} bytes is shorter than ${HEADER_LEN + 4}`);
  if (buf.length > MAX_PACKET_LEN) throw protocolError(`packet of ${buf.length} bytes is longer than ${MAX_PACKET_LEN}`);
  if (buf.readUInt32BE(HEADER_LEN) !== COOKIE) throw protocolError(`bad magic cookie 0x${buf.readUInt32BE(HEADER_LEN).toString(16)}`);
  const hlen = buf[2]!;
  if (hlen > 16) throw protocolError(`hlen ${hlen} exceeds the 16-byte chaddr field`);
  const options = new Map<number, Buffer>();
  readOptions(buf, HEADER_LEN + 4, buf.length, options, 'options');
  let sname = cString(buf, 44, 64);
  let file = cString(buf, 108, 128);
  // RFC 2132 §9.3 option overload: 1 = file holds options, 2 = sname, 3 = both (file first, RFC 3396 §5).
  const overload = options.get(OPT.OVERLOAD)?.[0] ?? 0;
  if (overload & 1) {
    readOptions(buf, 108, 236, options, 'file');
    file = '';
  }
  if (overload & 2) {
    readOptions(buf, 44, 108, options, 'sname');
    sname = '';
  }
  return {
    op: buf[0]!,
    htype: buf[1]!,
    hlen,
    hops: buf[3]!,
    xid: buf.readUInt32BE(4),
    secs: buf.readUInt16BE(8),
    flags: buf.readUInt16BE(10),
    ciaddr: intToIp(buf.readUInt32BE(12)),
    yiaddr: intToIp(buf.readUInt32BE(16)),
    siaddr: intToIp(buf.readUInt32BE(20)),
    giaddr: intToIp(buf.readUInt32BE(24)),
    chaddr: buf.subarray(28, 44),
    sname,
    file,
    options,
  };
}

/** Writes one option, split into 255-byte instances when longer (RFC 3396 §4). */
function writeOption(out: Buffer, at: number, code: number, value: Buffer): number {
  let off = 0;
  do {
    const n = Math.min(255, value.length - off);
    out[at++] = code;
    out[at++] = n;
    value.copy(out, at, off, off + n);
    at += n;
    off += n;
  } while (off < value.length);
  return at;
}

function optionsSize(options: Map<number, Buffer>): number {
  let n = 1; // END
  for (const v of options.values()) n += v.length + 2 * Math.max(1, Math.ceil(v.length / 255));
  return n;
}

/**
 * Encodes a packet. Option 53 goes first, option 82 last (RFC 3046 §2.1), the others in map
 * order; the result is padded with zeros to at least 300 bytes.
 */
export function encodeDhcpPacket(p: DhcpPacket): Buffer {
  if (Buffer.byteLength(p.sname, 'latin1') > 63) throw protocolError(`sname longer than 63 bytes: ${p.sname.length}`);
  if (Buffer.byteLength(p.file, 'latin1') > 127) throw protocolError(`boot file name longer than 127 bytes: ${p.file.length}`);
  const size = Math.max(MIN_REPLY_LEN, HEADER_LEN + 4 + optionsSize(p.options));
  // From the shared pool (no backing store of its own per reply), zeroed like Buffer.alloc.
  const out = Buffer.allocUnsafe(size).fill(0);
  out[0] = p.op;
  out[1] = p.htype;
  out[2] = p.hlen;
  out[3] = p.hops;
  out.writeUInt32BE(p.xid >>> 0, 4);
  out.writeUInt16BE(p.secs, 8);
  out.writeUInt16BE(p.flags, 10);
  out.writeUInt32BE(ipToInt(p.ciaddr), 12);
  out.writeUInt32BE(ipToInt(p.yiaddr), 16);
  out.writeUInt32BE(ipToInt(p.siaddr), 20);
  out.writeUInt32BE(ipToInt(p.giaddr), 24);
  p.chaddr.copy(out, 28, 0, Math.min(16, p.chaddr.length));
  out.write(p.sname, 44, 63, 'latin1');
  out.write(p.file, 108, 127, 'latin1');
  out.writeUInt32BE(COOKIE, HEADER_LEN);
  let at = HEADER_LEN + 4;
  const type = p.options.get(OPT.MESSAGE_TYPE);
  if (type) at = writeOption(out, at, OPT.MESSAGE_TYPE, type);
  for (const [code, value] of p.options) {
    if (code === OPT.MESSAGE_TYPE || code === OPT.RELAY_AGENT) continue;
    at = writeOption(out, at, code, value);
  }
  const relay = p.options.get(OPT.RELAY_AGENT);
  if (relay) at = writeOption(out, at, OPT.RELAY_AGENT, relay);
  out[at] = OPT.END;
  return out;
}
