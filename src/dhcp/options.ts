import { intToIp, ipToInt } from '../net/ipv4.js';

/** DHCP option codes we read or write (RFC 2132 unless noted). */
export const OPT = {
  PAD: 0,
  SUBNET_MASK: 1,
  ROUTER: 3,
  DNS: 6,
  HOSTNAME: 12,
  DOMAIN: 15,
  BROADCAST: 28,
  VENDOR_SPECIFIC: 43,
  REQUESTED_IP: 50,
  LEASE_TIME: 51,
  OVERLOAD: 52,
  MESSAGE_TYPE: 53,
  SERVER_ID: 54,
  PARAM_LIST: 55,
  MESSAGE: 56,
  MAX_SIZE: 57,
  RENEWAL_T1: 58,
  REBINDING_T2: 59,
  VENDOR_CLASS: 60,
  CLIENT_ID: 61,
  TFTP_SERVER: 66,
  BOOTFILE: 67,
  USER_CLASS: 77,
  RELAY_AGENT: 82,
  CLIENT_ARCH: 93,
  CLIENT_NDI: 94,
  CLIENT_UUID: 97,
  IPXE: 175,
  END: 255,
} as const;

/** DHCP message types, option 53 (RFC 2132 §9.6). */
export const MSG = {
  DISCOVER: 1,
  OFFER: 2,
  REQUEST: 3,
  DECLINE: 4,
  ACK: 5,
  NAK: 6,
  RELEASE: 7,
  INFORM: 8,
} as const;

/** A DHCP message type number. */
export type MessageType = (typeof MSG)[keyof typeof MSG];

/** Client system architecture types, option 93 (RFC 4578 §2.1 and the IANA registry). */
export const ARCH = {
  BIOS: 0,
  EFI_IA32: 6,
  EFI_BC: 7,
  EFI_X64: 9,
  EFI_ARM64: 11,
  EFI_X64_HTTP: 16,
  EFI_ARM64_HTTP: 19,
} as const;

/** PXE vendor sub-options inside option 43 (PXE spec 2.1 §2.4.1). */
export const PXE_SUBOPT = { DISCOVERY_CONTROL: 6 } as const;
/** Relay agent sub-options inside option 82 (RFC 3046 §3). */
export const RELAY_SUBOPT = { CIRCUIT_ID: 1, REMOTE_ID: 2 } as const;

/** Option value holding one IPv4 address. */
export function ipOption(ip: string): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(ipToInt(ip));
  return b;
}

/** Option value holding a list of IPv4 addresses. */
export function ipListOption(ips: readonly string[]): Buffer {
  const b = Buffer.alloc(4 * ips.length);
  ips.forEach((ip, i) => b.writeUInt32BE(ipToInt(ip), 4 * i));
  return b;
}

/** Option value holding a 32-bit unsigned integer (lease times). */
export function u32Option(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}

/** The IPv4 address in an option value, or undefined unless it is exactly 4 bytes. */
export function readIp(v: Buffer | undefined): string | undefined {
  return v && v.length === 4 ? intToIp(v.readUInt32BE(0)) : undefined;
}

/**
 * Parses an encapsulated type-length-value list (option 43, 82, 175 share this layout).
 * A truncated tail is ignored: these are advisory and must not sink the whole packet.
 */
export function readSubOptions(v: Buffer): Map<number, Buffer> {
  const out = new Map<number, Buffer>();
  let i = 0;
  while (i + 1 < v.length) {
    const code = v[i]!;
    if (code === 0) {
      i++;
      continue;
    }
    if (code === 255) break;
    const len = v[i + 1]!;
    if (i + 2 + len > v.length) break;
    out.set(code, v.subarray(i + 2, i + 2 + len));
    i += 2 + len;
  }
  return out;
}

/** Encodes sub-options as type-length-value, followed by END (PXE option 43 wants it). */
export function writeSubOptions(subs: ReadonlyArray<readonly [number, Buffer]>, withEnd: boolean): Buffer {
  const parts: Buffer[] = [];
  for (const [code, value] of subs) parts.push(Buffer.from([code, value.length]), value);
  if (withEnd) parts.push(Buffer.from([255]));
  return Buffer.concat(parts);
}

/**
 * User classes from option 77. RFC 3004 wants length-prefixed items, but iPXE (and several
 * PXE stacks) send one bare string such as `iPXE`; when the RFC layout does not fit exactly
 * the whole value is one class.
 */
export function readUserClasses(v: Buffer | undefined): string[] {
  if (!v || v.length === 0) return [];
  const items: string[] = [];
  let i = 0;
  while (i < v.length) {
    const len = v[i]!;
    if (len === 0 || i + 1 + len > v.length) return [v.toString('latin1')];
    items.push(v.toString('latin1', i + 1, i + 1 + len));
    i += 1 + len;
  }
  return items;
}

/** First architecture type of option 93 (a list of 16-bit values, RFC 4578 §2.1). */
export function readArch(v: Buffer | undefined): number | undefined {
  return v && v.length >= 2 ? v.readUInt16BE(0) : undefined;
}

/**
 * The client UUID/GUID of option 97 (type 0 + 16 bytes, RFC 4578 §2.3) as the text dmidecode,
 * iPXE's ${uuid} and QEMU's `-smbios type=1,uuid=` show. The bytes are in the EFI GUID layout
 * SMBIOS 2.6+ uses: the first three fields little-endian (iPXE's dhcp.c sends it so, edk2 sends
 * the SMBIOS bytes as they are), so those fields are byte-swapped back.
 */
export function readClientUuid(v: Buffer | undefined): string | undefined {
  if (!v || v.length !== 17 || v[0] !== 0) return undefined;
  const h = (from: number, to: number, swap: boolean) => {
    const part = v.subarray(from, to);
    return Buffer.from(swap ? [...part].reverse() : part).toString('hex');
  };
  return `${h(1, 5, true)}-${h(5, 7, true)}-${h(7, 9, true)}-${h(9, 11, false)}-${h(11, 17, false)}`;
}

/** Network interface identifier of option 94 (type 1 = UNDI, then major.minor, RFC 4578 §2.2). */
export function readNicId(v: Buffer | undefined): string | undefined {
  return v && v.length === 3 ? `${v[0]}:${v[1]}.${v[2]}` : undefined;
}
