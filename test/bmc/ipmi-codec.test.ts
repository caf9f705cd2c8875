import { describe, expect, it } from 'vitest';
import { decodeBootFlags, decodeChannelAuthCaps, decodeChassisStatus, decodeDeviceId, encodeBootFlags } from '../../src/bmc/ipmi/commands.js';
import { decryptPayload, encryptPayload, integrityCode } from '../../src/bmc/ipmi/crypto.js';
import { decodeIpmiRequest, decodeIpmiResponse, encodeIpmiRequest, encodeIpmiResponse } from '../../src/bmc/ipmi/message.js';
import {
  decodeOpenSessionRequest,
  decodeOpenSessionResponse,
  decodeRakp1,
  decodeRakp2,
  decodeRakp3,
  decodeRakp4,
  encodeOpenSessionRequest,
  encodeOpenSessionResponse,
  encodeRakp1,
  encodeRakp2,
  encodeRakp3,
  encodeRakp4,
} from '../../src/bmc/ipmi/rakp.js';
import { decodeRmcp, encodeAsfPing, encodeAsfPong, encodeV15, encodeV20 } from '../../src/bmc/ipmi/rmcp.js';
import { isAppError } from '../../src/errors.js';

const k = Buffer.alloc(32, 7);

describe('Get Device ID (IPMI 2.0 table 20-2)', () => {
  it.each([
    // id, rev (bit 7: SDRs), fw major (bit 7: update in progress), fw minor BCD, IPMI 2.0, support, IANA 3 bytes LS first, product LS first
    [[0x20, 0x81, 0x02, 0x15, 0x02, 0xbf, 0xa2, 0x02, 0x00, 0x00, 0x01], { deviceId: 0x20, deviceRevision: 1, firmware: '2.15', ipmiVersion: '2.0', manufacturerId: 674, productId: 0x100 }],
    [[0x00, 0x00, 0x81, 0x09, 0x51, 0x00, 0x57, 0x01, 0x00, 0x34, 0x12, 0xaa, 0xbb, 0xcc, 0xdd], { deviceId: 0, deviceRevision: 0, firmware: '1.09', ipmiVersion: '1.5', manufacturerId: 343, productId: 0x1234 }],
  ])('%j', (bytes, want) => {
    expect(decodeDeviceId(Buffer.from(bytes))).toEqual(want);
  });
  it('a short response is a PROTOCOL error', () => {
    expect(() => decodeDeviceId(Buffer.alloc(10))).toThrow(/device id: need 11 bytes/);
  });
});

describe('RMCP / RMCP+ codec', () => {
  it('round-trips ASF ping and pong', () => {
    expect(decodeRmcp(encodeAsfPing(9))).toEqual({ kind: 'asf', asf: { type: 'ping', tag: 9 } });
    expect(decodeRmcp(encodeAsfPong(9))).toMatchObject({ kind: 'asf', asf: { type: 'pong', tag: 9, ipmiSupported: true } });
  });
  it('round-trips v1.5 and authenticated, encrypted v2.0 packets', () => {
    const req = encodeIpmiRequest({ netFn: 0, cmd: 1, rqSeq: 5, data: Buffer.from([1, 2]) });
    expect(decodeRmcp(encodeV15(req))).toMatchObject({ kind: 'v15', packet: { payload: req } });
    for (const suite of [3, 17] as const) {
      const enc = encryptPayload(k, req);
      const pkt = encodeV20({ payloadType: 0, encrypted: true, sessionId: 0xdeadbeef, seq: 7 }, enc, (c) => integrityCode(suite, k, c));
      // auth type .. next header is a multiple of 4 (§13.28.4)
      expect((pkt.length - 4 - (suite === 3 ? 12 : 16)) % 4).toBe(0);
      const d = decodeRmcp(pkt, suite === 3 ? 12 : 16);
      if (d.kind !== 'v20') throw new Error('kind');
      expect(d.packet).toMatchObject({ sessionId: 0xdeadbeef, seq: 7, encrypted: true, authenticated: true });
      expect(d.packet.authCode).toEqual(integrityCode(suite, k, d.packet.covered!));
      expect(decodeIpmiRequest(decryptPayload(k, d.packet.payload))).toMatchObject({ netFn: 0, cmd: 1, rqSeq: 5 });
    }
  });
  it('AES-CBC-128 pads with 1,2,3… and a pad length for every length', () => {
    for (let n = 0; n < 40; n++) {
      const p = Buffer.alloc(n, 0x5a);
      const e = encryptPayload(k, p);
      expect(e.length % 16).toBe(0);
      expect(decryptPayload(k, e)).toEqual(p);
    }
  });
  it('round-trips open session and RAKP messages', () => {
    const osr = { tag: 1, privilege: 4, consoleSessionId: 0x10203040, suite: 17 as const };
    expect(decodeOpenSessionRequest(encodeOpenSessionRequest(osr))).toEqual({ tag: 1, privilege: 4, consoleSessionId: 0x10203040, auth: 3, integrity: 4, conf: 1 });
    const resp = { tag: 1, status: 0, privilege: 4, consoleSessionId: 1, bmcSessionId: 2, auth: 1, integrity: 1, conf: 1 };
    expect(decodeOpenSessionResponse(encodeOpenSessionResponse(resp))).toEqual(resp);
    const r1 = { tag: 2, bmcSessionId: 3, consoleRandom: Buffer.alloc(16, 1), role: 0x14, username: 'admin' };
    expect(decodeRakp1(encodeRakp1(r1))).toEqual(r1);
    const r2 = { tag: 3, status: 0, consoleSessionId: 4, bmcRandom: Buffer.alloc(16, 2), bmcGuid: Buffer.alloc(16, 3), authCode: Buffer.alloc(32, 4) };
    expect(decodeRakp2(encodeRakp2(r2), 32)).toEqual(r2);
    const r3 = { tag: 4, status: 0, bmcSessionId: 5, authCode: Buffer.alloc(20, 6) };
    expect(decodeRakp3(encodeRakp3(r3), 20)).toEqual(r3);
    const r4 = { tag: 5, status: 0, consoleSessionId: 6, icv: Buffer.alloc(12, 7) };
    expect(decodeRakp4(encodeRakp4(r4), 12)).toEqual(r4);
  });
  it('boot flags: valid/persistent/EFI and the device selector (param 5)', () => {
    expect(encodeBootFlags({ device: 'pxe', persistent: true, uefi: true })).toEqual(Buffer.from([5, 0xe0, 0x04, 0, 0, 0]));
    expect(encodeBootFlags({ device: 'disk', persistent: false, uefi: false })).toEqual(Buffer.from([5, 0x80, 0x08, 0, 0, 0]));
    expect(decodeBootFlags(Buffer.from([1, 5, 0xa0, 0x14, 0, 0, 0]))).toEqual({ valid: true, persistent: false, uefi: true, device: 'cdrom' });
  });
  it('rejects bad checksums and truncated input with PROTOCOL errors naming the offsets', () => {
    const r = encodeIpmiResponse({ netFn: 1, cmd: 1, rqSeq: 1, completionCode: 0, data: Buffer.from([1, 0, 0]) });
    expect(decodeIpmiResponse(r).data).toEqual(Buffer.from([1, 0, 0]));
    r[r.length - 1] = r[r.length - 1]! ^ 1;
    expect(() => decodeIpmiResponse(r)).toThrow(/checksum/);
    expect(() => decodeRakp2(Buffer.from([1, 0, 0]), 20)).toThrow(/need 60 bytes at offset 0, have 3/);
  });
});

