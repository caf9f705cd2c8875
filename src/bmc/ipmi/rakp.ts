import { CIPHER_SUITES, type CipherSuiteId } from './constants.js';
import { need, protocolError } from './rmcp.js';

/** Open Session Request (IPMI 2.0 table 13-9). */
export interface OpenSessionRequest {
  tag: number;
  /** Requested maximum privilege (0 = highest the channel allows). */
  privilege: number;
  consoleSessionId: number;
  suite: CipherSuiteId;
}

/** Open Session Response (IPMI 2.0 table 13-10). On error only tag/status/consoleSessionId are meaningful. */
export interface OpenSessionResponse {
  tag: number;
  status: number;
  privilege: number;
  consoleSessionId: number;
  bmcSessionId: number;
  auth: number;
  integrity: number;
  conf: number;
}

/** RAKP Message 1 (table 13-11). */
export interface Rakp1 {
  tag: number;
  bmcSessionId: number;
  consoleRandom: Buffer;
  role: number;
  username: string;
}

/** RAKP Message 2 (table 13-12). */
export interface Rakp2 {
  tag: number;
  status: number;
  consoleSessionId: number;
  bmcRandom: Buffer;
  bmcGuid: Buffer;
  authCode: Buffer;
}

/** RAKP Message 3 (table 13-13). */
export interface Rakp3 {
  tag: number;
  status: number;
  bmcSessionId: number;
  authCode: Buffer;
}

/** RAKP Message 4 (table 13-14). */
export interface Rakp4 {
  tag: number;
  status: number;
  consoleSessionId: number;
  icv: Buffer;
}

const algo = (type: number, value: number): Buffer => Buffer.from([type, 0, 0, 8, value, 0, 0, 0]);

/** Encodes an Open Session Request proposing exactly one suite's algorithms. */
export function encodeOpenSessionRequest(r: OpenSessionRequest): Buffer {
  const s = CIPHER_SUITES[r.suite];
  const h = Buffer.alloc(8);
  h[0] = r.tag & 0xff;
  h[1] = r.privilege & 0x0f;
  h.writeUInt32LE(r.consoleSessionId >>> 0, 4);
  return Buffer.concat([h, algo(0, s.auth), algo(1, s.integrity), algo(2, s.conf)]);
}

/** Decodes an Open Session Request (responders, fuzzing). */
export function decodeOpenSessionRequest(b: Buffer): { tag: number; privilege: number; consoleSessionId: number; auth: number; integrity: number; conf: number } {
  need(b, 0, 32, 'open session request');
  return { tag: b[0]!, privilege: b[1]! & 0x0f, consoleSessionId: b.readUInt32LE(4), ...decodeAlgos(b, 8) };
}

function decodeAlgos(b: Buffer, at: number): { auth: number; integrity: number; conf: number } {
  const out = { auth: 0, integrity: 0, conf: 0 };
  for (let i = 0; i < 3; i++) {
    const o = at + i * 8;
    const type = b[o]!;
    if (type !== i) throw protocolError(`algorithm payload ${i} has type ${type}`, { offset: o });
    if (b[o + 3] !== 8) throw protocolError(`algorithm payload ${i} length ${b[o + 3]} != 8`, { offset: o });
    out[(['auth', 'integrity', 'conf'] as const)[i]!] = b[o + 4]! & 0x3f;
  }
  return out;
}

/** Encodes an Open Session Response (responders in tests). */
export function encodeOpenSessionResponse(r: OpenSessionResponse): Buffer {
  const h = Buffer.alloc(12);
  h[0] = r.tag;
  h[1] = r.status;
  h[2] = r.privilege;
  h.writeUInt32LE(r.consoleSessionId >>> 0, 4);
  h.writeUInt32LE(r.bmcSessionId >>> 0, 8);
  if (r.status !== 0) return h.subarray(0, 8);
  return Buffer.concat([h, algo(0, r.auth), algo(1, r.integrity), algo(2, r.conf)]);
}

/** Decodes an Open Session Response; error responses may stop after the console session id. */
export function decodeOpenSessionResponse(b: Buffer): OpenSessionResponse {
  need(b, 0, 2, 'open session response');
  const tag = b[0]!;
  const status = b[1]!;
  if (status !== 0) {
    return { tag, status, privilege: b[2] ?? 0, consoleSessionId: b.length >= 8 ? b.readUInt32LE(4) : 0, bmcSessionId: 0, auth: 0, integrity: 0, conf: 0 };
  }
  need(b, 0, 36, 'open session response');
  return { tag, status, privilege: b[2]! & 0x0f, consoleSessionId: b.readUInt32LE(4), bmcSessionId: b.readUInt32LE(8), ...decodeAlgos(b, 12) };
}

