/** IPv4/IPv6 address and CIDR parsing for the import policy (pure, no I/O). */

/** An IP address as a family and a 32- or 128-bit integer. */
export interface IpAddress {
  family: 4 | 6;
  value: bigint;
}

/** A CIDR block: the network address and its prefix length. */
export interface IpBlock {
  family: 4 | 6;
  network: bigint;
  prefix: number;
}

const bits = (family: 4 | 6) => (family === 4 ? 32 : 128);

function parseIpv4(s: string): bigint | undefined {
  const parts = s.split('.');
  if (parts.length !== 4) return undefined;
  let v = 0n;
  for (const p of parts) {
    // Strict dotted decimal: no octal/hex forms, no leading zeros (the URL parser canonicalises those first).
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p) || Number(p) > 255) return undefined;
    v = (v << 8n) | BigInt(p);
  }
  return v;
}

function parseHextets(s: string): bigint[] | undefined {
  if (s === '') return [];
  const out: bigint[] = [];
  for (const h of s.split(':')) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(h)) return undefined;
    out.push(BigInt(`0x${h}`));
  }
  return out;
}

function parseIpv6(input: string): bigint | undefined {
  let s = input.replace(/%.*$/, ''); // zone id (fe80::1%eth0): the address itself decides
  const lastColon = s.lastIndexOf(':');
  const last = s.slice(lastColon + 1);
  if (last.includes('.')) {
    // An embedded IPv4 tail (::ffff:1.2.3.4) stands for the last two hextets.
    const v4 = parseIpv4(last);
    if (v4 === undefined) return undefined;
    s = `${s.slice(0, lastColon + 1)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  const left = parseHextets(halves[0] ?? '');
  const right = halves.length === 2 ? parseHextets(halves[1] ?? '') : [];
  if (!left || !right) return undefined;
  const missing = 8 - left.length - right.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  const groups = [...left, ...new Array<bigint>(missing).fill(0n), ...right];
  return groups.reduce((acc, g) => (acc << 16n) | g, 0n);
}

/** Parses a literal IPv4 or IPv6 address (brackets and a zone id allowed); undefined when it is not one. */
export function parseIp(s: string): IpAddress | undefined {
  const bare = s.startsWith('[') && s.endsWith(']') ? s.slice(1, -1) : s;
  const v4 = parseIpv4(bare);
  if (v4 !== undefined) return { family: 4, value: v4 };
  if (!bare.includes(':')) return undefined;
  const v6 = parseIpv6(bare);
  return v6 === undefined ? undefined : { family: 6, value: v6 };
}

/** Parses `addr/prefix` (or a bare address as a single-host block); host bits are cleared. */
export function parseBlock(s: string): IpBlock | undefined {
  const slash = s.indexOf('/');
  const ip = parseIp(slash < 0 ? s : s.slice(0, slash));
  if (!ip) return undefined;
  const max = bits(ip.family);
  const len = slash < 0 ? String(max) : s.slice(slash + 1);
  if (!/^[0-9]{1,3}$/.test(len) || Number(len) > max) return undefined;
  const prefix = Number(len);
  const mask = ((1n << BigInt(max)) - 1n) ^ ((1n << BigInt(max - prefix)) - 1n);
  return { family: ip.family, network: ip.value & mask, prefix };
}

/** True when the address lies inside the block (same family only). */
export function inBlock(block: IpBlock, ip: IpAddress): boolean {
  if (block.family !== ip.family) return false;
  const shift = BigInt(bits(ip.family) - block.prefix);
  return ip.value >> shift === block.network >> shift;
}

/**
 * The IPv4 address an IPv6 address carries when the packet really goes to that IPv4 host:
 * IPv4-mapped (::ffff:0:0/96, RFC 4291 §2.5.5.2), IPv4-compatible (::/96, deprecated but still
 * routed by some stacks) and the NAT64 well-known prefix (64:ff9b::/96, RFC 6052 §2.1).
 */
export function embeddedIpv4(ip: IpAddress): IpAddress | undefined {
  if (ip.family !== 6) return undefined;
  const high = ip.value >> 32n;
  const low = ip.value & 0xffffffffn;
  if (high === 0xffffn || high === 0x0064ff9b0000000000000000n) return { family: 4, value: low };
  // ::/96 without :: and ::1 themselves (those are the unspecified and loopback addresses).
  if (high === 0n && low > 1n) return { family: 4, value: low };
  return undefined;
}
