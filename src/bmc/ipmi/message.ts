import { ADDR } from './constants.js';
import { need, protocolError } from './rmcp.js';

/** An IPMI request as carried in a LAN payload (IPMI 2.0 table 13-8, §13.8). */
export interface IpmiRequest {
  netFn: number;
  cmd: number;
  /** 6-bit requester sequence number used to match the response. */
  rqSeq: number;
  data: Buffer;
}

/** An IPMI response; `netFn` is the response netFn (request netFn + 1). */
export interface IpmiResponse {
  netFn: number;
  cmd: number;
  rqSeq: number;
  completionCode: number;
  data: Buffer;
}

/** Two's complement checksum (IPMI 2.0 §13.8): the sum of the covered bytes plus it is 0 mod 256. */
export function checksum(b: Buffer, from: number, to: number): number {
  let s = 0;
  for (let i = from; i < to; i++) s = (s + b[i]!) & 0xff;
  return (0x100 - s) & 0xff;
}

/** Encodes a request from the remote console (SWID 0x81) to the BMC (0x20), LUN 0. */
export function encodeIpmiRequest(r: IpmiRequest): Buffer {
  const b = Buffer.alloc(7 + r.data.length);
  b[0] = ADDR.BMC;
  b[1] = (r.netFn << 2) & 0xfc;
  b[2] = checksum(b, 0, 2);
  b[3] = ADDR.REMOTE_CONSOLE;
  b[4] = (r.rqSeq << 2) & 0xfc;
  b[5] = r.cmd;
  r.data.copy(b, 6);
  b[b.length - 1] = checksum(b, 3, b.length - 1);
  return b;
}

/** Decodes a request (responders, fuzzing). */
export function decodeIpmiRequest(b: Buffer): IpmiRequest {
  need(b, 0, 7, 'IPMI request');
  verifyChecksums(b);
  return { netFn: b[1]! >> 2, rqSeq: b[4]! >> 2, cmd: b[5]!, data: Buffer.from(b.subarray(6, b.length - 1)) };
}

/** Encodes a response to a request (responders in tests). */
export function encodeIpmiResponse(r: IpmiResponse): Buffer {
  const b = Buffer.alloc(8 + r.data.length);
  b[0] = ADDR.REMOTE_CONSOLE;
  b[1] = (r.netFn << 2) & 0xfc;
  b[2] = checksum(b, 0, 2);
  b[3] = ADDR.BMC;
  b[4] = (r.rqSeq << 2) & 0xfc;
  b[5] = r.cmd;
  b[6] = r.completionCode;
  r.data.copy(b, 7);
  b[b.length - 1] = checksum(b, 3, b.length - 1);
  return b;
}

/** Decodes a BMC response, verifying both checksums. */
export function decodeIpmiResponse(b: Buffer): IpmiResponse {
  need(b, 0, 8, 'IPMI response');
  verifyChecksums(b);
  return {
    netFn: b[1]! >> 2,
    rqSeq: b[4]! >> 2,
    cmd: b[5]!,
    completionCode: b[6]!,
    data: Buffer.from(b.subarray(7, b.length - 1)),
  };
}

function verifyChecksums(b: Buffer): void {
  if (checksum(b, 0, 2) !== b[2]) throw protocolError(`header checksum 0x${b[2]!.toString(16)} wrong`);
  if (checksum(b, 3, b.length - 1) !== b[b.length - 1]) throw protocolError(`data checksum 0x${b[b.length - 1]!.toString(16)} wrong`);
}
