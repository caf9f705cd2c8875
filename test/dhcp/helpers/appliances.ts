import { HostDirectory } from '../../../src/dhcp/hosts.js';
import type { DhcpInventory } from '../../../src/dhcp/inventory.js';
import { MSG, OPT } from '../../../src/dhcp/options.js';
import { type DhcpPacket, decodeDhcpPacket } from '../../../src/dhcp/packet.js';
import { DhcpServer } from '../../../src/dhcp/server.js';
import { buildSubnets } from '../../../src/dhcp/subnets.js';
import type { Logger } from '../../../src/log.js';
import type { Datagram, UdpEndpoint } from '../../../src/net/udp.js';
import { defaultSettings } from '../../../src/settings.js';
import { clientBytes } from './packets.js';

/** The subnet every appliance of these tests serves: a pool of 16 addresses. */
export const SUBNET = { cidr: '198.18.0.0/24', poolStart: '198.18.0.100', poolEnd: '198.18.0.115', router: '198.18.0.1', leaseSeconds: 600 };

const ipBytes = (ip: string) => ip.split('.').map(Number);

/**
 * One in-process DHCP appliance (issue #20): a DhcpServer over its own store connection, fed
 * datagrams directly, its replies collected. Several of them over one database stand for
 * appliances serving one segment.
 */
export class TestAppliance {
  readonly server: DhcpServer;
  readonly sent: DhcpPacket[] = [];
  private readonly ep: UdpEndpoint;

  constructor(
    readonly serverId: string,
    store: DhcpInventory,
    log: Logger,
    opts: { startOffset?: number; clock?: () => number } = {},
  ) {
    const settings = defaultSettings({ dhcp: { mode: 'full', serverAddress: serverId, subnets: [SUBNET] } });
    const hosts = new HostDirectory(store);
    const subnets = buildSubnets(settings.dhcp.subnets, store.leases.all(), (ip) => hosts.reservedFor(ip), opts.startOffset ?? 0);
    this.server = new DhcpServer({ settings: settings.dhcp, store, log, publicUrl: `http://${serverId}:8080`, subnets, interfaces: [], hosts, ...(opts.clock ? { clock: opts.clock } : {}) });
    this.ep = { iface: undefined, port: 67, send: (b: Buffer) => void this.sent.push(decodeDhcpPacket(b)), close: async () => {} };
  }

  /** Feeds one client packet (broadcast on the segment, as a client in INIT sends). */
  receive(type: number, mac: string, options: Array<[number, number[]]> = [], ciaddr?: string): void {
    const dg: Datagram = { data: clientBytes({ type, mac, xid: xidOf(mac), options, ...(ciaddr ? { ciaddr } : {}) }), from: { address: '0.0.0.0', port: 68 }, iface: undefined, port: 67 };
    (this.server as unknown as { receive(d: Datagram, e: UdpEndpoint): void }).receive(dg, this.ep);
  }

  discover(mac: string): void {
    this.receive(MSG.DISCOVER, mac);
  }

  /** REQUEST (SELECTING) of `ip` from the appliance with id `serverId`. */
  request(mac: string, ip: string, serverId = this.serverId): void {
    this.receive(MSG.REQUEST, mac, [
      [OPT.SERVER_ID, ipBytes(serverId)],
      [OPT.REQUESTED_IP, ipBytes(ip)],
    ]);
  }

  /** REQUEST (RENEWING: ciaddr, no server id). */
  renew(mac: string, ip: string): void {
    this.receive(MSG.REQUEST, mac, [], ip);
  }

  /** The last reply to `mac` (type and address), if any. */
  lastTo(mac: string): { type: number; yiaddr: string; leaseSeconds?: number } | undefined {
    const want = Buffer.from(mac.replaceAll(':', ''), 'hex');
    const p = this.sent.findLast((r) => r.chaddr.subarray(0, 6).equals(want));
    if (!p) return undefined;
    const lease = p.options.get(OPT.LEASE_TIME);
    return { type: p.options.get(OPT.MESSAGE_TYPE)![0]!, yiaddr: p.yiaddr, ...(lease ? { leaseSeconds: lease.readUInt32BE(0) } : {}) };
  }
}

/** A stable xid per MAC (replies are matched by MAC here). */
function xidOf(mac: string): number {
  return Number.parseInt(mac.replaceAll(':', '').slice(-8), 16) >>> 0;
}

/** Waits until the appliances' batched commits (one per event-loop turn) have run. */
export async function settle(turns = 3): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise((r) => setTimeout(r, 5));
}
