/**
 * The address a client uses, read from its DHCP/PXE exchange with us (pure). In ProxyDHCP mode
 * the site's server hands out the addresses, so this is how rackboot learns where a MAC lives:
 * the address a client already has (ciaddr: a PXE request on 4011, an INFORM, a renewal), the
 * source of a unicast request, or the address it asks the site's server for (option 50 in
 * a REQUEST). Relayed packets (giaddr set) count only by ciaddr: their source is the relay.
 */
import { MSG } from './options.js';
import type { DhcpRequest } from './request.js';

const NONE = '0.0.0.0';

/** The address `req` shows its sender using, or undefined when it shows none. */
export function sightedAddress(req: DhcpRequest, from: { address: string }): string | undefined {
  const p = req.packet;
  if (p.ciaddr !== NONE) return p.ciaddr;
  if (p.giaddr !== NONE) return undefined;
  const source = from.address.startsWith('::ffff:') ? from.address.slice(7) : from.address;
  if (source !== NONE && source !== '' && !source.includes(':')) return source;
  if (req.type === MSG.REQUEST && req.requestedIp) return req.requestedIp;
  return undefined;
}
