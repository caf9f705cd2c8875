import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { testApp } from '../helpers/app.js';

type T = Awaited<ReturnType<typeof testApp>>;
let t: T;
beforeEach(async () => {
  t = await testApp();
});
afterEach(async () => {
  await t.app.close();
});

const spec = { os: 'testos', cmdline: 'quiet' };
const req = (method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE', url: string, payload?: unknown) =>
  t.app.inject({ method, url, headers: t.auth, ...(payload === undefined ? {} : { payload: payload as object }) });

describe('auth', () => {
  it.each(['/api/v1/machines', '/api/v1/profiles', '/api/v1/events', '/api/v1/inventory/export'])('%s needs the token', async (url) => {
    const none = await t.app.inject({ method: 'GET', url });
    expect(none.statusCode).toBe(401);
    expect(none.json().error.code).toBe('UNAUTHORIZED');
    const wrong = await t.app.inject({ method: 'GET', url, headers: { authorization: 'Bearer nope' } });
    expect(wrong.statusCode).toBe(401);
    expect((await req('GET', url)).statusCode).toBe(200);
  });
  it('serves the OpenAPI document to any API token, not without one', async () => {
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/openapi.json' })).statusCode).toBe(401);
    const r = await req('GET', '/api/v1/openapi.json');
    expect(r.statusCode).toBe(200);
    expect(r.json().paths['/api/v1/machines'].post.requestBody).toBeDefined();
  });
});

describe('machines', () => {
  it('create, get by id/name/MAC, list with selector, patch, delete', async () => {
    const c = await req('POST', '/api/v1/machines', { name: 'n1', macs: ['AA-BB-CC-00-00-01'], labels: { rack: 'r1' } });
    expect(c.statusCode).toBe(201);
    const m = c.json();
    expect(m.macs).toEqual(['aa:bb:cc:00:00:01']);
    for (const ref of [String(m.id), 'n1', 'aabbcc000001']) expect((await req('GET', `/api/v1/machines/${ref}`)).json().name).toBe('n1');
    await req('POST', '/api/v1/machines', { name: 'n2', macs: ['aa:bb:cc:00:00:02'], labels: { rack: 'r2' } });
    const list = await req('GET', '/api/v1/machines?selector=rack%3Dr2');
    expect(list.json().items.map((x: { name: string }) => x.name)).toEqual(['n2']);
    const p = await req('PATCH', '/api/v1/machines/n1', { labels: { rack: 'r3' }, ipv4: '198.18.0.20' });
    expect(p.statusCode).toBe(200);
    expect(p.json().ipv4).toBe('198.18.0.20');
    expect((await req('DELETE', '/api/v1/machines/n1')).statusCode).toBe(200);
    expect((await req('GET', '/api/v1/machines/n1')).statusCode).toBe(404);
    const ev = await req('GET', '/api/v1/events');
    expect(ev.json().items.map((e: { kind: string }) => e.kind)).toContain('machine.deleted');
  });

  it.each([
    [{}, 'name'],
    [{ name: 'n1' }, 'macs'],
    [{ name: 'N 1', macs: ['aa:bb:cc:00:00:01'] }, 'name'],
    [{ name: 'n1', macs: [] }, 'macs'],
    [{ name: 'n1', macs: ['aa:bb:cc:00:00:01'], ipv4: '300.1.1.1' }, 'ipv4'],
    [{ name: 'n1', macs: ['aa:bb:cc:00:00:01'], extra: 1 }, ''],
    [{ name: 'n1', macs: ['aa:bb:cc:00:00:01'], labels: { a: 5 } }, 'labels.a'],
  ])('bad body %j → 400 naming %s', async (body, path) => {
    const r = await req('POST', '/api/v1/machines', body);
    expect(r.statusCode).toBe(400);
    const e = r.json().error;
    expect(e.code).toBe('BAD_INPUT');
    expect(e.details.some((d: { path: string }) => d.path === path)).toBe(true);
  });

  it('a malformed MAC or JSON is a 400, never a 500', async () => {
    expect((await req('POST', '/api/v1/machines', { name: 'n1', macs: ['zz'] })).statusCode).toBe(400);
    const r = await t.app.inject({
      method: 'POST',
      url: '/api/v1/machines',
      headers: { ...t.auth, 'content-type': 'application/json' },
      payload: '{"name":',
    });
    expect(r.statusCode).toBe(400);
    expect(r.json().error.code).toBe('BAD_INPUT');
    expect((await req('GET', '/api/v1/machines?selector=%3D%3D')).statusCode).toBe(400);
    expect((await req('GET', '/api/v1/events?mac=nope')).statusCode).toBe(400);
  });

  it('duplicate MAC or name → 409; unknown profile → 400; unknown machine → 404', async () => {
    await req('POST', '/api/v1/machines', { name: 'n1', macs: ['aa:bb:cc:00:00:01'] });
    const dup = await req('POST', '/api/v1/machines', { name: 'n2', macs: ['aa-bb-cc-00-00-01'] });
    expect(dup.statusCode).toBe(409);
    expect(dup.json().error.code).toBe('CONFLICT');
    expect((await req('POST', '/api/v1/machines', { name: 'n1', macs: ['aa:bb:cc:00:00:02'] })).statusCode).toBe(409);
    expect((await req('POST', '/api/v1/machines', { name: 'n3', macs: ['aa:bb:cc:00:00:03'], profile: 'nope' })).statusCode).toBe(400);
    expect((await req('PATCH', '/api/v1/machines/ghost', { labels: {} })).statusCode).toBe(404);
    expect((await req('DELETE', '/api/v1/machines/ghost')).statusCode).toBe(404);
  });
});

describe('BMCs', () => {
  it('attach, read without the password, replace, delete; bad bodies 400', async () => {
    await req('POST', '/api/v1/machines', { name: 'n1', macs: ['aa:bb:cc:00:00:01'] });
    const b = { type: 'ipmi', address: '198.18.0.50', port: 623, username: 'admin', password: 's3cret-pw' };
    const put = await req('PUT', '/api/v1/machines/n1/bmc', b);
    expect(put.statusCode).toBe(200);
    expect(put.body).not.toContain('s3cret');
    const get = await req('GET', '/api/v1/machines/n1/bmc');
    expect(get.json()).toMatchObject({ type: 'ipmi', address: '198.18.0.50', username: 'admin' });
    expect(get.body).not.toContain('s3cret');
    expect((await req('GET', '/api/v1/machines/n1')).body).not.toContain('s3cret');
    expect((await req('PUT', '/api/v1/machines/n1/bmc', { ...b, type: 'telnet' })).statusCode).toBe(400);
    // Same type, address and port: no password keeps the stored one; a new address must bring its own.
    expect((await req('PUT', '/api/v1/machines/n1/bmc', { ...b, password: undefined })).statusCode).toBe(200);
    expect((await req('PUT', '/api/v1/machines/n1/bmc', { ...b, address: '198.18.0.51', password: undefined })).statusCode).toBe(400);
    expect((await req('DELETE', '/api/v1/machines/n1/bmc')).statusCode).toBe(200);
    expect((await req('GET', '/api/v1/machines/n1/bmc')).statusCode).toBe(404);
  });
});

describe('profiles and events', () => {
  it('CRUD with revisions; deleting a used profile is a 409', async () => {
    expect((await req('POST', '/api/v1/profiles', { name: 'p1', spec })).statusCode).toBe(201);
    expect((await req('POST', '/api/v1/profiles', { name: 'p1', spec })).statusCode).toBe(409);
    expect((await req('GET', '/api/v1/profiles')).json().items).toHaveLength(1);
    const put = await req('PUT', '/api/v1/profiles/p1', { spec: { ...spec, cmdline: 'debug' } });
    expect(put.json().revision).toBe(2);
    expect((await req('PUT', '/api/v1/profiles/p1', { spec: { os: 'windows' } })).statusCode).toBe(400);
    await req('POST', '/api/v1/machines', { name: 'n1', macs: ['aa:bb:cc:00:00:01'], profile: 'p1' });
    expect((await req('DELETE', '/api/v1/profiles/p1')).statusCode).toBe(409);
    expect((await req('GET', '/api/v1/profiles/none')).statusCode).toBe(404);
    const ev = await req('GET', '/api/v1/machines/n1/events');
    expect(ev.json().items[0].kind).toBe('machine.created');
  });
});

describe('inventory import/export', () => {
  const good = {
    profiles: [{ name: 'p1', spec }],
    machines: [
      { name: 'a1', macs: ['02:00:00:00:00:01'], profile: 'p1', bmc: { type: 'ipmi', address: '198.18.0.51', username: 'u', password: 'pw1' } },
      { name: 'a2', macs: ['02:00:00:00:00:02'] },
    ],
  };
  it('applies a good file and exports it back without passwords', async () => {
    const r = await req('POST', '/api/v1/inventory/import', good);
    expect(r.statusCode).toBe(200);
    expect(r.json()).toEqual({ profiles: { created: 1, updated: 0 }, groups: { created: 0, updated: 0 }, machines: { created: 2, updated: 0 } });
    const ex = await req('GET', '/api/v1/inventory/export');
    expect(ex.body).not.toContain('pw1');
    // Re-importing the export keeps the stored BMC password.
    const again = await req('POST', '/api/v1/inventory/import', ex.json());
    expect(again.json().machines.updated).toBe(2);
    expect(t.store.bmcs.credentials(t.store.machines.get('a1').id).password).toBe('pw1');
  });
  it.each([
    [{ ...good, machines: [...good.machines, { name: 'a3', macs: ['bad-mac'] }] }, /machines\[2\] \(a3\)/],
    [{ ...good, machines: [...good.machines, { name: 'a3', macs: ['02:00:00:00:00:01'] }] }, /machines\[2\] \(a3\).*also listed for a1/],
    [{ ...good, machines: [...good.machines, { name: 'a3', macs: ['02:00:00:00:00:03'], profile: 'missing' }] }, /machines\[2\] \(a3\): profile missing/],
    [{ ...good, machines: [...good.machines, { name: 'A_3', macs: ['02:00:00:00:00:03'] }] }, /machines\.2\.name/],
  ])('one bad entry changes nothing and names the entry (%#)', async (file, msg) => {
    const r = await req('POST', '/api/v1/inventory/import', file);
    expect(r.statusCode).toBeGreaterThanOrEqual(400);
    expect(r.statusCode).toBeLessThan(500);
    expect(`${r.json().error.message} ${JSON.stringify(r.json().error.details)}`).toMatch(msg);
    expect(t.store.machines.list()).toHaveLength(0);
    expect(t.store.profiles.list()).toHaveLength(0);
  });
});

describe('inventory import validates rendered configs', () => {
  it('a profile whose config would not render rejects the whole file with 422', async () => {
    const file = {
      profiles: [{ name: 'bad', spec: { os: 'testos', cloudInit: { userData: 42 } } }],
      machines: [{ name: 'z1', macs: ['02:00:00:00:09:01'] }],
    };
    const r = await req('POST', '/api/v1/inventory/import', file);
    expect(r.statusCode).toBe(422);
    expect(r.json().error.message).toMatch(/profiles\[0\] \(bad\)/);
    expect(t.store.machines.list()).toHaveLength(0);
  });
});
