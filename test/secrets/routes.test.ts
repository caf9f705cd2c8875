import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { prepareBootConfig } from '../../src/config/index.js';
import { SEALED } from '../../src/inventory/sealing.js';
import { testApp } from '../helpers/app.js';
import { KG_HEX, SECRET_VALUES, TALOS_SECRETS, leaksIn, talosProfileSpec } from './fixture.js';

type T = Awaited<ReturnType<typeof testApp>>;
let t: T;
beforeEach(async () => {
  t = await testApp();
});
afterEach(async () => {
  await t.app.close();
});

type Who = 'read' | 'operate' | 'admin';
const call = (who: Who, method: 'GET' | 'POST' | 'PUT', url: string, payload?: unknown) =>
  t.app.inject({ method, url, headers: t.roles[who], ...(payload === undefined ? {} : { payload: payload as object }) });
const BMC = { type: 'ipmi', address: '198.18.0.171', port: 623, username: 'admin', password: 'pw-zq7x-first', options: { kgHex: KG_HEX, privilege: 'admin' } };
const TALOS_VALUES = SECRET_VALUES.filter((v) => v !== KG_HEX);

async function seed() {
  expect((await call('admin', 'POST', '/api/v1/profiles', { name: 'zq', spec: talosProfileSpec() })).statusCode).toBe(201);
  const machine = { name: 'cp-1', macs: ['52:54:00:00:07:01'], profile: 'zq', ipv4: '198.18.0.71', labels: { cluster: 'zqcluster' } };
  expect((await call('admin', 'POST', '/api/v1/machines', machine)).statusCode).toBe(201);
  expect((await call('admin', 'PUT', '/api/v1/machines/cp-1/bmc', BMC)).statusCode).toBe(200);
  return t.store.machines.get('cp-1');
}

describe('read routes show secrets as <sealed>', () => {
  it.each(['read', 'operate', 'admin'] as const)('profiles, machines, BMC and export for %s: no secret in the bytes', async (who) => {
    await seed();
    for (const url of ['/api/v1/profiles', '/api/v1/profiles/zq', '/api/v1/machines', '/api/v1/machines/cp-1', '/api/v1/machines/cp-1/bmc', '/api/v1/inventory/export']) {
      const r = await call(who, 'GET', url);
      expect(r.statusCode, url).toBe(200);
      expect(leaksIn(r.rawPayload), url).toEqual([]);
      expect(r.body, url).toContain(SEALED);
    }
    expect((await call(who, 'GET', '/api/v1/profiles/zq')).json().spec.talos.secrets.machineCa).toEqual({ crt: SEALED, key: SEALED });
    expect((await call(who, 'GET', '/api/v1/machines/cp-1/bmc')).json().options).toEqual({ kgHex: SEALED, privilege: 'admin' });
  });

  it('the write routes answer without secrets too', async () => {
    const post = await call('admin', 'POST', '/api/v1/profiles', { name: 'zq', spec: talosProfileSpec() });
    expect(leaksIn(post.rawPayload)).toEqual([]);
    await call('admin', 'POST', '/api/v1/machines', { name: 'cp-1', macs: ['52:54:00:00:07:01'], profile: 'zq', labels: { cluster: 'zqcluster' } });
    expect(leaksIn((await call('admin', 'PUT', '/api/v1/machines/cp-1/bmc', BMC)).rawPayload)).toEqual([]);
  });
});

describe('inventory export with secrets', () => {
  it('is for admins only: read and operate get 403, admin gets the clear values and an audit event', async () => {
    await seed();
    for (const who of ['read', 'operate'] as const) {
      const r = await call(who, 'GET', '/api/v1/inventory/export?withSecrets=true');
      expect(r.statusCode).toBe(403);
      expect(r.json().error.code).toBe('FORBIDDEN');
      expect(leaksIn(r.rawPayload)).toEqual([]);
    }
    const r = await call('admin', 'GET', '/api/v1/inventory/export?withSecrets=true');
    expect(r.statusCode).toBe(200);
    const doc = r.json();
    expect(doc.profiles[0].spec.talos.secrets).toEqual(TALOS_SECRETS);
    expect(doc.machines[0].bmc.options).toEqual({ kgHex: KG_HEX, privilege: 'admin' });
    expect(r.body).not.toContain('pw-zq7x-first'); // BMC passwords are never exported
    expect(t.store.events.list({ kind: 'inventory.exported' })).toHaveLength(1);
    expect((await call('admin', 'GET', '/api/v1/inventory/export?withSecrets=false')).body).not.toContain(TALOS_SECRETS.machineToken);
    expect((await call('admin', 'GET', '/api/v1/inventory/export?withSecrets=yes')).statusCode).toBe(400);
  });
});

