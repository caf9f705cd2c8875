import { AppError } from '../../errors.js';
import { ASF, AUTH_TYPE, RMCP } from './constants.js';

/** A malformed packet: the session layer counts it, logs at debug and drops it. */
export function protocolError(message: string, details?: Record<string, unknown>): AppError {
  return new AppError('PROTOCOL', message, details ? { details } : {});
}

/** Throws unless `buf` holds `need` bytes from `at` (names what was being read). */
export function need(buf: Buffer, at: number, need: number, what: string): void {
  if (at + need > buf.length) throw protocolError(`${what}: need ${need} bytes at offset ${at}, have ${buf.length - at}`);
}

/** An ASF presence ping or pong (ASF 2.0 §3.2.4.1/§3.2.4.3). */
export interface AsfMessage {
  type: 'ping' | 'pong';
  tag: number;
  /** Pong only: supported entities bit 7 says IPMI is supported. */
  ipmiSupported?: boolean;
  /** Pong only: IANA enterprise number of the responder. */
  iana?: number;
}

/** An IPMI v1.5 session packet (used here only pre-session, auth type none). */
export interface V15Packet {
  authType: number;
  seq: number;
  sessionId: number;
  payload: Buffer;
}

/** An RMCP+ (IPMI v2.0) session packet as it is on the wire. */
export interface V20Packet {
  payloadType: number;
  encrypted: boolean;
  authenticated: boolean;
  sessionId: number;
  seq: number;
  /** Payload bytes as carried (still encrypted when `encrypted`). */
  payload: Buffer;
  /** Bytes covered by the integrity check (auth type .. next header), when authenticated. */
  covered?: Buffer;
  /** The integrity check value (AuthCode) when authenticated. */
  authCode?: Buffer;
}

/** Any RMCP datagram we understand. */
export type RmcpPacket = { kind: 'asf'; asf: AsfMessage } | { kind: 'v15'; packet: V15Packet } | { kind: 'v20'; packet: V20Packet };

const rmcpHeader = (cls: number): Buffer => Buffer.from([RMCP.VERSION, 0x00, RMCP.SEQ_NO_ACK, cls]);

/** Encodes an ASF presence ping with a message tag. */
export function encodeAsfPing(tag: number): Buffer {
  const b = Buffer.alloc(12);
  rmcpHeader(RMCP.CLASS_ASF).copy(b, 0);
  b.writeUInt32BE(ASF.IANA, 4);
  b[8] = ASF.PING;
  b[9] = tag & 0xff;
  b[10] = 0;
  b[11] = 0;
  return b;
}

/** Encodes an ASF presence pong (for responders in tests and the vBMC). */
export function encodeAsfPong(tag: number, iana = ASF.IANA): Buffer {
  const b = Buffer.alloc(28);
  rmcpHeader(RMCP.CLASS_ASF).copy(b, 0);
  b.writeUInt32BE(ASF.IANA, 4);
  b[8] = ASF.PONG;
  b[9] = tag & 0xff;
  b[11] = 16;
  b.writeUInt32BE(iana, 12);
  b[20] = 0x81; // IPMI supported, ASF 1.0
  return b;
}

/** Encodes a v1.5 packet with auth type none (IPMI 2.0 §13.6, table 13-8). */
export function encodeV15(payload: Buffer, sessionId = 0, seq = 0): Buffer {
  if (payload.length > 255) throw protocolError(`v1.5 payload too long: ${payload.length} > 255`);
  const h = Buffer.alloc(4 + 10);
  rmcpHeader(RMCP.CLASS_IPMI).copy(h, 0);
  h[4] = AUTH_TYPE.NONE;
  h.writeUInt32LE(seq >>> 0, 5);
  h.writeUInt32LE(sessionId >>> 0, 9);
  h[13] = payload.length;
  return Buffer.concat([h, payload]);
}

/** Integrity function: bytes covered → AuthCode (already truncated). */
export type IntegrityFn = (covered: Buffer) => Buffer;

/** Encodes an RMCP+ packet (IPMI 2.0 table 13-8); `integrity` adds the trailer (§13.28.4). */
export function encodeV20(
  h: { payloadType: number; encrypted: boolean; sessionId: number; seq: number },
  payload: Buffer,
  integrity?: IntegrityFn,
): Buffer {
  if (payload.length > 0xffff) throw protocolError(`payload too long: ${payload.length}`);
  const sh = Buffer.alloc(12);
  sh[0] = AUTH_TYPE.RMCP_PLUS;
  sh[1] = (h.encrypted ? 0x80 : 0) | (integrity ? 0x40 : 0) | (h.payloadType & 0x3f);
  sh.writeUInt32LE(h.sessionId >>> 0, 2);
  sh.writeUInt32LE(h.seq >>> 0, 6);
  sh.writeUInt16LE(payload.length, 10);
  if (!integrity) return Buffer.concat([rmcpHeader(RMCP.CLASS_IPMI), sh, payload]);
  // Integrity pad: auth type .. next header must be a multiple of 4 bytes (§13.28.4).
  const pad = (4 - ((sh.length + payload.length + 2) % 4)) % 4;
  const covered = Buffer.concat([sh, payload, Buffer.alloc(pad, 0xff), Buffer.from([pad, 0x07])]);
  return Buffer.concat([rmcpHeader(RMCP.CLASS_IPMI), covered, integrity(covered)]);
}

