import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { testApp } from '../helpers/app.js';
import { type FakeAsset, fakeAssetsDir, sha256 } from '../assets/fixture.js';

type T = Awaited<ReturnType<typeof testApp>>;
let t: T;
let fx: ReturnType<typeof fakeAssetsDir>;
beforeEach(async () => {
  fx = fakeAssetsDir();
  t = await testApp({
    assetsDir: fx.dir,
    dataDir: fx.dataDir,
    http: { publicUrl: 'http://198.18.0.1:8080', consoleArgs: 'console=ttyS0' },
    // POST /api/v1/assets imports local files only from here (the fixture root; its data/ stays refused).
    assets: { importDirs: [join(fx.dataDir, '..')] },
  });
});
afterEach(async () => {
  await t.app.close();
});

const api = (method: 'GET' | 'POST' | 'PUT', url: string, payload?: unknown) =>
  t.app.inject({ method, url, headers: t.auth, ...(payload === undefined ? {} : { payload: payload as object }) });
const get = (url: string, headers: Record<string, string> = {}) => t.app.inject({ method: 'GET', url, headers });
const asset = (name: string) => fx.assets[name] as FakeAsset;

async function machine(name: string, mac: string, spec: Record<string, unknown>) {
  expect((await api('POST', '/api/v1/profiles', { name: `p-${name}`, spec })).statusCode).toBe(201);
  expect((await api('POST', '/api/v1/machines', { name, macs: [mac], profile: `p-${name}` })).statusCode).toBe(201);
  // inject() requests come from 127.0.0.1: the machine was seen there (as in its ProxyDHCP exchange).
  t.store.sightings.note(mac.replaceAll('-', ':'), '127.0.0.1', Date.now());
}

/** kernel args of a rendered network-boot script. */
const kernelLine = (script: string) => script.split('\n').find((l) => l.startsWith('kernel ')) ?? '';
const argOf = (script: string, key: string) => kernelLine(script).split(' ').find((w) => w.startsWith(`${key}=`))?.slice(key.length + 1);