describe('round trip with <sealed>', () => {
  it('export → edit → import keeps the stored secrets, Kg and password', async () => {
    const m = await seed();
    const doc = (await call('read', 'GET', '/api/v1/inventory/export')).json();
    doc.profiles[0].spec.description = 'edited offline';
    doc.machines[0].labels.rack = 'r9';
    const r = await call('admin', 'POST', '/api/v1/inventory/import', doc);
    expect(r.statusCode, r.body).toBe(200);
    const p = t.store.profiles.unsealed('zq');
    expect(p.spec.talos).toMatchObject({ secrets: TALOS_SECRETS });
    expect(p.spec.description).toBe('edited offline');
    expect(p.revision).toBe(2);
    expect(t.store.bmcs.credentials(m.id)).toMatchObject({ password: 'pw-zq7x-first', options: { kgHex: KG_HEX } });
    expect(t.store.machines.get('cp-1').labels.rack).toBe('r9');
    // Importing the unchanged export again changes nothing.
    await call('admin', 'POST', '/api/v1/inventory/import', doc);
    expect(t.store.profiles.get('zq').revision).toBe(2);
  });

  it('a <sealed> with nothing stored behind it is refused and the whole import rolls back', async () => {
    await seed();
    const doc = (await call('read', 'GET', '/api/v1/inventory/export')).json();
    doc.profiles[0].spec.description = 'should not land';
    doc.profiles.push({ name: 'zq-copy', spec: doc.profiles[0].spec });
    const r = await call('admin', 'POST', '/api/v1/inventory/import', doc);
    expect(r.statusCode).toBe(400);
    expect(r.json().error.message).toMatch(/profiles\[1\] \(zq-copy\): spec\.talos\.secrets\.\S+ is <sealed> but no value is stored/);
    expect(t.store.profiles.find('zq-copy')).toBeUndefined();
    expect(t.store.profiles.get('zq').spec.description).toBeUndefined();
    expect(t.store.profiles.unsealed('zq').spec.talos).toMatchObject({ secrets: TALOS_SECRETS });
  });

  it('profile GET → edit → PUT keeps <sealed> secrets; a new value replaces just that one; POST with <sealed> is 400', async () => {
    await seed();
    const spec = (await call('read', 'GET', '/api/v1/profiles/zq')).json().spec;
    const put = await call('admin', 'PUT', '/api/v1/profiles/zq', { spec: { ...spec, cmdline: 'quiet' } });
    expect(put.statusCode, put.body).toBe(200);
    expect(t.store.profiles.unsealed('zq').spec.talos).toMatchObject({ secrets: TALOS_SECRETS });
    const rotated = { ...spec, talos: { ...spec.talos, secrets: { ...spec.talos.secrets, machineToken: 'mtok-rotated-zq7x-000001' } } };
    expect((await call('admin', 'PUT', '/api/v1/profiles/zq', { spec: rotated })).statusCode).toBe(200);
    expect(t.store.profiles.unsealed('zq').spec.talos).toMatchObject({ secrets: { ...TALOS_SECRETS, machineToken: 'mtok-rotated-zq7x-000001' } });
    const post = await call('admin', 'POST', '/api/v1/profiles', { name: 'zq-new', spec });
    expect(post.statusCode).toBe(400);
    expect(post.json().error.details[0].path).toMatch(/^spec\.talos\.secrets\./);
  });
});

