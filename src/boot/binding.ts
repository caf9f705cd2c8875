/**
 * Boot identity binding (pure): a machine's boot script, GRUB config, config document and
 * reports go only to a request from an address that machine is known to use. rackboot knows it
 * from its own lease (full mode), from the machine's DHCP/PXE exchange with us (proxy mode:
 * sightings), or from the kernel's neighbour table (the link-layer address behind the source on
 * the boot segment). A MAC in a query string or a URL proves nothing: anyone can type it.
 */

/** Per-profile switch (`spec.bootBinding`): `off` for NAT'd labs where every machine shares one source. */
export const BOOT_BINDING_MODES = ['on', 'off'] as const;
/** One of BOOT_BINDING_MODES. */
export type BootBindingMode = (typeof BOOT_BINDING_MODES)[number];

/** What rackboot knows about the requester, gathered by the caller (all optional but the source). */
export interface BindingEvidence {
  /** The profile's `bootBinding` (default `on`). */
  binding: BootBindingMode;
  /** Every MAC of the machine the request is about. */
  macs: readonly string[];
  /** The request's source address, as normalizeSourceAddress returns it. */
  source: string;
  /** rackboot's lease of the source address, if any. */
  lease?: { mac: string; active: boolean } | undefined;
  /** Addresses the machine's MACs were last seen using in their DHCP/PXE exchanges with us. */
  sightings?: readonly string[] | undefined;
  /** The link-layer address the kernel has for the source (on-link clients only). */
  neighbourMac?: string | undefined;
}

/** Why a request was refused (the `reason` of a `security.refused` event). */
export type BindingRefusal = 'not-ipv4' | 'neighbour-mismatch' | 'lease-mismatch' | 'unbound-source';

/** The verdict: allowed (and on what evidence) or refused (and why). */
export type BindingVerdict =
  | { ok: true; by: 'binding-off' | 'lease' | 'neighbour' | 'sighting' }
  | { ok: false; reason: BindingRefusal };

const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;

/**
 * The source address in the form leases and sightings use: an IPv4-mapped IPv6 address
 * (`::ffff:198.18.0.11`, what a dual-stack listener reports for IPv4 clients) becomes the
 * plain IPv4 address; anything else is returned lower-cased.
 */
export function normalizeSourceAddress(ip: string): string {
  const s = ip.trim().toLowerCase();
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/.exec(s);
  return mapped ? (mapped[1] as string) : s;
}

/**
 * Decides whether a request from `source` may act for the machine (pure).
 * 1. `bootBinding: off` allows everything (NAT: the source says nothing about the machine).
 * 2. Only IPv4 sources can be bound (DHCPv4 is where rackboot learns addresses).
 * 3. When the kernel knows the link-layer address behind the source and it is not one of the
 *    machine's MACs, the request comes from another host: refused, whatever else says yes.
 * 4. The neighbour entry is one of the machine's MACs: allowed (the strongest evidence).
 * 5. An active lease of ours for the source, held by one of the machine's MACs: allowed. A
 *    lease held by another MAC: refused (the address belongs to someone else).
 * 6. The machine was seen using the address in its DHCP/PXE exchange with us (relayed,
 *    off-link clients, which have no neighbour entry): allowed. Anything else is refused.
 */
export function checkBinding(e: BindingEvidence): BindingVerdict {
  if (e.binding === 'off') return { ok: true, by: 'binding-off' };
  if (!IPV4.test(e.source)) return { ok: false, reason: 'not-ipv4' };
  const mine = (mac: string | undefined) => mac !== undefined && e.macs.includes(mac.toLowerCase());
  if (e.neighbourMac !== undefined && !mine(e.neighbourMac)) return { ok: false, reason: 'neighbour-mismatch' };
  if (e.neighbourMac !== undefined) return { ok: true, by: 'neighbour' };
  if (e.lease?.active) return mine(e.lease.mac) ? { ok: true, by: 'lease' } : { ok: false, reason: 'lease-mismatch' };
  if (e.sightings?.includes(e.source)) return { ok: true, by: 'sighting' };
  return { ok: false, reason: 'unbound-source' };
}
