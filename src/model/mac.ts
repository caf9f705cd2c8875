import { AppError } from '../errors.js';

const HEX12 = /^[0-9a-f]{12}$/;

/**
 * Canonical MAC form (lower-case, colon-separated). Accepts `aa:bb:cc:dd:ee:ff`,
 * `AA-BB-CC-DD-EE-FF`, Cisco `aabb.ccdd.eeff` and 12 bare hex digits.
 */
export function normalizeMac(input: string): string {
  const s = input.trim().toLowerCase();
  let hex: string | undefined;
  if (/^([0-9a-f]{2}[:-]){5}[0-9a-f]{2}$/.test(s)) {
    const sep = s[2];
    if (s.split(sep!).length === 6) hex = s.replaceAll(sep!, '');
  } else if (/^[0-9a-f]{4}\.[0-9a-f]{4}\.[0-9a-f]{4}$/.test(s)) {
    hex = s.replaceAll('.', '');
  } else if (HEX12.test(s)) {
    hex = s;
  }
  if (hex === undefined || !HEX12.test(hex)) {
    throw new AppError('BAD_INPUT', `not a MAC address: ${JSON.stringify(input.slice(0, 40))}`);
  }
  return hex.match(/../g)!.join(':');
}

/** Like normalizeMac but returns undefined instead of throwing. */
export function tryNormalizeMac(input: string): string | undefined {
  try {
    return normalizeMac(input);
  } catch {
    return undefined;
  }
}

const HEX_BYTE = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** Canonical MAC from 6 raw bytes (e.g. a DHCP chaddr). Table lookups: it runs per DHCP packet. */
export function macFromBytes(b: Uint8Array): string {
  const h = (i: number) => HEX_BYTE[b[i] ?? 0];
  return `${h(0)}:${h(1)}:${h(2)}:${h(3)}:${h(4)}:${h(5)}`;
}