describe('BMC edits', () => {
  it('no password keeps the stored one for the same BMC; a new address, port or type needs a new one (400)', async () => {
    const m = await seed();
    const { password: _pw, ...noPassword } = BMC;
    const same = await call('admin', 'PUT', '/api/v1/machines/cp-1/bmc', { ...noPassword, username: 'root', options: { kgHex: SEALED } });
    expect(same.statusCode, same.body).toBe(200);
    expect(t.store.bmcs.credentials(m.id)).toMatchObject({ username: 'root', password: 'pw-zq7x-first', options: { kgHex: KG_HEX } });
    for (const change of [{ address: '203.0.113.66' }, { port: 6230 }, { type: 'redfish' }]) {
      const r = await call('admin', 'PUT', '/api/v1/machines/cp-1/bmc', { ...noPassword, ...change });
      expect(r.statusCode, JSON.stringify(change)).toBe(400);
      expect(r.json().error.message).toMatch(/password is required when type, address or port change/);
    }
    // A new password for the new address, but the old Kg as <sealed>: the Kg must be given again too.
    const kg = await call('admin', 'PUT', '/api/v1/machines/cp-1/bmc', { ...BMC, address: '203.0.113.66', password: 'pw-new', options: { kgHex: SEALED } });
    expect(kg.statusCode).toBe(400);
    expect(kg.json().error.details[0].path).toBe('options.kgHex');
    expect(t.store.bmcs.credentials(m.id)).toMatchObject({ address: '198.18.0.171', password: 'pw-zq7x-first' });
    const moved = await call('admin', 'PUT', '/api/v1/machines/cp-1/bmc', { ...BMC, address: '203.0.113.66', password: 'pw-new', options: {} });
    expect(moved.statusCode).toBe(200);
    expect(t.store.bmcs.credentials(m.id)).toMatchObject({ address: '203.0.113.66', password: 'pw-new', options: {} });
  });

  it('an inventory import that moves a BMC without a password is refused', async () => {
    const m = await seed();
    const doc = (await call('read', 'GET', '/api/v1/inventory/export')).json();
    doc.machines[0].bmc.address = '203.0.113.66';
    const r = await call('admin', 'POST', '/api/v1/inventory/import', doc);
    expect(r.statusCode).toBe(400);
    expect(r.json().error.message).toMatch(/machines\[0\] \(cp-1\): bmc password is required when type, address or port change/);
    expect(t.store.bmcs.credentials(m.id).address).toBe('198.18.0.171');
  });
});

describe('config versions', () => {
  it('a non-admin reads a version with its secrets redacted (also after rotation); an admin gets the exact bytes', async () => {
    const m = await seed();
    const v1 = prepareBootConfig({ store: t.store, settings: t.settings }, m);
    const spec = (await call('read', 'GET', '/api/v1/profiles/zq')).json().spec;
    spec.talos.secrets.machineToken = 'mtok-rotated-zq7x-000002';
    expect((await call('admin', 'PUT', '/api/v1/profiles/zq', { spec })).statusCode).toBe(200);
    const v2 = prepareBootConfig({ store: t.store, settings: t.settings }, t.store.machines.get('cp-1'));
    expect(v2.versionId).not.toBe(v1.versionId);
    const values = [...SECRET_VALUES, 'mtok-rotated-zq7x-000002'];
    for (const v of [v1, v2]) {
      for (const who of ['read', 'operate'] as const) {
        const r = await call(who, 'GET', `/api/v1/configs/${v.versionId}`);
        expect(r.statusCode).toBe(200);
        expect(leaksIn(r.rawPayload, values)).toEqual([]);
        expect(r.body).toContain(`token: ${SEALED}`);
        expect(r.headers['x-config-redacted']).toBe('secrets');
        expect(r.headers['x-config-sha256']).toBe(v.sha256);
        expect(r.headers.etag).not.toBe(`"sha256:${v.sha256}"`);
      }
      const admin = await call('admin', 'GET', `/api/v1/configs/${v.versionId}`);
      expect(admin.headers.etag).toBe(`"sha256:${v.sha256}"`);
      expect(admin.headers['x-config-redacted']).toBeUndefined();
      expect(admin.body).toContain(TALOS_SECRETS.kubernetesCa.key);
    }
    const list = await call('read', 'GET', '/api/v1/machines/cp-1/configs');
    expect(list.statusCode).toBe(200);
    expect(leaksIn(list.rawPayload, values)).toEqual([]);
    expect(TALOS_VALUES.every((s) => (t.store.configs.getVersion(v1.versionId).body.toString().includes(s)))).toBe(true);
  });
});
