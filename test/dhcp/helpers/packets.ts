import { OPT } from '../../../src/dhcp/options.js';
import { BOOTREQUEST, type DhcpPacket, encodeDhcpPacket } from '../../../src/dhcp/packet.js';

/** Fields of a client packet built in a test. */
export interface ClientPacketSpec {
  type: number;
  mac: string;
  xid?: number;
  ciaddr?: string;
  giaddr?: string;
  flags?: number;
  /** Extra options in order (code → value). */
  options?: Array<[number, Buffer | string | number[]]>;
}

/** A client (BOOTREQUEST) packet as a DhcpPacket. */
export function clientPacket(s: ClientPacketSpec): DhcpPacket {
  const chaddr = Buffer.alloc(16);
  Buffer.from(s.mac.replaceAll(':', ''), 'hex').copy(chaddr);
  const options = new Map<number, Buffer>([[OPT.MESSAGE_TYPE, Buffer.from([s.type])]]);
  for (const [code, v] of s.options ?? []) {
    options.set(code, Buffer.isBuffer(v) ? v : typeof v === 'string' ? Buffer.from(v, 'latin1') : Buffer.from(v));
  }
  return {
    op: BOOTREQUEST,
    htype: 1,
    hlen: 6,
    hops: 0,
    xid: s.xid ?? 0x12345678,
    secs: 0,
    flags: s.flags ?? 0,
    ciaddr: s.ciaddr ?? '0.0.0.0',
    yiaddr: '0.0.0.0',
    siaddr: '0.0.0.0',
    giaddr: s.giaddr ?? '0.0.0.0',
    chaddr,
    sname: '',
    file: '',
    options,
  };
}

/** Encoded client packet. */
export function clientBytes(s: ClientPacketSpec): Buffer {
  return encodeDhcpPacket(clientPacket(s));
}

/** Options a firmware sends, per client kind (what the real firmware puts in its DISCOVER). */
export const FIRMWARE = {
  /** SeaBIOS with a plain PXE ROM (arch 0). */
  biosPxe: [
    [OPT.VENDOR_CLASS, 'PXEClient:Arch:00000:UNDI:002001'],
    [OPT.CLIENT_ARCH, [0, 0]],
    [OPT.CLIENT_NDI, [1, 2, 1]],
  ],
  /** edk2/OVMF x64 PXE (arch 7). */
  uefiX64: [
    [OPT.VENDOR_CLASS, 'PXEClient:Arch:00007:UNDI:003000'],
    [OPT.CLIENT_ARCH, [0, 7]],
    [OPT.CLIENT_NDI, [1, 3, 0]],
    [OPT.CLIENT_UUID, [0, ...Array.from({ length: 16 }, (_, i) => i)]],
  ],
  /** Firmware reporting EFI x86-64 (arch 9). */
  uefiX64Alt: [
    [OPT.VENDOR_CLASS, 'PXEClient:Arch:00009:UNDI:003016'],
    [OPT.CLIENT_ARCH, [0, 9]],
  ],
  /** arm64 UEFI PXE (arch 11). */
  arm64: [
    [OPT.VENDOR_CLASS, 'PXEClient:Arch:00011:UNDI:003000'],
    [OPT.CLIENT_ARCH, [0, 11]],
  ],
  /** UEFI HTTP boot, x64 (arch 16). */
  httpBoot: [
    [OPT.VENDOR_CLASS, 'HTTPClient:Arch:00016:UNDI:003000'],
    [OPT.CLIENT_ARCH, [0, 16]],
  ],
  /** iPXE (any arch) identifying itself with user class and option 175. */
  ipxe: [
    [OPT.VENDOR_CLASS, 'PXEClient:Arch:00000:UNDI:002001'],
    [OPT.CLIENT_ARCH, [0, 0]],
    [OPT.USER_CLASS, 'iPXE'],
    [OPT.IPXE, [0xb1, 1, 1]],
  ],
  /** A plain OS DHCP client. */
  plain: [[OPT.VENDOR_CLASS, 'udhcp 1.35.0']],
} as const satisfies Record<string, ReadonlyArray<readonly [number, string | number[]]>>;

/** Mutable copy of a firmware option list. */
export function firmware(kind: keyof typeof FIRMWARE): Array<[number, Buffer | string | number[]]> {
  return FIRMWARE[kind].map(([c, v]) => [c, typeof v === 'string' ? v : [...v]]);
}
