import { describe, expect, it } from 'vitest';
import { MSG, OPT } from '../../src/dhcp/options.js';
import { decodeDhcpPacket } from '../../src/dhcp/packet.js';
import { DhcpServer } from '../../src/dhcp/server.js';
import { buildSubnets } from '../../src/dhcp/subnets.js';
import { enrollDiscovered } from '../../src/inventory/enroll.js';
import { Store } from '../../src/inventory/store.js';
import { silentLogger } from '../../src/log.js';
import { groupSchema } from '../../src/model/group.js';
import type { Datagram, UdpEndpoint } from '../../src/net/udp.js';
import { defaultSettings } from '../../src/settings.js';
import { clientBytes, firmware } from './helpers/packets.js';

const T0 = Date.parse('2026-12-04T10:00:00.000Z');
const SERVER = '198.18.0.1';
const UUID = '4c4c4544-0042-3510-8052-b4c04f313233';
/** Option 97 as firmware sends it: type 0, then the GUID with its first three fields little-endian. */
const OPT97 = [0, 0x44, 0x45, 0x4c, 0x4c, 0x42, 0x00, 0x10, 0x35, 0x80, 0x52, 0xb4, 0xc0, 0x4f, 0x31, 0x32, 0x33];
const ip = (s: string) => s.split('.').map(Number);

function lab(unknownMacs: 'ignore' | 'discover' | 'lease', nicSwap: 'confirm' | 'auto' = 'confirm') {
  const store = Store.memory();
  store.profiles.create('testos', { os: 'testos', boot: 'network' } as never);
  const settings = defaultSettings({ dhcp: { mode: 'full', unknownMacs, serverAddress: SERVER, nicSwap } });
  const subnets = buildSubnets([{ cidr: '198.18.0.0/24', poolStart: '198.18.0.100', poolEnd: '198.18.0.110', dns: [], leaseSeconds: 600 }], [], () => undefined);
  const server = new DhcpServer({
    settings: settings.dhcp,
    store,
    log: silentLogger(),
    publicUrl: `http://${SERVER}:8080`,
    subnets,
    interfaces: [],
    clock: () => T0,
    enroll: (c) => enrollDiscovered(store, c),
  });
  const sent: Buffer[] = [];
  const ep: UdpEndpoint = { iface: undefined, port: 67, send: (b: Buffer) => void sent.push(Buffer.from(b)), close: async () => {} } as UdpEndpoint;
  const receive = (data: Buffer, giaddr?: string) => {
    const dg: Datagram = { data, from: { address: giaddr ?? '0.0.0.0', port: 68 }, iface: undefined, port: 67 };
    (server as unknown as { receive(d: Datagram, e: UdpEndpoint): void }).receive(dg, ep);
  };
  const replies = () => sent.splice(0).map((b) => decodeDhcpPacket(b));
  return { store, server, receive, replies };
}

/** DISCOVER then REQUEST for the offered address; returns the two replies. */
async function dora(l: ReturnType<typeof lab>, mac: string, extra: Array<[number, Buffer | string | number[]]> = [], giaddr?: string) {
  l.receive(clientBytes({ type: MSG.DISCOVER, mac, options: extra, ...(giaddr ? { giaddr } : {}) }), giaddr);
  await new Promise((r) => setTimeout(r, 20));
  const [offer] = l.replies();
  expect(offer, 'an OFFER').toBeDefined();
  const request: Array<[number, Buffer | string | number[]]> = [[OPT.SERVER_ID, ip(SERVER)], [OPT.REQUESTED_IP, ip(offer!.yiaddr)], ...extra];
  l.receive(clientBytes({ type: MSG.REQUEST, mac, options: request, ...(giaddr ? { giaddr } : {}) }), giaddr);
  await new Promise((r) => setTimeout(r, 20));
  const [ack] = l.replies();
  return { offer: offer!, ack };
}

