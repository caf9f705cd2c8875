import { describe, expect, it } from 'vitest';
import { isAppError } from '../../src/errors.js';
import {
  TFTP_ERROR,
  ackBlockOf,
  decodeTftpPacket,
  encodeAck,
  encodeData,
  encodeError,
  encodeOack,
  encodeRequest,
} from '../../src/tftp/packet.js';
import { seededRandom } from './helpers/memory-net.js';

const hex = (s: string) => Buffer.from(s.replaceAll(' ', ''), 'hex');

describe('TFTP codec', () => {
  it('decodes an RRQ with options, lower-casing names and keeping the first of a repeat', () => {
    const pkt = Buffer.from('\x00\x01undionly.kpxe\x00OCTET\x00BlkSize\x001432\x00tsize\x000\x00blksize\x00512\x00', 'latin1');
    expect(decodeTftpPacket(pkt)).toEqual({
      op: 'rrq',
      filename: 'undionly.kpxe',
      mode: 'octet',
      options: { blksize: '1432', tsize: '0' },
    });
  });

  it.each([
    ['RRQ', encodeRequest({ op: 'rrq', filename: 'a/b', mode: 'octet', options: { windowsize: '16' } }), '0001 612f62 00 6f63746574 00 77696e646f7773697a65 00 3136 00'],
    ['WRQ', encodeRequest({ op: 'wrq', filename: 'x', mode: 'netascii' }), '0002 78 00 6e65746173636969 00'],
    ['DATA', encodeData(65536 + 7, Buffer.from('hi')), '0003 0007 6869'],
    ['ACK', encodeAck(65535), '0004 ffff'],
    ['ERROR', encodeError(TFTP_ERROR.ACCESS_VIOLATION, 'no'), '0005 0002 6e6f 00'],
    ['OACK', encodeOack({ blksize: '1432', tsize: '9' }), '0006 626c6b73697a65 00 31343332 00 7473697a65 00 39 00'],
  ])('encodes %s byte-exactly and decodes it back', (_name, encoded, wire) => {
    expect(encoded.toString('hex')).toBe(hex(wire).toString('hex'));
    const decoded = decodeTftpPacket(encoded);
    const again = (() => {
      switch (decoded.op) {
        case 'rrq':
        case 'wrq':
          return encodeRequest(decoded);
        case 'data':
          return encodeData(decoded.block, decoded.data);
        case 'ack':
          return encodeAck(decoded.block);
        case 'error':
          return encodeError(decoded.code, decoded.message);
        case 'oack':
          return encodeOack(decoded.options);
      }
    })();
    expect(again.equals(encoded)).toBe(true);
  });

  it('reads ACK numbers on the hot path and nothing else', () => {
    expect(ackBlockOf(encodeAck(513))).toBe(513);
    expect(ackBlockOf(encodeData(1, Buffer.alloc(0)))).toBeUndefined();
    expect(ackBlockOf(hex('0004'))).toBeUndefined();
  });

  it.each([
    ['empty', ''],
    ['one byte', '00'],
    ['unknown opcode', '0009 0001'],
    ['opcode 0', '0000'],
    ['short ACK', '0004 01'],
    ['short DATA', '0003 00'],
    ['short ERROR', '0005 00'],
    ['RRQ without mode', '0001 6162 00'],
  ])('refuses a malformed packet (%s) with a PROTOCOL error naming the reason', (_name, wire) => {
    let err: unknown;
    try {
      decodeTftpPacket(hex(wire));
    } catch (e) {
      err = e;
    }
    expect(isAppError(err, 'PROTOCOL')).toBe(true);
  });

  it('accepts a request whose last field lacks its NUL (seen on embedded clients)', () => {
    expect(decodeTftpPacket(Buffer.from('\x00\x01f\x00octet', 'latin1'))).toMatchObject({ filename: 'f', mode: 'octet' });
  });

  it('never throws anything but PROTOCOL errors on 100,000 random and truncated packets', () => {
    const random = seededRandom(42);
    const valid = [
      encodeRequest({ op: 'rrq', filename: 'ipxe.efi', mode: 'octet', options: { blksize: '1468', tsize: '0', windowsize: '8' } }),
      encodeData(3, Buffer.alloc(20, 1)),
      encodeAck(9),
      encodeError(1, 'x'),
      encodeOack({ blksize: '512' }),
    ];
    let protocolErrors = 0;
    for (let i = 0; i < 100_000; i++) {
      let pkt: Buffer;
      if (i % 2 === 0) {
        pkt = Buffer.alloc(Math.floor(random() * 64));
        for (let j = 0; j < pkt.length; j++) pkt[j] = Math.floor(random() * 256);
        if (pkt.length >= 2 && random() < 0.7) pkt[0] = 0; // bias towards known opcodes
      } else {
        const base = valid[i % valid.length]!;
        pkt = Buffer.from(base.subarray(0, Math.floor(random() * (base.length + 1))));
        if (pkt.length > 0 && random() < 0.5) pkt[Math.floor(random() * pkt.length)] = Math.floor(random() * 256);
      }
      try {
        decodeTftpPacket(pkt);
      } catch (e) {
        if (!isAppError(e, 'PROTOCOL')) throw e;
        protocolErrors++;
      }
    }
    expect(protocolErrors).toBeGreaterThan(10_000);
  });
});