/** Encodes RAKP 1. */
export function encodeRakp1(r: Rakp1): Buffer {
  const u = Buffer.from(r.username, 'utf8');
  if (u.length > 16) throw protocolError(`IPMI user name longer than 16 bytes (${u.length})`);
  if (r.consoleRandom.length !== 16) throw protocolError('RAKP 1 random must be 16 bytes');
  const b = Buffer.alloc(28 + u.length);
  b[0] = r.tag;
  b.writeUInt32LE(r.bmcSessionId >>> 0, 4);
  r.consoleRandom.copy(b, 8);
  b[24] = r.role;
  b[27] = u.length;
  u.copy(b, 28);
  return b;
}

/** Decodes RAKP 1 (responders, fuzzing). */
export function decodeRakp1(b: Buffer): Rakp1 {
  need(b, 0, 28, 'RAKP 1');
  const len = b[27]!;
  if (len > 16) throw protocolError(`RAKP 1 user name length ${len} > 16`);
  need(b, 28, len, 'RAKP 1 user name');
  return {
    tag: b[0]!,
    bmcSessionId: b.readUInt32LE(4),
    consoleRandom: Buffer.from(b.subarray(8, 24)),
    role: b[24]!,
    username: b.subarray(28, 28 + len).toString('utf8'),
  };
}

/** Encodes RAKP 2 (responders in tests). */
export function encodeRakp2(r: Rakp2): Buffer {
  const h = Buffer.alloc(40);
  h[0] = r.tag;
  h[1] = r.status;
  h.writeUInt32LE(r.consoleSessionId >>> 0, 4);
  r.bmcRandom.copy(h, 8);
  r.bmcGuid.copy(h, 24);
  return r.status === 0 ? Buffer.concat([h, r.authCode]) : h.subarray(0, 8);
}

/** Decodes RAKP 2; `authCodeLen` is 20 (SHA-1) or 32 (SHA-256). */
export function decodeRakp2(b: Buffer, authCodeLen: number): Rakp2 {
  need(b, 0, 2, 'RAKP 2');
  const status = b[1]!;
  if (status !== 0) return { tag: b[0]!, status, consoleSessionId: b.length >= 8 ? b.readUInt32LE(4) : 0, bmcRandom: Buffer.alloc(0), bmcGuid: Buffer.alloc(0), authCode: Buffer.alloc(0) };
  need(b, 0, 40 + authCodeLen, 'RAKP 2');
  return {
    tag: b[0]!,
    status,
    consoleSessionId: b.readUInt32LE(4),
    bmcRandom: Buffer.from(b.subarray(8, 24)),
    bmcGuid: Buffer.from(b.subarray(24, 40)),
    authCode: Buffer.from(b.subarray(40, 40 + authCodeLen)),
  };
}

/** Encodes RAKP 3 (status non-zero tells the BMC we reject its RAKP 2). */
export function encodeRakp3(r: Rakp3): Buffer {
  const h = Buffer.alloc(8);
  h[0] = r.tag;
  h[1] = r.status;
  h.writeUInt32LE(r.bmcSessionId >>> 0, 4);
  return Buffer.concat([h, r.authCode]);
}

/** Decodes RAKP 3 (responders, fuzzing). */
export function decodeRakp3(b: Buffer, authCodeLen: number): Rakp3 {
  need(b, 0, 8, 'RAKP 3');
  const status = b[1]!;
  if (status === 0) need(b, 8, authCodeLen, 'RAKP 3 auth code');
  return { tag: b[0]!, status, bmcSessionId: b.readUInt32LE(4), authCode: Buffer.from(b.subarray(8, 8 + (status === 0 ? authCodeLen : 0))) };
}

/** Encodes RAKP 4 (responders in tests). */
export function encodeRakp4(r: Rakp4): Buffer {
  const h = Buffer.alloc(8);
  h[0] = r.tag;
  h[1] = r.status;
  h.writeUInt32LE(r.consoleSessionId >>> 0, 4);
  return Buffer.concat([h, r.icv]);
}

/** Decodes RAKP 4; `icvLen` is 12 (SHA-1-96) or 16 (SHA-256-128). */
export function decodeRakp4(b: Buffer, icvLen: number): Rakp4 {
  need(b, 0, 2, 'RAKP 4');
  const status = b[1]!;
  if (status !== 0) return { tag: b[0]!, status, consoleSessionId: b.length >= 8 ? b.readUInt32LE(4) : 0, icv: Buffer.alloc(0) };
  need(b, 0, 8 + icvLen, 'RAKP 4');
  return { tag: b[0]!, status, consoleSessionId: b.readUInt32LE(4), icv: Buffer.from(b.subarray(8, 8 + icvLen)) };
}
