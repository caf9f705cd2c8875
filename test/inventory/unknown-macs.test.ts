import { describe, expect, it } from 'vitest';
import { OPT } from '../../src/dhcp/options.js';
import { DhcpServer } from '../../src/dhcp/server.js';
import { Store } from '../../src/inventory/store.js';
import { UnknownMacRepo, type UnknownSighting } from '../../src/inventory/unknown-macs.js';
import { silentLogger } from '../../src/log.js';
import type { Datagram, UdpEndpoint } from '../../src/net/udp.js';
import { defaultSettings } from '../../src/settings.js';
import { clientBytes } from '../dhcp/helpers/packets.js';
import { DIALECTS, useStores } from '../helpers/stores.js';

const T0 = Date.parse('2026-12-04T10:00:00.000Z');
const mac = (i: number) => `02:00:00:00:${((i >> 8) & 0xff).toString(16).padStart(2, '0')}:${(i & 0xff).toString(16).padStart(2, '0')}`;
const sighting = (i: number, at: number, extra: Partial<UnknownSighting> = {}): UnknownSighting => ({
  mac: mac(i),
  arch: 7,
  vendorClass: 'PXEClient:Arch:00007:UNDI:003016',
  messageType: 'discover',
  giaddr: null,
  circuitId: null,
  remoteId: null,
  at,
  ...extra,
});

const stores = useStores();

describe.each(DIALECTS)('UnknownMacRepo on %s', (dialect) => {
  it('merges repeated sightings of a MAC in one row with first/last seen and a count', async () => {
    const store = await stores.fresh(dialect);
    store.unknownMacs.noteSoon(sighting(1, T0));
    store.unknownMacs.noteSoon(sighting(1, T0 + 4000, { messageType: 'request', giaddr: '198.18.5.1', circuitId: '657468302f31', remoteId: '0011' }));
    store.unknownMacs.flush();
    store.unknownMacs.noteSoon(sighting(1, T0 + 60_000, { arch: null, giaddr: '198.18.5.1', circuitId: '657468302f31', remoteId: '0011' }));
    expect(store.unknownMacs.list()).toEqual([
      {
        mac: mac(1),
        arch: 7, // a later request without option 93 keeps the known arch
        vendorClass: 'PXEClient:Arch:00007:UNDI:003016',
        messageType: 'discover',
        giaddr: '198.18.5.1',
        circuitId: '657468302f31',
        remoteId: '0011',
        uuid: null,
        matchedGroup: null,
        firstSeen: new Date(T0).toISOString(),
        lastSeen: new Date(T0 + 60_000).toISOString(),
        count: 3,
      },
    ]);
    expect(store.unknownMacs.noted.get('discover')).toBe(2);
    store.close();
  });

  it('is bounded: the least recently seen MACs are evicted past maxRows, the queue past maxPending', async () => {
    const store = await stores.fresh(dialect);
    const repo = new UnknownMacRepo(Store.rawDb(store), { maxRows: 100, maxPending: 50 });
    for (let round = 0; round < 6; round++) {
      for (let i = 0; i < 50; i++) repo.noteSoon(sighting(round * 50 + i, T0 + round * 1000 + i));
      repo.flush();
    }
    const rows = repo.list();
    expect(rows).toHaveLength(100);
    expect(rows[0]!.mac).toBe(mac(299));
    expect(rows.at(-1)!.mac).toBe(mac(200));
    for (let i = 0; i < 60; i++) repo.noteSoon(sighting(1000 + i, T0 + 10_000));
    expect(repo.dropped).toBe(10);
    store.close();
  });

  it('leaves out MACs that became machines, and forgets an enrolled MAC', async () => {
    const store = await stores.fresh(dialect);
    store.unknownMacs.noteSoon(sighting(1, T0));
    store.unknownMacs.noteSoon(sighting(2, T0));
    store.machines.create({ name: 'n1', macs: [mac(1)] });
    expect(store.unknownMacs.list().map((r) => r.mac)).toEqual([mac(2)]);
    expect(store.unknownMacs.find(mac(1))).toBeUndefined();
    store.unknownMacs.remove(mac(2));
    expect(store.unknownMacs.count()).toBe(0);
    store.close();
  });

  it('writes queued sightings on close', async () => {
    const a = await stores.fresh(dialect);
    a.unknownMacs.noteSoon(sighting(7, T0));
    const b = await stores.reopen(a);
    expect(b.unknownMacs.find(mac(7))?.count).toBe(1);
  });

  it('a later sighting with an older time keeps the newest last_seen; one without UUID or vendor class keeps them', async () => {
    const store = await stores.fresh(dialect);
    store.unknownMacs.noteSoon(sighting(3, T0 + 5000, { uuid: '4c4c4544-0042-3510-8052-b4c04f313233' }));
    store.unknownMacs.flush();
    store.unknownMacs.noteSoon(sighting(3, T0, { vendorClass: null }));
    expect(store.unknownMacs.find(mac(3))).toMatchObject({
      lastSeen: new Date(T0 + 5000).toISOString(),
      uuid: '4c4c4544-0042-3510-8052-b4c04f313233',
      vendorClass: 'PXEClient:Arch:00007:UNDI:003016',
      count: 2,
    });
    store.unknownMacs.markPending(mac(3), 'g1', null);
    expect(store.unknownMacs.find(mac(3))).toMatchObject({ matchedGroup: 'g1', uuid: '4c4c4544-0042-3510-8052-b4c04f313233', count: 3 });
  });
});

// The DHCP server's side (an in-memory SQLite store): what it notes, not how the rows are kept.
describe('UnknownMacRepo and the DHCP server', () => {
  it('the DHCP server records an ignored unknown MAC with its relay information', () => {
    const store = Store.memory();
    const settings = defaultSettings({ dhcp: { mode: 'proxy' } });
    const server = new DhcpServer({ settings: settings.dhcp, store, log: silentLogger(), publicUrl: 'http://198.18.0.1:8080', subnets: [], interfaces: [], clock: () => T0 });
    const relay = Buffer.from([1, 2, 0x65, 0x31, 2, 1, 0xaa]);
    const data = clientBytes({ type: 1, mac: mac(9), giaddr: '198.18.7.1', options: [[OPT.VENDOR_CLASS, 'PXEClient:Arch:00009'], [OPT.CLIENT_ARCH, [0, 9]], [OPT.RELAY_AGENT, relay]] });
    const dg: Datagram = { data, from: { address: '198.18.7.1', port: 67 }, iface: undefined, port: 67 };
    const ep: UdpEndpoint = { iface: undefined, port: 67, send: () => {}, close: async () => {} };
    (server as unknown as { receive(d: Datagram, e: UdpEndpoint): void }).receive(dg, ep);
    expect(server.stats.ignored).toBe(1);
    expect(store.unknownMacs.find(mac(9))).toMatchObject({ arch: 9, vendorClass: 'PXEClient:Arch:00009', messageType: 'discover', giaddr: '198.18.7.1', circuitId: '6531', remoteId: 'aa', count: 1, firstSeen: new Date(T0).toISOString() });
    store.close();
  });
});
