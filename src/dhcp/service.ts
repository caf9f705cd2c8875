import { AppError } from '../errors.js';
import { enrollDiscovered } from '../inventory/enroll.js';
import { openChangeFeed } from '../inventory/pg-notify.js';
import { type InterfaceInfo, describeInterface, ipv4Interfaces } from '../net/interfaces.js';
import type { Service, ServiceContext } from '../service.js';
import { followChanges, poolStartOffset } from './change-feed.js';
import { HostDirectory } from './hosts.js';
import { DhcpServer } from './server.js';
import { buildSubnets } from './subnets.js';

/** The interfaces to serve on: the configured ones (which must exist), or every IPv4 interface. */
function chooseInterfaces(names: string[]): InterfaceInfo[] {
  return names.length ? names.map(describeInterface) : ipv4Interfaces();
}

/** The running DHCP service; `server` exposes its counters (metrics). */
export interface DhcpService extends Service {
  readonly server: DhcpServer;
}

/** Starts the DHCP server (authoritative or proxy) from settings; settings errors stop start-up. */
export async function startDhcp(ctx: ServiceContext): Promise<DhcpService | undefined> {
  const s = ctx.settings.dhcp;
  const log = ctx.log.child({ subsys: 'dhcp' });
  const interfaces = chooseInterfaces(s.interfaces);
  if (interfaces.length === 0) {
    // The default (no dhcp.interfaces) on a host with no IPv4 network yet: HTTP and TFTP still
    // serve; DHCP says why it is off instead of stopping the whole appliance.
    log.error('dhcp not started: no IPv4 interface to serve on (set dhcp.interfaces, or dhcp.enabled: false)');
    return undefined;
  }
  // Option 54 / next-server: the setting, else the address of the (first) bound interface.
  const serverAddress = s.serverAddress ?? interfaces.find((i) => i.ipv4.length)?.ipv4[0]?.address;
  if (!serverAddress) {
    throw new AppError('SETTINGS', 'dhcp.serverAddress is required: no interface address to derive it from');
  }
  if (s.mode === 'full' && s.subnets.length === 0) {
    throw new AppError('SETTINGS', 'dhcp.mode full needs at least one entry in dhcp.subnets');
  }
  // Issue #20: on PostgreSQL other appliances write the same inventory: each starts its pool
  // search elsewhere so their offers rarely meet, and their changes arrive as notifications.
  const feed = openChangeFeed(ctx.store);
  const hosts = new HostDirectory(ctx.store);
  hosts.sync();
  const offset = feed ? (size: number) => poolStartOffset(serverAddress, size) : 0;
  const subnets = buildSubnets(s.subnets, ctx.store.leases.all(), (ip) => hosts.reservedFor(ip), offset);
  const server = new DhcpServer({
    settings: { ...s, serverAddress },
    store: ctx.store,
    log,
    publicUrl: ctx.publicUrl,
    subnets,
    interfaces,
    hosts,
    enroll: (client) => enrollDiscovered(ctx.store, client),
  });
  // What was committed before LISTEN took effect is read again once it has (change-feed.ts).
  const stopFeed = feed ? followChanges(feed, server, log) : undefined;
  await server.listen();
  const timer = setInterval(() => server.reclaim(), s.reclaimSeconds * 1000);
  timer.unref();
  log.info({ mode: s.mode, serverAddress, interfaces: interfaces.map((i) => i.name), ports: server.ports() }, 'dhcp listening');
  return {
    name: 'dhcp',
    server,
    close: async () => {
      clearInterval(timer);
      stopFeed?.();
      await server.close();
    },
  };
}
