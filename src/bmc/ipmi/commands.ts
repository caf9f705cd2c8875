import type { BootDevice, BootOverride } from '../driver.js';
import { BOOT_DEVICE_SELECTOR } from './constants.js';
import { need, protocolError } from './rmcp.js';

/** Get Channel Authentication Capabilities response (IPMI 2.0 §22.13, table 22-15). */
export interface ChannelAuthCaps {
  channel: number;
  /** Bit 7 of the auth type byte: IPMI v2.0 extended data present. */
  extended: boolean;
  /** Extended capabilities bit 1: the channel supports IPMI v2.0 (RMCP+) connections. */
  ipmi20: boolean;
  anonymousLogin: boolean;
}

/** Request data: channel 0x0E (this one) with bit 7 asking for v2.0 extended data. */
export function encodeGetChannelAuthCaps(privilege: number): Buffer {
  return Buffer.from([0x8e, privilege & 0x0f]);
}

/** Decodes Get Channel Authentication Capabilities response data. */
export function decodeChannelAuthCaps(d: Buffer): ChannelAuthCaps {
  need(d, 0, 8, 'channel auth caps');
  return { channel: d[0]!, extended: (d[1]! & 0x80) !== 0, ipmi20: (d[3]! & 0x02) !== 0, anonymousLogin: (d[2]! & 0x04) !== 0 };
}

/** Get Chassis Status response (IPMI 2.0 §28.2, table 28-3). */
export interface ChassisStatus {
  powerOn: boolean;
  powerOverload: boolean;
  powerFault: boolean;
  lastPowerEvent: number;
}

/** Decodes Get Chassis Status response data. */
export function decodeChassisStatus(d: Buffer): ChassisStatus {
  need(d, 0, 3, 'chassis status');
  const s = d[0]!;
  return { powerOn: (s & 0x01) !== 0, powerOverload: (s & 0x02) !== 0, powerFault: (s & 0x10) !== 0, lastPowerEvent: d[1]! };
}

/** Get Device ID response (IPMI 2.0 §20.1, table 20-2): who the BMC says it is. */
export interface DeviceId {
  deviceId: number;
  deviceRevision: number;
  /** Major.minor (the minor byte is BCD). */
  firmware: string;
  /** "2.0" for an IPMI v2.0 BMC (BCD nibbles, low nibble major). */
  ipmiVersion: string;
  /** IANA enterprise number (3 bytes, LS first). */
  manufacturerId: number;
  productId: number;
}

/** Decodes Get Device ID response data (the 11 mandatory bytes; the auxiliary revision is ignored). */
export function decodeDeviceId(d: Buffer): DeviceId {
  need(d, 0, 11, 'device id');
  const bcd = (b: number) => `${b >> 4}${b & 0x0f}`;
  return {
    deviceId: d[0]!,
    deviceRevision: d[1]! & 0x0f,
    firmware: `${d[2]! & 0x7f}.${bcd(d[3]!)}`,
    ipmiVersion: `${d[4]! & 0x0f}.${d[4]! >> 4}`,
    manufacturerId: d[6]! | (d[7]! << 8) | ((d[8]! & 0x0f) << 16),
    productId: d[9]! | (d[10]! << 8),
  };
}

/** Set System Boot Options parameter 0 (set in progress): 1 = set in progress, 0 = set complete. */
export function encodeBootParamSetInProgress(inProgress: boolean): Buffer {
  return Buffer.from([0x00, inProgress ? 0x01 : 0x00]);
}

/**
 * Parameter 3 (boot flag valid bit clearing): bit 4 stops the BMC clearing the valid bit when no
 * Chassis Control arrives within 60 s (IPMI 2.0 table 28-14), so a boot device set well before the
 * power action survives.
 */
export function encodeBootParamNoAutoClear(): Buffer {
  return Buffer.from([0x03, 0x10]);
}

/** Parameter 5 boot flags: byte 1 valid/persistent/EFI, byte 2 device selector (table 28-14). */
export function encodeBootFlags(o: BootOverride): Buffer {
  const sel = BOOT_DEVICE_SELECTOR[o.device];
  const b1 = o.device === 'none' ? 0 : 0x80 | (o.persistent ? 0x40 : 0) | (o.uefi ? 0x20 : 0);
  return Buffer.from([0x05, b1, (sel << 2) & 0x3c, 0, 0, 0]);
}

/** Get System Boot Options request: parameter, set selector 0, block selector 0. */
export function encodeGetBootOption(param: number): Buffer {
  return Buffer.from([param & 0x7f, 0, 0]);
}

/** Decodes the boot flags from a Get System Boot Options (param 5) response. */
export function decodeBootFlags(d: Buffer): BootOverride & { valid: boolean } {
  need(d, 0, 4, 'boot options response');
  if ((d[1]! & 0x7f) !== 5) throw protocolError(`boot options response is for parameter ${d[1]! & 0x7f}, not 5`);
  need(d, 2, 2, 'boot flags');
  const b1 = d[2]!;
  const sel = (d[3]! >> 2) & 0x0f;
  const device = (Object.entries(BOOT_DEVICE_SELECTOR).find(([, v]) => v === sel)?.[0] ?? 'none') as BootDevice;
  return { valid: (b1 & 0x80) !== 0, persistent: (b1 & 0x40) !== 0, uefi: (b1 & 0x20) !== 0, device };
}

/** Close Session request data: the BMC's session id (IPMI 2.0 §22.19). */
export function encodeCloseSession(bmcSessionId: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(bmcSessionId >>> 0);
  return b;
}