describe('decoders survive 100,000 random and truncated inputs', () => {
  // xorshift32: deterministic, so a failure reproduces.
  let seed = 0x9e3779b9;
  const rnd = () => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) / 0x100000000;
  };
  const valid = [
    encodeAsfPong(1),
    encodeV15(encodeIpmiRequest({ netFn: 6, cmd: 0x38, rqSeq: 1, data: Buffer.from([0x8e, 4]) })),
    encodeV20({ payloadType: 0, encrypted: true, sessionId: 1, seq: 1 }, encryptPayload(k, Buffer.alloc(9)), (c) => integrityCode(17, k, c)),
    encodeOpenSessionResponse({ tag: 1, status: 0, privilege: 4, consoleSessionId: 1, bmcSessionId: 2, auth: 3, integrity: 4, conf: 1 }),
    encodeRakp2({ tag: 3, status: 0, consoleSessionId: 4, bmcRandom: Buffer.alloc(16, 2), bmcGuid: Buffer.alloc(16, 3), authCode: Buffer.alloc(32, 4) }),
  ];
  const decoders: ((b: Buffer) => unknown)[] = [
    (b) => decodeRmcp(b, 16),
    (b) => decodeRmcp(b, 12),
    decodeOpenSessionRequest,
    decodeOpenSessionResponse,
    decodeRakp1,
    (b) => decodeRakp2(b, 32),
    (b) => decodeRakp3(b, 20),
    (b) => decodeRakp4(b, 16),
    decodeIpmiRequest,
    decodeIpmiResponse,
    decodeChannelAuthCaps,
    decodeChassisStatus,
    decodeBootFlags,
    (b) => decryptPayload(k, b),
  ];
  it('only ever throws typed PROTOCOL errors', () => {
    let thrown = 0;
    for (let i = 0; i < 100_000; i++) {
      let b: Buffer;
      if (i % 2 === 0) {
        const base = valid[i % valid.length]!;
        b = Buffer.from(base.subarray(0, Math.floor(rnd() * (base.length + 1))));
        if (b.length && rnd() < 0.5) b[Math.floor(rnd() * b.length)] = Math.floor(rnd() * 256);
      } else {
        b = Buffer.alloc(Math.floor(rnd() * 80));
        for (let j = 0; j < b.length; j++) b[j] = Math.floor(rnd() * 256);
        if (b.length > 4 && rnd() < 0.5) b.set([6, 0, 0xff, 7], 0);
      }
      const dec = decoders[i % decoders.length]!;
      try {
        dec(b);
      } catch (e) {
        thrown++;
        if (!isAppError(e, 'PROTOCOL')) throw new Error(`decoder ${i % decoders.length} threw ${String(e)} on ${b.toString('hex')}`);
      }
    }
    expect(thrown).toBeGreaterThan(1000);
  });
});
