import { type IncomingHttpHeaders, createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance, FastifyServerFactory } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { appServices, buildServices, closeServices } from '../../src/appliance-services.js';
import { buildApp } from '../../src/http/app.js';
import { leanScriptTarget } from '../../src/http/boot-script.js';
import { tagListener } from '../../src/http/guard.js';
import { Store } from '../../src/inventory/store.js';
import { silentLogger } from '../../src/log.js';
import { defaultSettings } from '../../src/settings.js';
import { fakeAssetsDir } from '../assets/fixture.js';

describe('leanScriptTarget (which requests the lean path takes)', () => {
  it.each([
    ['GET', '/boot.ipxe?mac=52:54:00:00:00:01', { route: '/boot.ipxe', rawMac: '52:54:00:00:00:01' }],
    ['GET', '/boot.ipxe?mac=52-54-00-00-00-01&uuid=4c4c4544-0042&serial=ABC123', { route: '/boot.ipxe', rawMac: '52-54-00-00-00-01' }],
    ['GET', '/boot.ipxe', { route: '/boot.ipxe', rawMac: undefined }],
    ['GET', '/boot/52:54:00:00:00:01.ipxe', { route: '/boot/:file', rawMac: '52:54:00:00:00:01' }],
    ['GET', '/boot/52:54:00:00:00:01.txt', { route: '/boot/:file', rawMac: undefined }],
    ['HEAD', '/boot.ipxe?mac=52:54:00:00:00:01', undefined],
    ['POST', '/boot.ipxe?mac=52:54:00:00:00:01', undefined],
    ['GET', '/healthz', undefined],
    ['GET', '/boot.ipxe?mac=52:54:00:00:00:01&mac=52:54:00:00:00:02', undefined],
    ['GET', `/boot.ipxe?mac=${'a'.repeat(65)}`, undefined],
    ['GET', '/boot.ipxe?mac=52%3A54%3A00%3A00%3A00%3A01', undefined],
    ['GET', '/boot.ipxe?mac=52+54', undefined],
    ['GET', '/boot.ipxe;x=1?mac=52:54:00:00:00:01', undefined],
    ['GET', '//boot.ipxe?mac=52:54:00:00:00:01', undefined],
    ['GET', '/boot/../boot.ipxe', undefined],
    ['GET', '/boot/a/b.ipxe', undefined],
    ['GET', '/boot/', undefined],
    ['GET', `/boot/${'a'.repeat(60)}.ipxe`, undefined],
    ['GET', 'http://x/boot.ipxe?mac=52:54:00:00:00:01', undefined],
    // The plain `?mac=` form (its own fast match) against its edges: empty, 64 characters, other names.
    ['GET', '/boot.ipxe?mac=', { route: '/boot.ipxe', rawMac: '' }],
    ['GET', `/boot.ipxe?mac=${'a'.repeat(64)}`, { route: '/boot.ipxe', rawMac: 'a'.repeat(64) }],
    ['GET', '/boot.ipxe?mac=52:54:00:00:00:01&', { route: '/boot.ipxe', rawMac: '52:54:00:00:00:01' }],
    ['GET', '/boot.ipxe?mac=52:54:00:00:00:01#x', undefined],
    ['GET', '/bootXipxe?mac=52:54:00:00:00:01', undefined],
    ['GET', '/boot.ipxe?mac=52:54:00:00:00:01 ', undefined],
    ['GET', '/boot.ipxe?mac=a~b', { route: '/boot.ipxe', rawMac: 'a~b' }],
  ])('%s %s', (method, url, want) => {
    const got = leanScriptTarget(method, url);
    if (want === undefined) expect(got).toBeUndefined();
    else expect(got).toMatchObject(want);
    // The query is what the general parse gives (the identity claim reads it).
    if (got && want?.rawMac !== undefined && url.startsWith('/boot.ipxe?')) expect({ ...got.query }).toEqual({ ...Object.fromEntries(new URLSearchParams(url.split('?')[1])) });
  });
});

let app: FastifyInstance;
let store: Store;
let port: number;
let fastifyHits: string[];
const MAC = '52:54:00:00:00:01';