describe('unknownMacs: lease (full mode)', () => {
  it('gives an unknown device an address without boot file and without machine row; the lease is recorded', async () => {
    const l = lab('lease');
    const { offer, ack } = await dora(l, '02:00:00:00:be:01', firmware('uefiX64'));
    expect(offer.yiaddr).toBe('198.18.0.100');
    expect(offer.file).toBe('');
    expect(offer.options.has(OPT.BOOTFILE)).toBe(false);
    expect(ack?.options.get(OPT.MESSAGE_TYPE)?.[0]).toBe(MSG.ACK);
    await l.server.close();
    expect(l.store.machines.list()).toEqual([]);
    expect(l.store.leases.all().map((x) => [x.mac, x.ip, x.state])).toEqual([['02:00:00:00:be:01', '198.18.0.100', 'active']]);
    l.store.close();
  });

  it('ignore mode still answers nobody unknown', async () => {
    const l = lab('ignore');
    l.receive(clientBytes({ type: MSG.DISCOVER, mac: '02:00:00:00:be:02' }));
    await l.server.close();
    expect(l.replies()).toEqual([]);
    expect(l.server.stats.ignored).toBe(1);
  });
});

describe('discovery matched against groups', () => {
  const circuit = (name: string) => Buffer.concat([Buffer.from([1, name.length]), Buffer.from(name)]);

  it('enroll: auto → registered with the group profile, labels and hostname (matched by relay circuit-id)', async () => {
    const l = lab('discover');
    l.store.groups.put(groupSchema.parse({ name: 'rack7', selectors: ['circuitId=swp7'], profile: 'testos', labels: { rack: 'r7' }, hostnameTemplate: 'r7-{{mac}}', enroll: 'auto' }));
    await dora(l, '52:54:00:00:07:01', [...firmware('uefiX64'), [OPT.RELAY_AGENT, circuit('swp7')]], '198.18.0.254');
    await l.server.close();
    const m = l.store.machines.findByMac('52:54:00:00:07:01');
    expect(m).toMatchObject({ name: 'r7-525400000701', state: 'registered', profile: 'testos', labels: { rack: 'r7' } });
    expect(l.store.events.list({ kind: 'machine.enrolled' }).map((e) => e.detail)).toEqual([{ group: 'rack7', profile: 'testos', name: 'r7-525400000701' }]);
    // Option 82 is on the exchange's trace rows (known and unknown MACs alike).
    l.store.events.flush();
    expect(l.store.events.list({ kind: 'dhcp.ack' })[0]?.detail).toMatchObject({ relay: { giaddr: '198.18.0.254', circuitId: Buffer.from('swp7').toString('hex'), remoteId: null } });
    l.store.close();
  });

  it('enroll: manual → discovered, listed among unknown MACs as matched-but-pending; no match → plain discovered', async () => {
    const l = lab('discover');
    l.store.groups.put(groupSchema.parse({ name: 'lab', selectors: ['subnet=198.18.0.0/24'], profile: 'testos', enroll: 'manual' }));
    await dora(l, '52:54:00:00:08:01', firmware('uefiX64'), '198.18.0.254');
    // Not relayed: no segment address known here. Another machine: another SMBIOS UUID (the fixture's is shared).
    await dora(l, '52:54:00:00:08:02', [...firmware('uefiX64').filter(([code]) => code !== OPT.CLIENT_UUID), [OPT.CLIENT_UUID, [0, ...new Array(15).fill(0x42), 0x02]]]);
    await l.server.close();
    expect(l.store.machines.findByMac('52:54:00:00:08:01')).toMatchObject({ state: 'discovered', profile: null, facts: { group: 'lab' } });
    expect(l.store.machines.findByMac('52:54:00:00:08:02')).toMatchObject({ state: 'discovered', profile: null });
    expect(l.store.unknownMacs.list().map((u) => [u.mac, u.matchedGroup])).toEqual([['52:54:00:00:08:01', 'lab']]);
    // Once enrolled (no longer `discovered`), it leaves the list.
    l.store.machines.update('discovered-525400000801', { state: 'registered', profile: 'testos' });
    expect(l.store.unknownMacs.list()).toEqual([]);
    l.store.close();
  });
});

