import { createCipheriv, createDecipheriv, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { CIPHER_SUITES, type CipherSuiteId } from './constants.js';
import { protocolError } from './rmcp.js';

/** Everything both sides know once RAKP 1 and 2 have been exchanged (IPMI 2.0 §13.31). */
export interface RakpContext {
  suite: CipherSuiteId;
  /** SIDm: the remote console's (our) session id. */
  consoleSessionId: number;
  /** SIDc: the managed system's (BMC's) session id. */
  bmcSessionId: number;
  /** Rm: our 16-byte random number. */
  consoleRandom: Buffer;
  /** Rc: the BMC's 16-byte random number. */
  bmcRandom: Buffer;
  /** GUIDc: the BMC's GUID as sent in RAKP 2. */
  bmcGuid: Buffer;
  /** ROLEm: the requested privilege byte as sent in RAKP 1 (incl. the name-only lookup bit). */
  role: number;
  username: string;
  password: string;
  /** Kg (BMC key); when empty the user key Kuid is used (§13.31). */
  kg?: Buffer;
}

/** Session keys derived from the SIK (§13.32). */
export interface SessionKeys {
  sik: Buffer;
  k1: Buffer;
  k2: Buffer;
}

const hmac = (suite: CipherSuiteId, key: Buffer, data: Buffer): Buffer =>
  createHmac(CIPHER_SUITES[suite].hash, key).update(data).digest();

const u32le = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
};

/** Kuid: the password as an HMAC key (at most 20 bytes for IPMI 2.0 users). */
export function userKey(password: string): Buffer {
  const b = Buffer.from(password, 'utf8');
  if (b.length > 20) throw protocolError(`IPMI password longer than 20 bytes (${b.length})`);
  return b;
}

const nameBytes = (ctx: RakpContext): Buffer => {
  const u = Buffer.from(ctx.username, 'utf8');
  return Buffer.concat([Buffer.from([ctx.role, u.length]), u]);
};

/** RAKP 2 key exchange auth code: HMAC_Kuid(SIDm, SIDc, Rm, Rc, GUIDc, ROLEm, ULENGTHm, UNAMEm). */
export function rakp2AuthCode(ctx: RakpContext): Buffer {
  const data = Buffer.concat([
    u32le(ctx.consoleSessionId),
    u32le(ctx.bmcSessionId),
    ctx.consoleRandom,
    ctx.bmcRandom,
    ctx.bmcGuid,
    nameBytes(ctx),
  ]);
  return hmac(ctx.suite, userKey(ctx.password), data);
}

/** RAKP 3 key exchange auth code: HMAC_Kuid(Rc, SIDm, ROLEm, ULENGTHm, UNAMEm). */
export function rakp3AuthCode(ctx: RakpContext): Buffer {
  return hmac(ctx.suite, userKey(ctx.password), Buffer.concat([ctx.bmcRandom, u32le(ctx.consoleSessionId), nameBytes(ctx)]));
}

/** SIK = HMAC_Kg(Rm, Rc, ROLEm, ULENGTHm, UNAMEm), Kg defaulting to Kuid (§13.31). */
export function sessionIntegrityKey(ctx: RakpContext): Buffer {
  const key = ctx.kg && ctx.kg.length > 0 ? ctx.kg : userKey(ctx.password);
  return hmac(ctx.suite, key, Buffer.concat([ctx.consoleRandom, ctx.bmcRandom, nameBytes(ctx)]));
}

/** RAKP 4 integrity check value: HMAC_SIK(Rm, SIDc, GUIDc) truncated to the suite's ICV length. */
export function rakp4Icv(ctx: RakpContext, sik: Buffer): Buffer {
  const full = hmac(ctx.suite, sik, Buffer.concat([ctx.consoleRandom, u32le(ctx.bmcSessionId), ctx.bmcGuid]));
  return full.subarray(0, CIPHER_SUITES[ctx.suite].icvLen);
}

/**
 * K1/K2 = HMAC_SIK(Const1/Const2) (§13.32). The constants are 20 bytes of 0x01/0x02 for every
 * suite, SHA-256 ones included: ipmitool and pyghmi do the same (a 32-byte constant, the intuitive
 * reading for suite 17, fails integrity against them; found by test/bmc/ipmi-suite17.test.ts).
 */
export function deriveKeys(suite: CipherSuiteId, sik: Buffer): SessionKeys {
  return { sik, k1: hmac(suite, sik, Buffer.alloc(20, 0x01)), k2: hmac(suite, sik, Buffer.alloc(20, 0x02)) };
}

/** The per-packet integrity trailer: HMAC-SHA1-96 or HMAC-SHA256-128 keyed with K1 (§13.28.4). */
export function integrityCode(suite: CipherSuiteId, k1: Buffer, covered: Buffer): Buffer {
  return hmac(suite, k1, covered).subarray(0, CIPHER_SUITES[suite].icvLen);
}

/** Constant-time comparison of two auth codes. */
export function codesEqual(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * AES-CBC-128 payload encryption (§13.29): IV ‖ E(payload ‖ pad 1,2,3… ‖ padLen), key = K2[0..16).
 * The IPMI pad is not PKCS#7, so node's auto padding is off.
 */
export function encryptPayload(k2: Buffer, plain: Buffer, iv: Buffer = randomBytes(16)): Buffer {
  const padLen = (16 - ((plain.length + 1) % 16)) % 16;
  const pad = Buffer.alloc(padLen);
  for (let i = 0; i < padLen; i++) pad[i] = i + 1;
  const c = createCipheriv('aes-128-cbc', k2.subarray(0, 16), iv).setAutoPadding(false);
  return Buffer.concat([iv, c.update(Buffer.concat([plain, pad, Buffer.from([padLen])])), c.final()]);
}

/** Decrypts an AES-CBC-128 payload, checking the length and the confidentiality pad. */
export function decryptPayload(k2: Buffer, data: Buffer): Buffer {
  if (data.length < 32 || data.length % 16 !== 0) throw protocolError(`encrypted payload length ${data.length} is not IV + n×16 (n ≥ 1)`);
  const d = createDecipheriv('aes-128-cbc', k2.subarray(0, 16), data.subarray(0, 16)).setAutoPadding(false);
  const out = Buffer.concat([d.update(data.subarray(16)), d.final()]);
  const padLen = out[out.length - 1]!;
  if (padLen > 15 || padLen + 1 > out.length) throw protocolError(`confidentiality pad length ${padLen} invalid`);
  for (let i = 0; i < padLen; i++) {
    if (out[out.length - 1 - padLen + i] !== i + 1) throw protocolError('confidentiality pad bytes are not 1,2,3…');
  }
  return out.subarray(0, out.length - 1 - padLen);
}