beforeEach(async () => {
  const fx = fakeAssetsDir();
  store = Store.memory();
  const settings = defaultSettings({ assetsDir: fx.dir, dataDir: fx.dataDir, http: { publicUrl: 'http://198.18.0.1:8080', consoleArgs: 'console=ttyS0' } });
  const log = silentLogger();
  const services = buildServices({ settings, store, log, publicUrl: () => settings.http.publicUrl ?? '' });
  // As main.ts serves it: every request tagged with its listener (here: the boot network's).
  const serverFactory: FastifyServerFactory = (handler) =>
    createServer((req, res) => {
      tagListener(req, 'boot');
      handler(req, res);
    });
  app = await buildApp({ settings, store, log, adminToken: 'test-token', serverFactory, ...appServices(services) });
  app.addHook('onClose', async () => closeServices(services));
  fastifyHits = [];
  app.addHook('onRequest', async (req) => {
    fastifyHits.push(req.url);
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  port = (app.server.address() as AddressInfo).port;
  store.profiles.create('p', { os: 'testos' } as never);
  store.machines.create({ name: 'n1', macs: [MAC], profile: 'p' });
  // Requests come from 127.0.0.1: the machine was seen there (as in its ProxyDHCP exchange).
  store.sightings.note(MAC, '127.0.0.1', Date.now());
});
afterEach(async () => {
  await app.close();
});

function get(path: string, method = 'GET'): Promise<{ status: number; headers: IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}
/** A script with its per-boot secrets blanked (they differ on every boot). */
const blank = (s: string) => s.replace(/\/config\/[0-9]+_[A-Za-z0-9_-]{43}/g, '/config/T').replace(/rackboot\.token=[0-9]+_[A-Za-z0-9_-]{43}/g, 'rackboot.token=T');

describe('the lean script path', () => {
  it('answers the script before fastify, with the bytes and headers of the fastify route', async () => {
    const lean = await get(`/boot.ipxe?mac=${MAC}`);
    expect(fastifyHits).toEqual([]);
    // A `+` in the query is not for the lean path: the same request through fastify's route.
    const routed = await get(`/boot.ipxe?mac=${MAC}&x=a+b`);
    expect(fastifyHits).toEqual([`/boot.ipxe?mac=${MAC}&x=a+b`]);
    expect(lean.status).toBe(200);
    expect(routed.status).toBe(200);
    expect(blank(lean.body)).toBe(blank(routed.body));
    expect(lean.body).toContain('#!ipxe');
    expect(Object.keys(lean.headers)).toEqual(Object.keys(routed.headers));
    for (const h of ['content-type', 'cache-control', 'content-length', 'connection', 'keep-alive']) expect(lean.headers[h]).toBe(routed.headers[h]);
    // Every boot still gets fresh one-use tokens, committed before the script was sent.
    const path = await get(`/boot/${MAC}.ipxe`);
    expect(path.status).toBe(200);
    const token = (s: string) => /\/config\/([0-9]+_[A-Za-z0-9_-]{43})/.exec(s)?.[1];
    expect(new Set([token(lean.body), token(routed.body), token(path.body)]).size).toBe(3);
    expect(store.events.list({ machineId: store.machines.get('n1').id, kind: 'boot.script' })).toHaveLength(3);
  });

  it('refuses an unbound source (403) and an unknown MAC as the route does', async () => {
    store.sightings.note(MAC, '198.18.0.99', Date.now()); // the machine is elsewhere now
    const lean = await get(`/boot.ipxe?mac=${MAC}`);
    expect(lean.status).toBe(403);
    expect(lean.body).toContain('not bound');
    const unknown = await get('/boot.ipxe?mac=52:54:00:00:00:99');
    expect(unknown.status).toBe(200);
    expect(unknown.body).toContain('unknown machine 52:54:00:00:00:99');
    const bad = await get('/boot.ipxe?mac=nope');
    expect(bad.status).toBe(400);
    expect(fastifyHits).toEqual([]);
  });

  it('leaves other methods, other routes and targets the guard refuses to fastify', async () => {
    expect((await get(`/boot.ipxe?mac=${MAC}`, 'HEAD')).status).toBe(200);
    expect((await get('/healthz')).status).toBe(200);
    const refused = await get('/boot.ipxe?mac=52%3A54%3A00%3A00%3A00%3A01&x=/..');
    expect(refused.status).toBe(200); // routed (percent-encoded query), answered by the route
    expect(fastifyHits).toHaveLength(3);
    expect((await get('/boot/%2e%2e/boot.ipxe')).status).toBe(400); // the guard's refusal (before later hooks)
  });
});

describe('boot lookups from memory take effect at once (hostile)', () => {
  it('a MAC moved to another machine, a removed machine and a binding switched on count from the next request', async () => {
    expect((await get(`/boot.ipxe?mac=${MAC}`)).body).toContain('booting n1');
    // The MAC moves to n2 (a NIC moved between chassis): the next script is n2's, never n1's.
    store.machines.update('n1', { macs: ['52:54:00:00:00:02'] });
    store.machines.create({ name: 'n2', macs: [MAC], profile: 'p' });
    const moved = await get(`/boot.ipxe?mac=${MAC}`);
    expect(moved.body).toContain('booting n2');
    expect(moved.body).not.toContain('n1');
    store.machines.remove('n2');
    expect((await get(`/boot.ipxe?mac=${MAC}`)).body).toContain(`unknown machine ${MAC}`);
    // Binding off, then on: the unbound source is refused on the very next request.
    store.profiles.update('p', { os: 'testos', bootBinding: 'off' } as never);
    store.machines.create({ name: 'n3', macs: [MAC], profile: 'p' });
    store.sightings.note(MAC, '198.18.0.99', Date.now());
    expect((await get(`/boot.ipxe?mac=${MAC}`)).status).toBe(200);
    store.profiles.update('p', { os: 'testos', bootBinding: 'on' } as never);
    expect((await get(`/boot.ipxe?mac=${MAC}`)).status).toBe(403);
  });
});
