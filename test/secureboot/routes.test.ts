import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AssetRegistry } from '../../src/assets/index.js';
import { HTTPBOOT_IMAGE_TYPE, HTTPBOOT_PLACEHOLDER } from '../../src/render/grub-httpboot.js';
import { grubTftpHandler } from '../../src/secureboot/tftp.js';
import { silentLogger } from '../../src/log.js';
import { testApp } from '../helpers/app.js';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const MAC1 = '52:54:00:5b:02:01';
const MAC2 = '52:54:00:5b:02:02';

/** A boot-assets build dir with stand-ins for the signed/unsigned kernel, initrd and HTTP Boot image. */
function assetsDir() {
  const root = mkdtempSync(join(tmpdir(), 'rb-sb-assets-'));
  const dir = join(root, 'build');
  const dataDir = join(root, 'data');
  mkdirSync(dir);
  mkdirSync(dataDir);
  const files: Record<string, Buffer> = {
    'testos-vmlinuz': randomBytes(4096),
    'testos-vmlinuz-unsigned': randomBytes(4000),
    'testos-initrd.img': randomBytes(2048),
    'secureboot-httpboot.img': Buffer.concat([randomBytes(700).fill(0x41), Buffer.from(`set rackboot_server=${HTTPBOOT_PLACEHOLDER}\n`), Buffer.alloc(300)]),
  };
  for (const [name, bytes] of Object.entries(files)) writeFileSync(join(dir, name), bytes);
  const artifacts = Object.entries(files).map(([name, b]) => ({ name, sha256: sha256(b), size: b.length, kind: 'file' }));
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify({ version: 1, artifacts }));
  return { dir, dataDir, files };
}

type T = Awaited<ReturnType<typeof testApp>>;
let t: T;
let fx: ReturnType<typeof assetsDir>;
beforeEach(async () => {
  fx = assetsDir();
  t = await testApp({ assetsDir: fx.dir, dataDir: fx.dataDir, http: { publicUrl: 'http://198.18.0.1:8080', consoleArgs: 'console=ttyS0,115200' } });
});
afterEach(async () => {
  await t.app.close();
});

const api = (method: 'GET' | 'POST', url: string, payload?: object) => t.app.inject({ method, url, headers: t.auth, ...(payload ? { payload } : {}) });
const get = (url: string) => t.app.inject({ method: 'GET', url });
const digest = (name: string) => sha256(fx.files[name] as Buffer);

async function machine(name: string, mac: string, spec: Record<string, unknown>) {
  expect((await api('POST', '/api/v1/profiles', { name: `p-${name}`, spec })).statusCode).toBe(201);
  expect((await api('POST', '/api/v1/machines', { name, macs: [mac], profile: `p-${name}` })).statusCode).toBe(201);
  t.store.sightings.note(mac, '127.0.0.1', Date.now()); // inject() comes from 127.0.0.1: bind the machine there
}

