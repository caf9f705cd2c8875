/**
 * What an artifact import may read (pure, no I/O): which local paths and which network
 * addresses. rackboot runs as root, so a registration must never become a way to copy an
 * arbitrary file into the public asset store or to make rackboot fetch from internal services.
 */
import { posix } from 'node:path';
import { type IpAddress, type IpBlock, embeddedIpv4, inBlock, parseBlock, parseIp } from './ip-address.js';

/** Why an address is refused; only loopback and link-local can be lifted by assets.allowHosts. */
export type AddressRefusal = 'loopback' | 'link-local' | 'metadata' | 'unspecified' | 'multicast' | 'reserved' | 'invalid';

/** The outcome of an address check. */
export type AddressDecision = { ok: true } | { ok: false; reason: AddressRefusal };

const blocks = (list: string[]): IpBlock[] => list.map((b) => parseBlock(b) as IpBlock);

/** Cloud instance-metadata endpoints: never a mirror, refused even when allowHosts covers them. */
const METADATA = blocks([
  '169.254.169.254/32', // AWS, GCP, Azure, OpenStack, DigitalOcean
  'fd00:ec2::254/128', // AWS IMDS over IPv6
  '100.100.100.200/32', // Alibaba Cloud
  '168.63.129.16/32', // Azure WireServer
]);

/** Ranges that are never a valid peer for an HTTP download (RFC 6890 special-purpose registries). */
const NEVER: Array<[AddressRefusal, IpBlock[]]> = [
  ['unspecified', blocks(['0.0.0.0/8', '::/128'])], // 0.0.0.0 reaches the local host on Linux
  ['multicast', blocks(['224.0.0.0/4', 'ff00::/8'])],
  ['reserved', blocks(['240.0.0.0/4'])], // includes 255.255.255.255
];

/** Ranges refused unless the operator lists them (or the host name) in assets.allowHosts. */
const UNLESS_ALLOWED: Array<[AddressRefusal, IpBlock[]]> = [
  ['loopback', blocks(['127.0.0.0/8', '::1/128'])],
  ['link-local', blocks(['169.254.0.0/16', 'fe80::/10'])],
];

function classify(ip: IpAddress, table: Array<[AddressRefusal, IpBlock[]]>): AddressRefusal | undefined {
  return table.find(([, list]) => list.some((b) => inBlock(b, ip)))?.[0];
}

/** True when an allowHosts entry is well-formed: a host name, an IP address or a CIDR block. */
export function isAllowHostEntry(entry: string): boolean {
  if (entry.includes('/')) return parseBlock(entry) !== undefined;
  return parseIp(entry) !== undefined || /^(?=.{1,253}$)([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?\.?)+$/i.test(entry);
}

const normalHost = (h: string) => h.toLowerCase().replace(/^\[|\]$/g, '').replace(/\.$/, '');

/** True when the URL's host name or the resolved address is covered by an allowHosts entry. */
export function isAllowedHost(hostname: string, ip: IpAddress, allowHosts: readonly string[]): boolean {
  const host = normalHost(hostname);
  return allowHosts.some((entry) => {
    const block = parseBlock(entry);
    if (block) return inBlock(block, ip) || (embeddedIpv4(ip) !== undefined && inBlock(block, embeddedIpv4(ip) as IpAddress));
    return normalHost(entry) === host;
  });
}

/**
 * Decides whether rackboot may connect to `address` (resolved from `hostname`) to fetch an
 * artifact. Loopback and link-local need an allowHosts entry; metadata endpoints, unspecified,
 * multicast and reserved addresses are always refused. Private ranges (RFC 1918, ULA, CGNAT)
 * are allowed: rack-local mirrors live there. IPv6 forms that carry an IPv4 address
 * (mapped, compatible, NAT64) are judged by that IPv4 address as well.
 */
export function checkImportAddress(address: string, hostname: string, allowHosts: readonly string[]): AddressDecision {
  const ip = parseIp(address);
  if (!ip) return { ok: false, reason: 'invalid' };
  const candidates = [ip, embeddedIpv4(ip)].filter((a): a is IpAddress => a !== undefined);
  for (const a of candidates) {
    if (METADATA.some((b) => inBlock(b, a))) return { ok: false, reason: 'metadata' };
    const never = classify(a, NEVER);
    if (never) return { ok: false, reason: never };
  }
  if (isAllowedHost(hostname, ip, allowHosts)) return { ok: true };
  for (const a of candidates) {
    const reason = classify(a, UNLESS_ALLOWED);
    if (reason) return { ok: false, reason };
  }
  return { ok: true };
}

/** The outcome of a URL or redirect check: the URL to fetch, or why not. */
export type UrlDecision = { ok: true; url: URL } | { ok: false; reason: string };

/** Parses an import URL (or a redirect Location relative to `base`): http/https, no credentials. */
export function checkImportUrl(raw: string, base?: URL): UrlDecision {
  let url: URL;
  try {
    url = new URL(raw, base);
  } catch {
    return { ok: false, reason: 'not a valid URL' };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return { ok: false, reason: `scheme ${url.protocol} is not http or https` };
  if (url.username !== '' || url.password !== '') return { ok: false, reason: 'credentials in URLs are not supported' };
  if (url.hostname === '') return { ok: false, reason: 'no host' };
  return { ok: true, url };
}

/** HTTP statuses whose Location rackboot follows (re-checked like the first URL). */
export const REDIRECT_STATUSES: ReadonlySet<number> = new Set([301, 302, 303, 307, 308]);

/** Why a local path is refused. */
export type PathRefusal = 'import-off' | 'not-absolute' | 'dot-dot' | 'outside' | 'denied';

/** The outcome of a path check. */
export type PathDecision = { ok: true } | { ok: false; reason: PathRefusal };

/** True when `child` is strictly below directory `dir` (both absolute and normalised). */
export function isBelow(child: string, dir: string): boolean {
  const prefix = dir.endsWith('/') ? dir : `${dir}/`;
  return child !== dir && child.startsWith(prefix);
}

/** Checks the path as the caller wrote it: absolute, no NUL, no `..` segment (even one that stays inside). */
export function checkRequestedPath(path: string): PathDecision {
  if (!path.startsWith('/') || path.includes('\0')) return { ok: false, reason: 'not-absolute' };
  if (path.split('/').includes('..')) return { ok: false, reason: 'dot-dot' };
  return { ok: true };
}

/**
 * Decides whether a resolved path (symlinks already followed by realpath) may be imported:
 * it must lie below one of the (resolved) import directories, and a file inside a denied
 * directory (rackboot's own data directory with its keys and tokens) only through an import
 * directory that itself lies below the denied one (e.g. <dataDir>/import).
 */
export function checkImportPath(realFile: string, realImportDirs: readonly string[], realDenyDirs: readonly string[]): PathDecision {
  if (realImportDirs.length === 0) return { ok: false, reason: 'import-off' };
  const file = posix.normalize(realFile);
  if (file !== realFile || !file.startsWith('/')) return { ok: false, reason: 'not-absolute' };
  const via = realImportDirs.filter((d) => isBelow(file, d));
  if (via.length === 0) return { ok: false, reason: 'outside' };
  const denying = realDenyDirs.filter((x) => file === x || isBelow(file, x));
  return via.some((d) => denying.every((x) => isBelow(d, x))) ? { ok: true } : { ok: false, reason: 'denied' };
}
