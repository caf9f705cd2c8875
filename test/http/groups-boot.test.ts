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
  it('a new NIC of a known machine gets its script by the UUID in the URL; the MAC is attached and traced', async () => {
    t.store.profiles.create('p1', { os: 'testos' } as never);
    const m = t.store.machines.create({ name: 'n1', macs: ['52:54:00:00:00:01'], uuid: UUID, profile: 'p1' });
    // inject() requests come from 127.0.0.1: the new NIC was seen there (its ProxyDHCP exchange).
    t.store.sightings.note('52:54:00:00:00:99', '127.0.0.1', Date.now());
    const r = await t.app.inject({ method: 'GET', url: `/boot.ipxe?mac=52:54:00:00:00:99&uuid=${UUID.toUpperCase()}&serial=` });
    expect(r.statusCode).toBe(200);
    expect(r.body).toMatch(/^kernel /m);
    expect(t.store.machines.get(m.id).macs).toEqual(['52:54:00:00:00:01', '52:54:00:00:00:99']);
    expect(t.store.events.list({ machineId: m.id, kind: 'machine.mac-attached' })).toHaveLength(1);
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
