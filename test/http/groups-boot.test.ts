import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { enrollDiscovered } from '../../src/inventory/enroll.js';
import { identityQuery } from '../../src/inventory/identity.js';
import { groupSchema } from '../../src/model/group.js';
import { fakeAssetsDir } from '../assets/fixture.js';
import { testApp } from '../helpers/app.js';

const UUID = '4c4c4544-0042-3510-8052-b4c04f313233';
let t: Awaited<ReturnType<typeof testApp>>;
beforeEach(async () => {
  const fx = fakeAssetsDir();
  t = await testApp({ assetsDir: fx.dir, dataDir: fx.dataDir, http: { publicUrl: 'http://198.18.0.1:8080' } });
});
afterEach(async () => {
  await t.app.close();
});

describe('identityQuery', () => {
  it.each([
    [{ uuid: UUID, serial: 'SN 1' }, { uuid: UUID, serial: 'SN 1' }],
    [{ uuid: '', serial: '' }, {}], // iPXE expands unset settings to nothing
    [{ uuid: ['a'], serial: 'x'.repeat(200) }, {}],
    [undefined, {}],
  ])('%j → %j', (q, want) => {
    expect(identityQuery(q)).toEqual(want);
  });
});

describe('boot script by SMBIOS identity (issue #19)', () => {
  it('hostile: another host claiming a known UUID or serial gets no script and no config; nothing is attached; the claim is traced', async () => {
    t.store.profiles.create('p1', { os: 'testos' } as never);
    const m = t.store.machines.create({ name: 'n1', macs: ['52:54:00:00:00:01'], uuid: UUID, serial: 'SN-1', profile: 'p1' });
    // The attacker's MAC was even seen at this address (its own DHCP exchange): still nothing.
    t.store.sightings.note('52:54:00:00:00:99', '127.0.0.1', Date.now());
    for (const q of [`uuid=${UUID.toUpperCase()}&serial=`, 'uuid=&serial=SN-1', `uuid=${UUID}&serial=SN-1`]) {
      const r = await t.app.inject({ method: 'GET', url: `/boot.ipxe?mac=52:54:00:00:00:99&${q}` });
      expect(r.body).not.toMatch(/^kernel /m);
      expect(r.body).not.toMatch(/token|config/i);
      expect(r.body).toMatch(/unknown MAC 52:54:00:00:00:99 \(its (uuid|serial) names machine n1\)/);
      expect(r.body).toMatch(/rackboot machines attach-mac n1 52:54:00:00:00:99/);
    }
    expect(t.store.machines.get(m.id).macs).toEqual(['52:54:00:00:00:01']);
    expect(t.store.machines.findByMac('52:54:00:00:00:99')).toBeUndefined();
    expect(t.store.events.list({ machineId: m.id, kind: 'machine.mac-attached' })).toEqual([]);
    expect(t.store.events.list({ machineId: m.id, kind: 'boot.script' })).toEqual([]);
    const claims = t.store.events.list({ machineId: m.id, kind: 'machine.identity-claim' });
    expect(claims.map((e) => [e.mac, e.detail.by])).toEqual([['52:54:00:00:00:99', 'uuid'], ['52:54:00:00:00:99', 'serial'], ['52:54:00:00:00:99', 'uuid']]);
    // A flood of claims is refused every time, but traced only at the bucket's rate (burst 3, then one per 10 s).
    const floodStart = Date.now();
    for (let i = 0; i < 50; i++) {
      const r = await t.app.inject({ method: 'GET', url: `/boot.ipxe?mac=02:00:00:00:01:${(i % 256).toString(16).padStart(2, '0')}&uuid=${UUID}` });
      expect(r.body).toMatch(/names machine n1/);
    }
    // The 3 above used the burst; the bucket refills by one per 10 s of however long the flood took.
    const refills = Math.ceil((Date.now() - floodStart) / 10_000);
    expect(t.store.events.list({ machineId: m.id, kind: 'machine.identity-claim' }).length).toBeLessThanOrEqual(3 + refills);
    expect(t.store.machines.list()).toHaveLength(1);
  });

  it('an operator confirms a NIC swap (POST /machines/:ref/macs, admin only): then the new NIC gets its script', async () => {
    t.store.profiles.create('p1', { os: 'testos' } as never);
    const m = t.store.machines.create({ name: 'n1', macs: ['52:54:00:00:00:01'], uuid: UUID, profile: 'p1' });
    t.store.sightings.note('52:54:00:00:00:99', '127.0.0.1', Date.now());
    // DHCP listed the new NIC among the unknown MACs, with the machine its option 97 UUID names.
    t.store.unknownMacs.noteSoon({ mac: '52:54:00:00:00:99', arch: 7, vendorClass: null, messageType: 'discover', giaddr: null, circuitId: null, remoteId: null, uuid: UUID, at: Date.now() });
    const unknown = async () => (await t.app.inject({ method: 'GET', url: '/api/v1/unknown-macs', headers: t.auth })).json().items;
    expect(await unknown()).toMatchObject([{ mac: '52:54:00:00:00:99', claims: { machine: 'n1', by: 'uuid' } }]);
    const attach = (headers: Record<string, string>, payload: unknown) => t.app.inject({ method: 'POST', url: '/api/v1/machines/n1/macs', headers, payload: payload as never });
    expect((await attach({}, { mac: '52:54:00:00:00:99' })).statusCode).toBe(401);
    expect((await attach(t.roles.read, { mac: '52:54:00:00:00:99' })).statusCode).toBe(403);
    expect((await attach(t.roles.operate, { mac: '52:54:00:00:00:99' })).statusCode).toBe(403);
    expect((await attach(t.auth, { mac: 'nope' })).statusCode).toBe(400);
    expect((await attach(t.auth, { mac: '52:54:00:00:00:99', extra: 1 })).statusCode).toBe(400);
    expect((await attach(t.auth, {})).statusCode).toBe(400);
    expect(t.store.machines.get(m.id).macs).toEqual(['52:54:00:00:00:01']);
    const ok = await attach(t.auth, { mac: '52-54-00-00-00-99' });
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toMatchObject({ name: 'n1', attached: true, macs: ['52:54:00:00:00:01', '52:54:00:00:00:99'] });
    expect(await unknown()).toEqual([]);
    expect((await attach(t.auth, { mac: '52:54:00:00:00:99' })).json()).toMatchObject({ attached: false });
    expect(t.store.events.list({ machineId: m.id, kind: 'machine.mac-attached' }).map((e) => e.detail.by)).toEqual(['operator']);
    // A MAC another machine has is refused with 409, and stays where it was.
    t.store.machines.create({ name: 'n2', macs: ['52:54:00:00:00:02'] });
    expect((await attach(t.auth, { mac: '52:54:00:00:00:02' })).statusCode).toBe(409);
    const r = await t.app.inject({ method: 'GET', url: `/boot.ipxe?mac=52:54:00:00:00:99&uuid=${UUID}&serial=` });
    expect(r.statusCode).toBe(200);
    expect(r.body).toMatch(/^kernel /m);
  });

  it('a serial two machines share names nobody: the unknown MAC is refused as before', async () => {
    t.store.machines.create({ name: 'a', macs: ['52:54:00:00:00:01'], serial: 'DUP' });
    t.store.machines.create({ name: 'b', macs: ['52:54:00:00:00:02'], serial: 'DUP' });
    const r = await t.app.inject({ method: 'GET', url: '/boot.ipxe?mac=52:54:00:00:00:99&uuid=&serial=DUP' });
    expect(r.body).toMatch(/unknown machine 52:54:00:00:00:99/);
    expect(t.store.machines.findByMac('52:54:00:00:00:99')).toBeUndefined();
  });
});

describe('unknown enroll of a matched-but-pending MAC', () => {
  it('the discovered machine becomes registered with the operator\'s name and the group\'s profile and labels', async () => {
    t.store.profiles.create('p1', { os: 'testos' } as never);
    t.store.groups.put(groupSchema.parse({ name: 'lab', selectors: ['subnet=198.18.0.0/24'], profile: 'p1', labels: { rack: 'lab' }, enroll: 'manual' }));
    const id = t.store.transaction(() => enrollDiscovered(t.store, { mac: '52:54:00:00:00:42', arch: 7, vendorClass: null, address: '198.18.0.254' }));
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/unknown-macs', headers: t.auth })).json().items).toMatchObject([{ mac: '52:54:00:00:00:42', matchedGroup: 'lab' }]);
    const r = await t.app.inject({ method: 'POST', url: '/api/v1/unknown-macs/52:54:00:00:00:42/enroll', headers: t.auth, payload: { name: 'n42', labels: { role: 'worker' } } });
    expect(r.statusCode).toBe(201);
    expect(r.json()).toMatchObject({ id, name: 'n42', state: 'registered', profile: 'p1', labels: { rack: 'lab', role: 'worker' } });
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/unknown-macs', headers: t.auth })).json().items).toEqual([]);
  });
});