/** Decodes any RMCP datagram; `authCodeLen` is the integrity length of the current session. */
export function decodeRmcp(buf: Buffer, authCodeLen = 0): RmcpPacket {
  need(buf, 0, 4, 'RMCP header');
  if (buf[0] !== RMCP.VERSION) throw protocolError(`RMCP version 0x${buf[0]!.toString(16)} is not 0x06`);
  const cls = buf[3]! & 0x1f;
  if (cls === RMCP.CLASS_ASF) return { kind: 'asf', asf: decodeAsf(buf) };
  if (cls !== RMCP.CLASS_IPMI) throw protocolError(`RMCP class ${cls} is neither ASF nor IPMI`);
  need(buf, 4, 1, 'session auth type');
  if (buf[4] === AUTH_TYPE.RMCP_PLUS) return { kind: 'v20', packet: decodeV20(buf, authCodeLen) };
  return { kind: 'v15', packet: decodeV15(buf) };
}

function decodeAsf(buf: Buffer): AsfMessage {
  need(buf, 4, 8, 'ASF header');
  const iana = buf.readUInt32BE(4);
  if (iana !== ASF.IANA) throw protocolError(`ASF IANA ${iana} is not ${ASF.IANA}`);
  const type = buf[8]!;
  const tag = buf[9]!;
  const len = buf[11]!;
  need(buf, 12, len, 'ASF data');
  if (type === ASF.PING) return { type: 'ping', tag };
  if (type !== ASF.PONG) throw protocolError(`ASF message type 0x${type.toString(16)} unsupported`);
  if (len < 16) throw protocolError(`ASF pong data length ${len} < 16`);
  return { type: 'pong', tag, iana: buf.readUInt32BE(12), ipmiSupported: (buf[20]! & 0x80) !== 0 };
}

function decodeV15(buf: Buffer): V15Packet {
  need(buf, 4, 9, 'v1.5 session header');
  const authType = buf[4]!;
  const seq = buf.readUInt32LE(5);
  const sessionId = buf.readUInt32LE(9);
  let at = 13;
  if (authType !== AUTH_TYPE.NONE) at += 16; // MD2/MD5/straight auth code (§13.6)
  need(buf, at, 1, 'v1.5 message length');
  const len = buf[at]!;
  need(buf, at + 1, len, 'v1.5 message');
  return { authType, seq, sessionId, payload: buf.subarray(at + 1, at + 1 + len) };
}

function decodeV20(buf: Buffer, authCodeLen: number): V20Packet {
  need(buf, 4, 12, 'RMCP+ session header');
  const pt = buf[5]!;
  const payloadType = pt & 0x3f;
  if (payloadType === 0x02) throw protocolError('OEM explicit payloads are not supported');
  const sessionId = buf.readUInt32LE(6);
  const seq = buf.readUInt32LE(10);
  const len = buf.readUInt16LE(14);
  need(buf, 16, len, 'RMCP+ payload');
  const p: V20Packet = {
    payloadType,
    encrypted: (pt & 0x80) !== 0,
    authenticated: (pt & 0x40) !== 0,
    sessionId,
    seq,
    payload: buf.subarray(16, 16 + len),
  };
  if (!p.authenticated) return p;
  const rest = buf.length - 16 - len;
  const pad = rest - 2 - authCodeLen;
  if (authCodeLen <= 0 || pad < 0 || pad > 3) {
    throw protocolError(`integrity trailer of ${rest} bytes does not fit auth code length ${authCodeLen}`);
  }
  const padLenAt = 16 + len + pad;
  if (buf[padLenAt] !== pad) throw protocolError(`integrity pad length ${buf[padLenAt]} != ${pad}`);
  if (buf[padLenAt + 1] !== 0x07) throw protocolError(`next header 0x${buf[padLenAt + 1]!.toString(16)} is not 0x07`);
  for (let i = 16 + len; i < padLenAt; i++) if (buf[i] !== 0xff) throw protocolError(`integrity pad byte at ${i} is not 0xff`);
  p.covered = buf.subarray(4, padLenAt + 2);
  p.authCode = buf.subarray(padLenAt + 2);
  return p;
}
