import { AppError } from '../errors.js';

/** TFTP opcodes: RFC 1350 §5 (RRQ..ERROR) and RFC 2347 (OACK). */
export const OPCODE = { RRQ: 1, WRQ: 2, DATA: 3, ACK: 4, ERROR: 5, OACK: 6 } as const;

/** TFTP error codes: RFC 1350 appendix, plus 8 from RFC 2347 (option negotiation refused). */
export const TFTP_ERROR = {
  NOT_DEFINED: 0,
  FILE_NOT_FOUND: 1,
  ACCESS_VIOLATION: 2,
  DISK_FULL: 3,
  ILLEGAL_OPERATION: 4,
  UNKNOWN_TID: 5,
  FILE_EXISTS: 6,
  NO_SUCH_USER: 7,
  OPTION_REFUSED: 8,
} as const;

/** A read or write request with its RFC 2347 options (names lower-cased, first one wins). */
export interface TftpRequest {
  op: 'rrq' | 'wrq';
  filename: string;
  mode: string;
  options: Record<string, string>;
}

/** Any decoded TFTP packet. */
export type TftpPacket =
  | TftpRequest
  | { op: 'data'; block: number; data: Buffer }
  | { op: 'ack'; block: number }
  | { op: 'error'; code: number; message: string }
  | { op: 'oack'; options: Record<string, string> };

function malformed(message: string): AppError {
  return new AppError('PROTOCOL', `malformed TFTP packet: ${message}`);
}

/**
 * Splits NUL-terminated strings from `start`. Fields are decoded as latin1 so no byte is lost;
 * a final field without its NUL is accepted (some embedded clients omit it).
 */
function readStrings(buf: Buffer, start: number): string[] {
  const out: string[] = [];
  let at = start;
  while (at < buf.length) {
    const end = buf.indexOf(0, at);
    if (end === -1) {
      out.push(buf.toString('latin1', at));
      break;
    }
    out.push(buf.toString('latin1', at, end));
    at = end + 1;
  }
  return out;
}

function optionsOf(fields: string[]): Record<string, string> {
  const options: Record<string, string> = Object.create(null);
  // An option name without a value (odd field count) is ignored, as is a repeated name (RFC 2347).
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const name = fields[i]!.toLowerCase();
    if (name !== '' && !(name in options)) options[name] = fields[i + 1]!;
  }
  return options;
}

/** Decodes one TFTP datagram; throws AppError('PROTOCOL') with the reason when malformed. */
export function decodeTftpPacket(buf: Buffer): TftpPacket {
  if (buf.length < 2) throw malformed(`${buf.length} bytes, need at least 2`);
  const opcode = buf.readUInt16BE(0);
  switch (opcode) {
    case OPCODE.RRQ:
    case OPCODE.WRQ: {
      const fields = readStrings(buf, 2);
      if (fields.length < 2) throw malformed(`request has ${fields.length} fields, need filename and mode`);
      return {
        op: opcode === OPCODE.RRQ ? 'rrq' : 'wrq',
        filename: fields[0]!,
        mode: fields[1]!.toLowerCase(),
        options: optionsOf(fields.slice(2)),
      };
    }
    case OPCODE.DATA:
      if (buf.length < 4) throw malformed(`DATA of ${buf.length} bytes, need at least 4`);
      return { op: 'data', block: buf.readUInt16BE(2), data: buf.subarray(4) };
    case OPCODE.ACK:
      if (buf.length < 4) throw malformed(`ACK of ${buf.length} bytes, need 4`);
      return { op: 'ack', block: buf.readUInt16BE(2) };
    case OPCODE.ERROR: {
      if (buf.length < 4) throw malformed(`ERROR of ${buf.length} bytes, need at least 4`);
      return { op: 'error', code: buf.readUInt16BE(2), message: readStrings(buf, 4)[0] ?? '' };
    }
    case OPCODE.OACK:
      return { op: 'oack', options: optionsOf(readStrings(buf, 2)) };
    default:
      throw malformed(`unknown opcode ${opcode}`);
  }
}

/** Reads only the opcode and block number of an ACK (hot path); undefined if not an ACK. */
export function ackBlockOf(buf: Buffer): number | undefined {
  return buf.length >= 4 && buf[0] === 0 && buf[1] === OPCODE.ACK ? buf.readUInt16BE(2) : undefined;
}

function encodeStrings(opcode: number, fields: string[]): Buffer {
  const parts = fields.map((f) => Buffer.from(f, 'latin1'));
  const out = Buffer.alloc(2 + parts.reduce((n, p) => n + p.length + 1, 0));
  out.writeUInt16BE(opcode, 0);
  let at = 2;
  for (const p of parts) {
    p.copy(out, at);
    at += p.length + 1;
  }
  return out;
}

/** Encodes an RRQ or WRQ (used by tests and tools; the server only receives them). */
export function encodeRequest(r: Omit<TftpRequest, 'options'> & { options?: Record<string, string> }): Buffer {
  const opts = Object.entries(r.options ?? {}).flat();
  return encodeStrings(r.op === 'rrq' ? OPCODE.RRQ : OPCODE.WRQ, [r.filename, r.mode, ...opts]);
}

/** Encodes a DATA packet; `block` is the 16-bit wire number. */
export function encodeData(block: number, data: Buffer): Buffer {
  const out = Buffer.allocUnsafe(4 + data.length);
  out.writeUInt16BE(OPCODE.DATA, 0);
  out.writeUInt16BE(block & 0xffff, 2);
  data.copy(out, 4);
  return out;
}

/** Encodes an ACK packet. */
export function encodeAck(block: number): Buffer {
  const out = Buffer.allocUnsafe(4);
  out.writeUInt16BE(OPCODE.ACK, 0);
  out.writeUInt16BE(block & 0xffff, 2);
  return out;
}

/** Encodes an ERROR packet (the message is text for the client's log). */
export function encodeError(code: number, message: string): Buffer {
  const text = Buffer.from(message, 'latin1');
  const out = Buffer.alloc(5 + text.length);
  out.writeUInt16BE(OPCODE.ERROR, 0);
  out.writeUInt16BE(code & 0xffff, 2);
  text.copy(out, 4);
  return out;
}

/** Encodes an OACK with the accepted options (RFC 2347). */
export function encodeOack(options: Record<string, string>): Buffer {
  return encodeStrings(OPCODE.OACK, Object.entries(options).flat());
}