describe('identity beyond MAC at DHCP', () => {
  it.each(['ignore', 'discover', 'lease'] as const)('hostile (unknownMacs: %s): a new MAC claiming a known SMBIOS UUID (option 97) gets no answer, attaches nothing, becomes no machine; the claim is listed and traced', async (policy) => {
    const l = lab(policy);
    const m = l.store.machines.create({ name: 'n1', macs: ['52:54:00:00:09:01'], uuid: UUID.toUpperCase(), profile: 'testos' });
    for (const type of [MSG.DISCOVER, MSG.REQUEST]) {
      l.receive(clientBytes({ type, mac: '52:54:00:00:09:99', options: [...firmware('uefiX64'), [OPT.CLIENT_UUID, OPT97], ...(type === MSG.REQUEST ? [[OPT.SERVER_ID, ip(SERVER)] as [number, number[]]] : [])] }));
    }
    await l.server.close();
    expect(l.replies()).toEqual([]);
    expect(l.store.machines.get(m.id).macs).toEqual(['52:54:00:00:09:01']);
    expect(l.store.machines.findByMac('52:54:00:00:09:99')).toBeUndefined();
    expect(l.store.machines.list()).toHaveLength(1);
    expect(l.store.leases.forMac('52:54:00:00:09:99')).toEqual([]);
    l.store.events.flush();
    l.store.unknownMacs.flush();
    expect(l.store.events.list({ machineId: m.id, kind: 'machine.mac-attached' })).toEqual([]);
    expect(l.store.events.list({ machineId: m.id, kind: 'machine.identity-claim' }).map((e) => [e.mac, e.detail.uuid])).toEqual([
      ['52:54:00:00:09:99', UUID],
      ['52:54:00:00:09:99', UUID],
    ]);
    expect(l.store.unknownMacs.list().map((u) => [u.mac, u.uuid])).toEqual([['52:54:00:00:09:99', UUID]]);
    l.store.close();
  });

  it('nicSwap: auto (opt-in): the new MAC is that machine: answered as it, the MAC attached and traced', async () => {
    const l = lab('ignore', 'auto');
    const m = l.store.machines.create({ name: 'n1', macs: ['52:54:00:00:09:01'], uuid: UUID.toUpperCase(), profile: 'testos' });
    const { offer, ack } = await dora(l, '52:54:00:00:09:99', [...firmware('uefiX64'), [OPT.CLIENT_UUID, OPT97]]);
    expect(offer.file).not.toBe(''); // boots like the machine it is
    expect(ack?.options.get(OPT.MESSAGE_TYPE)?.[0]).toBe(MSG.ACK);
    await l.server.close();
    expect(l.store.machines.get(m.id).macs).toEqual(['52:54:00:00:09:01', '52:54:00:00:09:99']);
    expect(l.store.events.list({ machineId: m.id, kind: 'machine.mac-attached' }).map((e) => e.detail)).toEqual([{ by: 'uuid', uuid: UUID, nicSwap: 'auto' }]);
    expect(l.store.unknownMacs.list()).toEqual([]);
    l.store.close();
  });

  it('an unset UUID (all zeros) names nobody', async () => {
    const l = lab('ignore');
    l.store.machines.create({ name: 'n1', macs: ['52:54:00:00:09:01'], uuid: '00000000-0000-0000-0000-000000000000' });
    l.receive(clientBytes({ type: MSG.DISCOVER, mac: '52:54:00:00:09:98', options: [[OPT.CLIENT_UUID, [0, ...new Array(16).fill(0)]]] }));
    await l.server.close();
    expect(l.replies()).toEqual([]);
  });
});