describe('GRUB configs over HTTP', () => {
  it('per-MAC configs differ; same config URL and report token scheme as the iPXE path; trace says chain + firmware path', async () => {
    await machine('a', MAC1, { chain: 'secureboot', os: 'testos', cmdline: 'quiet' });
    await machine('b', MAC2, { chain: 'secureboot', os: 'testos', kernel: 'testos-vmlinuz-unsigned', initrd: ['testos-initrd.img'] });
    const a = await get('/grub/grub.cfg-01-52-54-00-5b-02-01');
    const b = await get('/grub/httpboot/grub.cfg-01-52:54:00:5b:02:02');
    expect(a.statusCode).toBe(200);
    expect(a.headers['content-type']).toMatch(/^text\/plain/);
    const linux = (s: string) => s.split('\n').find((l) => l.startsWith('if ! linux ')) ?? '';
    expect(linux(a.body)).toContain(`linux /assets/sha256/${digest('testos-vmlinuz')} quiet rackboot.config=http://198.18.0.1:8080/config/`);
    expect(linux(a.body)).toMatch(/ rackboot\.report=http:\/\/198\.18\.0\.1:8080\/api\/v1\/report rackboot\.token=[0-9]+_[A-Za-z0-9_-]{43} console=ttyS0,115200; then$/);
    expect(a.body).toContain(`initrd /assets/sha256/${digest('testos-initrd.img')}`);
    expect(linux(b.body)).toContain(`linux /assets/sha256/${digest('testos-vmlinuz-unsigned')} `);
    expect(b.body).toContain('/grub/rackboot-failed/linux-uefi-http-01-52-54-00-5b-02-02');
    const ev = (name: string) => t.store.events.list({ machineId: t.store.machines.get(name).id, kind: 'boot.script' })[0]?.detail;
    expect(ev('a')).toMatchObject({ chain: 'secureboot', firmwarePath: 'pxe', via: 'http', mode: 'network', kernel: digest('testos-vmlinuz') });
    expect(ev('b')).toMatchObject({ chain: 'secureboot', firmwarePath: 'uefi-http', kernel: digest('testos-vmlinuz-unsigned') });
    expect(t.store.machines.get('a').state).toBe('booting');
    // The config URL in the GRUB config is the per-boot one: good once.
    const cfg = new URL(/rackboot\.config=(\S+)/.exec(a.body)?.[1] as string);
    expect((await get(cfg.pathname)).statusCode).toBe(200);
    expect((await get(cfg.pathname)).statusCode).toBe(403);
  });

  it('unknown MAC: no kernel, a message, a boot.unknown event; probes are 404; stub picks the per-MAC name', async () => {
    const r = await get('/grub/grub.cfg-01-52-54-00-5b-02-ff');
    expect(r.statusCode).toBe(200);
    expect(r.body).toContain('unknown machine 52:54:00:5b:02:ff');
    expect(r.body).not.toMatch(/^\s*(if ! )?(linux|initrd) /m);
    expect(t.store.events.list({ mac: '52:54:00:5b:02:ff', kind: 'boot.unknown' })[0]?.detail).toMatchObject({ chain: 'secureboot', firmwarePath: 'pxe' });
    expect((await get('/grub/x86_64-efi/command.lst')).statusCode).toBe(404);
    expect((await get('/grub/grub.cfg-01-not-a-mac')).statusCode).toBe(404);
    expect((await get('/grub/grub.cfg')).body).toContain('grub.cfg-01-$net_default_mac');
  });

  it('a provisioned machine boots its disk; a beacon without the boot token is refused and changes nothing', async () => {
    await machine('d', MAC1, { chain: 'secureboot', boot: 'disk' });
    const d = await get('/grub/grub.cfg-01-52-54-00-5b-02-01');
    expect(d.body).toContain('chainloader ($esp)/EFI/BOOT/BOOTX64.EFI');
    expect(d.body).not.toMatch(/^\s*(if ! )?linux /m);
    for (const path of ['/grub/rackboot-failed/linux-pxe-01-52-54-00-5b-02-01', `/grub/rackboot-failed/linux-pxe-01-52-54-00-5b-02-01/${'x'.repeat(43)}`]) {
      expect((await get(path)).statusCode, path).toBe(403);
    }
    expect(t.store.events.list({ mac: MAC1, kind: 'secureboot.refused' })).toEqual([]);
    expect(t.store.events.list({ mac: MAC1, kind: 'security.refused' }).map((e) => e.detail)).toMatchObject([
      { what: 'grub-beacon', reason: 'no-token', via: 'http', client: '127.0.0.1' },
      { what: 'grub-beacon', reason: 'bad-token' },
    ]);
    expect(t.store.machines.get('d').state).not.toBe('failed');
  });

  it('the beacon a network-boot config names (with its boot token) records secureboot.refused and marks the machine failed', async () => {
    await machine('n', MAC2, { chain: 'secureboot', os: 'testos' });
    const cfg = (await get('/grub/grub.cfg-01-52-54-00-5b-02-02')).body;
    const path = /source (\/grub\/rackboot-failed\/linux-pxe-01-52-54-00-5b-02-02\/[0-9]+_[A-Za-z0-9_-]{43})$/m.exec(cfg)?.[1] as string;
    expect(path).toBeDefined();
    expect(path.endsWith(/rackboot\.token=(\S+)/.exec(cfg)?.[1] as string)).toBe(true);
    const beacon = await get(path);
    expect(beacon.statusCode).toBe(200);
    expect(beacon.body).toMatch(/^echo /);
    const e = t.store.events.list({ mac: MAC2, kind: 'secureboot.refused' });
    expect(e[0]?.detail).toMatchObject({ chain: 'secureboot', firmwarePath: 'pxe', stage: 'linux', via: 'http' });
    expect(t.store.machines.get('n').state).toBe('failed');
  });

  it('a report with Secure Boot off against requireSecureBoot marks the machine non-compliant', async () => {
    await machine('c', MAC1, { chain: 'secureboot', os: 'testos', requireSecureBoot: true });
    const cfg = (await get('/grub/grub.cfg-01-52-54-00-5b-02-01')).body;
    const token = /rackboot\.token=(\S+)/.exec(cfg)?.[1] as string;
    const report = (secureBoot: boolean | null) =>
      t.app.inject({ method: 'POST', url: '/api/v1/report', headers: { authorization: `Bearer ${token}` }, payload: { phase: 'booting', facts: { firmware: 'uefi', secureBoot } } });
    expect((await report(false)).statusCode).toBe(200);
    const m = JSON.parse((await api('GET', '/api/v1/machines/c')).body);
    expect(m.facts.compliance.secureBoot).toEqual({ required: true, reported: false, compliant: false });
    expect(t.store.events.list({ machineId: m.id, kind: 'machine.noncompliant' })).toHaveLength(1);
    expect((await report(true)).statusCode).toBe(200);
    const again = JSON.parse((await api('GET', '/api/v1/machines/c')).body);
    expect(again.facts.compliance.secureBoot.compliant).toBe(true);
    expect(t.store.events.list({ machineId: m.id, kind: 'machine.noncompliant' })).toHaveLength(1);
  });
});

