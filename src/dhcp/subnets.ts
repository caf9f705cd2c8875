import { AppError } from '../errors.js';
import type { LeaseRecord } from '../inventory/leases.js';
import type { InterfaceInfo } from '../net/interfaces.js';
import { inCidr, intToIp, ipToInt, parseCidr } from '../net/ipv4.js';
import type { SubnetRuntime } from './handler.js';
import { type Lease, LeaseTable } from './lease-table.js';
import type { DhcpRequest } from './request.js';
import type { DhcpSubnet } from './settings.js';

/**
 * Builds the run-time subnets from settings and loads the persisted leases into them. A pool
 * outside its CIDR is a SETTINGS error naming the subnet.
 */
export function buildSubnets(
  subnets: DhcpSubnet[],
  leases: LeaseRecord[],
  reservedFor: (ip: string) => number | undefined,
  /** Where each pool's search for a free address starts (LeaseTable's startOffset), or how to choose it from the pool's size. */
  startOffset: number | ((poolSize: number) => number) = 0,
): SubnetRuntime[] {
  return subnets.map((s) => {
    const cidr = parseCidr(s.cidr);
    const start = ipToInt(s.poolStart);
    const end = ipToInt(s.poolEnd);
    if (!inCidr(cidr, start) || !inCidr(cidr, end) || start > end) {
      throw new AppError('SETTINGS', `dhcp subnet ${s.cidr}: pool ${s.poolStart}-${s.poolEnd} is not a range inside it`);
    }
    const offset = typeof startOffset === 'number' ? startOffset : startOffset(end - start + 1);
    const table = new LeaseTable(cidr, start, end, (ip) => reservedFor(intToIp(ip)), offset);
    for (const l of leases) {
      if (inCidr(cidr, ipToInt(l.ip))) table.load(leaseFromRecord(l));
    }
    return {
      table,
      params: {
        mask: intToIp(cidr.mask),
        broadcast: intToIp(cidr.broadcast),
        ...(s.router ? { router: s.router } : {}),
        dns: s.dns,
        ...(s.domain ? { domain: s.domain } : {}),
        leaseSeconds: s.leaseSeconds,
      },
    };
  });
}

/** A stored lease row as the lease table holds it. */
export function leaseFromRecord(l: LeaseRecord): Lease {
  return { ip: ipToInt(l.ip), mac: l.mac, clientKey: l.clientId, hostname: l.hostname, state: l.state, expiresAt: l.expiresAt };
}

/** The subnet whose CIDR holds the address, if any. */
export function subnetOf(subnets: SubnetRuntime[], ip: number): SubnetRuntime | undefined {
  return subnets.find((s) => inCidr(s.table.cidr, ip));
}

function containing(subnets: SubnetRuntime[], ip: string): SubnetRuntime | undefined {
  return subnetOf(subnets, ipToInt(ip));
}

/**
 * The subnet a client is on (RFC 2131 §4.3.1): the relay's giaddr, else the subnet of the
 * interface the packet arrived on, else (unicast renewals) the client's ciaddr.
 */
export function selectSubnet(subnets: SubnetRuntime[], req: DhcpRequest, iface: InterfaceInfo | undefined): SubnetRuntime | undefined {
  const p = req.packet;
  if (p.giaddr !== '0.0.0.0') return containing(subnets, p.giaddr);
  for (const a of iface?.ipv4 ?? []) {
    const s = containing(subnets, a.address);
    if (s) return s;
  }
  if (p.ciaddr !== '0.0.0.0') return containing(subnets, p.ciaddr);
  return iface ? undefined : subnets.length === 1 ? subnets[0] : undefined;
}
