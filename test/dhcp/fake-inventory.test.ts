import { describe, expect, it } from 'vitest';
import { DhcpServer } from '../../src/dhcp/server.js';
import { profileSpecSchema } from '../../src/model/profile-spec.js';
import type { Datagram, UdpEndpoint } from '../../src/net/udp.js';
import { defaultSettings } from '../../src/settings.js';
import { FakeDhcpInventory } from '../fakes/dhcp-inventory.js';
import { memoryLogger } from '../fakes/log.js';
import { clientBytes, firmware } from './helpers/packets.js';

const KNOWN = '52:54:00:aa:00:01';
const UNKNOWN = '52:54:00:aa:00:99';
const T0 = Date.parse('2026-03-01T00:00:00Z');

/** A ProxyDHCP server over a fake inventory holding one registered machine; datagrams fed in directly. */
function setup() {
  const store = new FakeDhcpInventory();
  const spec = profileSpecSchema.parse({ boot: 'network', chain: 'ipxe', os: 'testos', initrd: [], cmdline: '' });
  store.addHost({ machineId: 1, mac: KNOWN, ipv4: null, profile: 'p', state: 'registered' }, spec);
  const settings = defaultSettings({ dhcp: { mode: 'proxy', serverAddress: '198.18.0.1' } });
  const { log, lines } = memoryLogger();
  const server = new DhcpServer({ settings: settings.dhcp, store, log, publicUrl: 'http://198.18.0.1:8080', subnets: [], interfaces: [], clock: () => T0 });
  const sent: Buffer[] = [];
  const ep: UdpEndpoint = { iface: undefined, port: 67, send: (b: Buffer) => void sent.push(b), close: async () => {} };
  const discover = (mac: string) => {
    const dg: Datagram = { data: clientBytes({ type: 1, mac, options: firmware('biosPxe') }), from: { address: '0.0.0.0', port: 68 }, iface: undefined, port: 67 };
    (server as unknown as { receive(d: Datagram, e: UdpEndpoint): void }).receive(dg, ep);
  };
  return { store, server, sent, lines, discover };
}

describe('DHCP server over a fake DhcpInventory', () => {
  it('answers a registered PXE client and traces the offer; an unknown MAC is noted, not answered', () => {
    const { store, server, sent, discover } = setup();
    discover(KNOWN);
    expect(sent).toHaveLength(1);
    expect(store.eventRows).toEqual([expect.objectContaining({ mac: KNOWN, machineId: 1, source: 'dhcp' })]);
    discover(UNKNOWN);
    expect(sent).toHaveLength(1);
    expect(store.unknownRows.map((r) => r.mac)).toEqual([UNKNOWN]);
    expect(server.stats).toMatchObject({ received: 2, ignored: 1, errors: 0 });
  });

  it('an inventory whose writes throw: each request is logged and dropped, the server never throws', () => {
    const { store, server, lines, discover } = setup();
    store.failWrites = true;
    expect(() => {
      discover(KNOWN);
      discover(UNKNOWN);
    }).not.toThrow();
    expect(server.stats.errors).toBe(2);
    expect(lines.filter((l) => l.msg === 'dhcp handler failed')).toHaveLength(2);
    expect(store.eventRows).toEqual([]);
  });
});