describe('UEFI HTTP Boot RAM disk', () => {
  it('is served as application/vnd.efi-img with the server address patched in (GET and HEAD)', async () => {
    const r = await get('/secureboot/httpboot.img');
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toBe(HTTPBOOT_IMAGE_TYPE);
    const body = r.rawPayload;
    expect(body.length).toBe((fx.files['secureboot-httpboot.img'] as Buffer).length);
    expect(body.toString('latin1')).not.toContain(HTTPBOOT_PLACEHOLDER);
    expect(body.toString('latin1')).toMatch(/set rackboot_server=(127\.0\.0\.1|198\.18\.0\.1) +\n/);
    const head = await t.app.inject({ method: 'HEAD', url: '/secureboot/httpboot.img' });
    expect(head.statusCode).toBe(200);
    expect(Number(head.headers['content-length'])).toBe(body.length);
    expect(t.store.events.list({ kind: 'boot.chain' })).toHaveLength(1);
  });
});

describe('TFTP handler', () => {
  it('serves GRUB names and digest paths, leaves shim/GRUB binaries to the TFTP root', async () => {
    await machine('a', MAC1, { chain: 'secureboot', os: 'testos' });
    const deps = { store: t.store, settings: t.settings, log: silentLogger(), assets: new AssetRegistry(fx.dir, fx.dataDir) };
    const h = grubTftpHandler(deps, () => 'http://198.18.0.1:8080');
    expect(h.match('shimx64.efi')).toBe(false);
    expect(h.match('grubx64.efi')).toBe(false);
    expect(h.match('grub/x86_64-efi/fs.lst')).toBe(true);
    const client = { address: '198.18.0.100', port: 1234 };
    t.store.sightings.note(MAC1, client.address, Date.now());
    expect(await h.open('grub/x86_64-efi/fs.lst', client)).toBeNull();
    const cfg = await h.open('grub/grub.cfg-01-52-54-00-5b-02-01', client);
    expect(String(cfg?.stream)).toContain(`linux /assets/sha256/${digest('testos-vmlinuz')}`);
    expect(t.store.events.list({ mac: MAC1, kind: 'boot.script' }).at(-1)?.detail).toMatchObject({ via: 'tftp', firmwarePath: 'pxe' });
    const k = await h.open(`assets/sha256/${digest('testos-vmlinuz')}`, client);
    expect(k?.size).toBe(4096);
    const chunks: Buffer[] = [];
    for await (const c of k?.stream as AsyncIterable<Buffer>) chunks.push(c);
    expect(sha256(Buffer.concat(chunks))).toBe(digest('testos-vmlinuz'));
    expect(await h.open(`assets/sha256/${'0'.repeat(64)}`, client)).toBeNull();
  });

  it("the appliance's services register it with their own TFTP registry (none is process-wide)", async () => {
    expect(t.services.tftpHandlers.find('grub/grub.cfg')).toBeDefined();
    const other = await testApp({ assetsDir: fx.dir, dataDir: fx.dataDir });
    expect(other.services.tftpHandlers).not.toBe(t.services.tftpHandlers);
    await other.app.close();
  });
});
