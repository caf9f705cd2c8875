/** IPv4 address helpers shared by the UDP protocol servers (pure, no I/O). */

/** Dotted quad → unsigned 32-bit integer; NaN-free: throws on anything that is not an IPv4 address. */
export function ipToInt(ip: string): number {
  // Hand-rolled: this runs several times per DHCP packet, split/regex showed up in profiles.
  let n = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < ip.length; i++) {
    const c = ip.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || dots === 3) throw new RangeError(`not an IPv4 address: ${ip}`);
      n = n * 256 + octet;
      octet = 0;
      digits = 0;
      dots++;
    } else if (c >= 48 && c <= 57 && digits < 3) {
      octet = octet * 10 + (c - 48);
      digits++;
      if (octet > 255) throw new RangeError(`not an IPv4 address: ${ip}`);
    } else {
      throw new RangeError(`not an IPv4 address: ${ip}`);
    }
  }
  if (dots !== 3 || digits === 0) throw new RangeError(`not an IPv4 address: ${ip}`);
  return n * 256 + octet;
}

/** Unsigned 32-bit integer → dotted quad. */
export function intToIp(n: number): string {
  return `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

/** A parsed CIDR block with its network, mask and broadcast as integers. */
export interface Cidr {
  network: number;
  prefix: number;
  mask: number;
  broadcast: number;
}

/** Parses `a.b.c.d/n`; the host bits are cleared. */
export function parseCidr(cidr: string): Cidr {
  const [ip, len] = cidr.split('/');
  const prefix = Number(len);
  if (ip === undefined || !Number.isInteger(prefix) || prefix < 0 || prefix > 32) {
    throw new RangeError(`not a CIDR block: ${cidr}`);
  }
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  const network = (ipToInt(ip) & mask) >>> 0;
  return { network, prefix, mask, broadcast: (network | (~mask >>> 0)) >>> 0 };
}

/** True when the address (integer) lies inside the block. */
export function inCidr(c: Cidr, ip: number): boolean {
  return ((ip & c.mask) >>> 0) === c.network;
}