describe('boot scripts', () => {
  it('a registered machine gets kernel + initrd by digest, profile args, config URL and console args', async () => {
    await machine('n1', '52:54:00:00:00:01', { os: 'testos', cmdline: 'quiet rackboot.after=poweroff' });
    const r = await get('/boot.ipxe?mac=52-54-00-00-00-01');
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toMatch(/^text\/plain/);
    const s = r.body;
    expect(s.startsWith('#!ipxe\n')).toBe(true);
    expect(kernelLine(s)).toContain(`http://198.18.0.1:8080/assets/sha256/${asset('testos-vmlinuz').sha256}?mac=52:54:00:00:00:01`);
    expect(s).toContain(`initrd --name initrd0 http://198.18.0.1:8080/assets/sha256/${asset('testos-initrd.img').sha256}?mac=52:54:00:00:00:01`);
    expect(kernelLine(s)).toMatch(/ initrd=initrd0 quiet rackboot\.after=poweroff rackboot\.config=http:\/\/198\.18\.0\.1:8080\/config\/\S+ /);
    expect(kernelLine(s).endsWith(' console=ttyS0 || goto failed')).toBe(true);
    expect(argOf(s, 'rackboot.report')).toBe('http://198.18.0.1:8080/api/v1/report');
    expect(argOf(s, 'rackboot.token')).toMatch(/^[0-9]+_[A-Za-z0-9_-]{43}$/);
    expect(s).not.toMatch(/shell|goto (start|retry|loop)/);
    const m = t.store.machines.get('n1');
    expect(m.state).toBe('booting');
    const ev = t.store.events.list({ machineId: m.id, kind: 'boot.script' });
    expect(ev).toHaveLength(1);
    expect(ev[0]?.detail).toMatchObject({ mode: 'network', sha256: argOf(s, 'rackboot.config_sha256'), kernel: asset('testos-vmlinuz').sha256 });
    expect(typeof ev[0]?.detail.versionId).toBe('number');
    // The config URL works once (the per-boot token), then is refused.
    const cfg = new URL(argOf(s, 'rackboot.config') as string);
    const first = await get(cfg.pathname);
    expect(first.statusCode).toBe(200);
    expect(sha256(first.rawPayload)).toBe(argOf(s, 'rackboot.config_sha256'));
    expect((await get(cfg.pathname)).statusCode).toBe(403);
  });

  it('the path form /boot/<mac>.ipxe gives the same kind of script', async () => {
    await machine('n2', '52:54:00:00:00:02', { os: 'testos' });
    const r = await get('/boot/525400000002.ipxe');
    expect(r.statusCode).toBe(200);
    expect(kernelLine(r.body)).toContain(asset('testos-vmlinuz').sha256);
  });

  it('flatcar profiles get the Ignition initrd and install orders on the command line', async () => {
    const fixture = parse(readFileSync(join(import.meta.dirname, '../fixtures/render/ignition-profile.yaml'), 'utf8'));
    await machine('fc', '52:54:00:00:00:03', { ...fixture.spec, install: { image: 'big.raw', disk: '/dev/vda' } });
    const s = (await get('/boot.ipxe?mac=52:54:00:00:00:03')).body;
    expect(s).toContain(`initrd --name initrd1 http://198.18.0.1:8080/assets/sha256/${asset('testos-ignition.img').sha256}`);
    expect(kernelLine(s)).toContain('initrd=initrd0 initrd=initrd1');
    expect(argOf(s, 'ignition.config.url')).toMatch(/^http:\/\/198\.18\.0\.1:8080\/config\//);
    expect(argOf(s, 'rackboot.image')).toBe(`http://198.18.0.1:8080/assets/sha256/${asset('big.raw').sha256}`);
    expect(argOf(s, 'rackboot.image_sha256')).toBe(asset('big.raw').sha256);
  });

  it('a provisioned machine boots its local disk (sanboot for BIOS, exit for UEFI)', async () => {
    await machine('done', '52:54:00:00:00:04', { os: 'testos', boot: 'disk' });
    const r = await get('/boot.ipxe?mac=52:54:00:00:00:04');
    expect(r.statusCode).toBe(200);
    expect(r.body).toContain('iseq ${platform} efi && goto uefi ||');
    expect(r.body).toContain('sanboot --no-describe --drive 0x80');
    expect(r.body).not.toContain('kernel ');
    expect(t.store.events.list({ kind: 'boot.script' })[0]?.detail).toMatchObject({ mode: 'disk' });
  });

  it('an unknown MAC gets a message and exit, never a loop or a shell; a missing MAC is 400', async () => {
    const r = await get('/boot.ipxe?mac=52:54:00:ff:ff:ff');
    expect(r.statusCode).toBe(200);
    expect(r.body).toMatch(/^#!ipxe\n/);
    expect(r.body).toContain('echo rackboot: unknown machine 52:54:00:ff:ff:ff');
    expect(r.body).toMatch(/sleep \d+\nexit 1\n$/);
    expect(r.body).not.toMatch(/goto|shell|chain/);
    expect(t.store.events.list({ mac: '52:54:00:ff:ff:ff' })[0]?.kind).toBe('boot.unknown');
    expect((await get('/boot.ipxe')).statusCode).toBe(400);
    expect((await get('/boot.ipxe?mac=zz')).statusCode).toBe(400);
    expect((await get('/boot/nonsense.txt')).statusCode).toBe(400);
  });

  it('a machine whose profile names a vanished artifact gets a refusal script and a boot.error event', async () => {
    await machine('broken', '52:54:00:00:00:05', { os: 'testos' });
    writeFileSync(join(fx.dir, 'manifest.json'), JSON.stringify({ version: 1, artifacts: [] }));
    const r = await get('/boot.ipxe?mac=52:54:00:00:00:05');
    expect(r.body).toContain('cannot boot broken');
    expect(r.body).not.toContain('kernel ');
    expect(t.store.events.list({ kind: 'boot.error' })).toHaveLength(1);
  });

  it('a profile naming an unverified artifact is rejected when saved (422 with the path)', async () => {
    const r = await api('POST', '/api/v1/profiles', { name: 'bad', spec: { os: 'testos', initrd: ['testos-initrd.img', 'sha256:' + 'ab'.repeat(32)] } });
    expect(r.statusCode).toBe(422);
    expect(r.json().error.details[0].path).toBe('spec.initrd.1');
  });

  it('an inventory import whose profile names an unverified artifact changes nothing (422 naming the entry)', async () => {
    const file = {
      profiles: [{ name: 'bad', spec: { os: 'testos', kernel: 'sha256:' + 'cd'.repeat(32) } }],
      machines: [{ name: 'imp1', macs: ['52:54:00:00:09:09'] }],
    };
    const r = await api('POST', '/api/v1/inventory/import', file);
    expect(r.statusCode).toBe(422);
    expect(r.json().error.details[0].path).toBe('profiles[0] (bad): spec.kernel');
    expect(t.store.machines.find('imp1')).toBeUndefined();
  });
});

describe('assets', () => {
  const big = () => asset('big.raw');
  const url = () => `/assets/sha256/${big().sha256}`;

  it('GET streams the whole file with ETag and immutable caching', async () => {
    const r = await get(url());
    expect(r.statusCode).toBe(200);
    expect(r.rawPayload.equals(big().bytes)).toBe(true);
    expect(r.headers.etag).toBe(`"sha256:${big().sha256}"`);
    expect(r.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(r.headers['content-length']).toBe(String(big().bytes.length));
    expect(r.headers['accept-ranges']).toBe('bytes');
  });

  it('HEAD has the headers and no body', async () => {
    const r = await t.app.inject({ method: 'HEAD', url: url() });
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-length']).toBe(String(big().bytes.length));
    expect(r.rawPayload.length).toBe(0);
  });

  it.each([
    ['bytes=0-99', 0, 99],
    ['bytes=1048576-', 1048576, 3 * 1048576 - 1],
    ['bytes=-10', 3 * 1048576 - 10, 3 * 1048576 - 1],
  ])('Range %s → 206 with the right bytes', async (range, start, end) => {
    const r = await get(url(), { range });
    expect(r.statusCode).toBe(206);
    expect(r.headers['content-range']).toBe(`bytes ${start}-${end}/${big().bytes.length}`);
    expect(r.rawPayload.equals(big().bytes.subarray(start, end + 1))).toBe(true);
  });

  it('416 past the end; If-None-Match → 304; If-Range with another ETag → whole file', async () => {
    const r416 = await get(url(), { range: 'bytes=99999999-' });
    expect(r416.statusCode).toBe(416);
    expect(r416.headers['content-range']).toBe(`bytes */${big().bytes.length}`);
    const r304 = await get(url(), { 'if-none-match': `"sha256:${big().sha256}"` });
    expect(r304.statusCode).toBe(304);
    expect(r304.rawPayload.length).toBe(0);
    const stale = await get(url(), { range: 'bytes=0-9', 'if-range': '"sha256:other"' });
    expect(stale.statusCode).toBe(200);
  });

  it('a registered artifact whose file vanished gets a JSON error naming it, and the server goes on', async () => {
    rmSync(join(fx.dir, 'big.raw'));
    const r = await get(url());
    expect(r.statusCode).toBe(500);
    expect(r.json().error).toMatchObject({ code: 'INTERNAL' });
    expect(r.json().error.message).toMatch(/big\.raw .*file cannot be read: ENOENT/);
    expect((await get('/assets/ipxe.efi')).statusCode).toBe(200);
  });

  it('by name (UEFI HTTP boot loads /assets/ipxe.efi); unknown digests and names are 404, traversal 400', async () => {
    const r = await get('/assets/ipxe.efi');
    expect(r.statusCode).toBe(200);
    expect(r.rawPayload.equals(asset('ipxe.efi').bytes)).toBe(true);
    for (const u of [`/assets/sha256/${'0'.repeat(64)}`, '/assets/manifest.json', '/assets/sha256/ABC']) {
      const x = await get(u);
      expect(x.statusCode, u).toBe(404);
    }
    // Non-normalized targets never reach a route (inject() resolves '..' and '%2e%2e' itself, so those
    // form is checked over a real socket in test/http/hostile.test.ts).
    expect((await get('/assets/sha256/../../etc/passwd')).statusCode).toBe(404);
    for (const u of ['/assets/..%2F..%2Fetc%2Fpasswd', '/assets/%61bc']) {
      const x = await get(u);
      expect(x.statusCode, u).toBe(400);
    }
  });

  it('records asset.served for kernels and initrds per MAC, not for loaders or HEAD', async () => {
    await machine('n9', '52:54:00:00:00:09', { os: 'testos' });
    await get(`/assets/sha256/${asset('testos-vmlinuz').sha256}?mac=52:54:00:00:00:09`);
    await t.app.inject({ method: 'HEAD', url: `/assets/sha256/${asset('testos-initrd.img').sha256}?mac=52:54:00:00:00:09` });
    await get('/assets/ipxe.efi?mac=52:54:00:00:00:09');
    const ev = t.store.events.list({ kind: 'asset.served' });
    expect(ev).toHaveLength(1);
    expect(ev[0]).toMatchObject({ mac: '52:54:00:00:00:09', detail: { name: 'testos-vmlinuz', status: 200 } });
    expect(ev[0]?.machineId).toBe(t.store.machines.get('n9').id);
  });

  it('POST /api/v1/assets registers a verified artifact that profiles may then use', async () => {
    const bytes = Buffer.from('external initramfs');
    const path = join(fx.dataDir, '..', 'ext.img');
    writeFileSync(path, bytes);
    const bad = await api('POST', '/api/v1/assets', { name: 'ext.img', kind: 'initrd', sha256: 'f'.repeat(64), path });
    expect(bad.statusCode).toBe(422);
    expect((await api('POST', '/api/v1/assets', { name: 'ext.img', kind: 'initrd', sha256: sha256(bytes) })).statusCode).toBe(400);
    expect((await api('POST', '/api/v1/assets', { name: '../x', kind: 'initrd', sha256: sha256(bytes), path })).statusCode).toBe(400);
    const ok = await api('POST', '/api/v1/assets', { name: 'ext.img', kind: 'initrd', sha256: `sha256:${sha256(bytes)}`, path });
    expect(ok.statusCode).toBe(201);
    expect(ok.json()).toMatchObject({ name: 'ext.img', size: bytes.length, url: `/assets/sha256/${sha256(bytes)}` });
    expect((await get(`/assets/sha256/${sha256(bytes)}`)).body).toBe('external initramfs');
    expect((await api('POST', '/api/v1/profiles', { name: 'ext', spec: { os: 'testos', initrd: ['ext.img'] } })).statusCode).toBe(201);
    expect((await api('GET', '/api/v1/assets')).json().items.map((a: { name: string }) => a.name)).toContain('ext.img');
    expect((await t.app.inject({ method: 'POST', url: '/api/v1/assets', payload: {} })).statusCode).toBe(401);
  });
});
