import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { prepareBootConfig } from '../../src/config/index.js';
import { buildApp } from '../../src/http/app.js';
import { Store } from '../../src/inventory/store.js';
import { silentLogger } from '../../src/log.js';
import { defaultSettings } from '../../src/settings.js';
import { ignitionProfileFixture, talosSection } from '../render/inputs.js';

const auth = { authorization: 'Bearer admin' };
let app: FastifyInstance | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

async function setup() {
  const store = Store.memory();
  const settings = defaultSettings({ http: { publicUrl: 'http://198.18.0.1:8080' } });
  const deps = { settings, store, log: silentLogger(), adminToken: 'admin' };
  app = await buildApp(deps);
  return { app, store, deps };
}

describe('config API', () => {
  it('lists a machine’s versions and serves the raw bytes of an old one for rollback', async () => {
    const { app, store, deps } = await setup();
    const fixture = ignitionProfileFixture();
    expect((await app.inject({ method: 'POST', url: '/api/v1/profiles', headers: auth, payload: fixture })).statusCode).toBe(201);
    const m = store.machines.create({ name: 'flatcar-1', macs: ['52:54:00:00:00:01'], profile: fixture.name });
    const v1 = prepareBootConfig(deps, m);
    const put = await app.inject({ method: 'PUT', url: `/api/v1/profiles/${fixture.name}`, headers: auth, payload: { spec: { ...fixture.spec, ignition: { version: '3.4.0' } } } });
    expect(put.statusCode).toBe(200);
    const v2 = prepareBootConfig(deps, m);
    expect(v2.versionId).not.toBe(v1.versionId);

    const list = await app.inject({ method: 'GET', url: '/api/v1/machines/flatcar-1/configs', headers: auth });
    expect(list.statusCode).toBe(200);
    expect(list.json()).toMatchObject({ desired: { id: v2.versionId, sha256: v2.sha256 }, items: [{ id: v2.versionId }, { id: v1.versionId, format: 'ignition' }] });
    expect(list.json().items[0].body).toBeUndefined();

    const old = await app.inject({ method: 'GET', url: `/api/v1/configs/${v1.versionId}`, headers: auth });
    expect(old.statusCode).toBe(200);
    expect(old.headers.etag).toBe(`"sha256:${v1.sha256}"`);
    expect(old.headers['content-type']).toBe('application/vnd.coreos.ignition+json');
    expect(JSON.parse(old.body).ignition.version).toBe('3.3.0');
    expect((await app.inject({ method: 'GET', url: '/api/v1/configs/999', headers: auth })).statusCode).toBe(404);
    expect((await app.inject({ method: 'GET', url: `/api/v1/configs/${v1.versionId}` })).statusCode).toBe(401);
  });

  it.each([
    ['talos endpoint', { os: 'talos', talos: { ...talosSection('alpha', 'worker'), cluster: { name: 'alpha', endpoint: 'http://x' } } }, 'spec.talos.cluster.endpoint'],
    ['talos missing', { os: 'talos' }, 'spec.talos'],
    ['talos patch', { os: 'talos', talos: { ...talosSection('alpha', 'worker'), machines: { n1: { install: { disk: 'sda' } } } } }, 'spec.talos.machines.n1.install.disk'],
    ['butane', { os: 'flatcar', butane: 'variant: flatcar\nversion: 1.0.0\nsystemd:\n  units:\n    - name: foo\n' }, 'systemd.units[0].name'],
    ['ignition', { os: 'fcos', ignition: { config: { ignition: { version: '2.2.0' } } } }, 'spec.ignition.config.ignition.version'],
    ['cloud-init', { os: 'cloudinit', cloudInit: { userData: { hostname: 'x' } } }, 'spec.cloudInit.userData.hostname'],
    ['bottlerocket', { os: 'bottlerocket', bottlerocket: { settings: { kubernetes: { 'api-server': 'ftp://x' } } } }, 'spec.bottlerocket.settings.kubernetes.api-server'],
    ['testos', { testos: { files: [{ path: 'x', contents: '' }] } }, 'spec.testos.files[0].path'],
  ])('rejects a %s profile that would render an invalid document with 422 and the path', async (_what, spec, path) => {
    const { app, store } = await setup();
    const post = await app.inject({ method: 'POST', url: '/api/v1/profiles', headers: auth, payload: { name: 'bad', spec } });
    expect(post.statusCode).toBe(422);
    expect(post.json().error.code).toBe('INVALID_CONFIG');
    expect(post.json().error.details.map((d: { path: string }) => d.path).join(' ')).toContain(path);
    expect(store.profiles.find('bad')).toBeUndefined();
    await app.inject({ method: 'POST', url: '/api/v1/profiles', headers: auth, payload: { name: 'ok', spec: { os: 'testos' } } });
    const put = await app.inject({ method: 'PUT', url: '/api/v1/profiles/ok', headers: auth, payload: { spec } });
    expect(put.statusCode).toBe(422);
    expect(store.profiles.get('ok').revision).toBe(1);
  });

  it('accepts a valid Talos profile and documents the config routes in OpenAPI', async () => {
    const { app } = await setup();
    const spec = { os: 'talos', install: { disk: '/dev/sda' }, talos: talosSection('alpha', 'controlplane', { machines: { 'cp-1': { hostname: 'cp-1' } } }) };
    expect((await app.inject({ method: 'POST', url: '/api/v1/profiles', headers: auth, payload: { name: 'alpha-cp', spec } })).statusCode).toBe(201);
    const doc = (await app.inject({ method: 'GET', url: '/api/v1/openapi.json', headers: auth })).json();
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/config/{token}', '/api/v1/machines/{ref}/configs', '/api/v1/configs/{id}']));
  });
});
