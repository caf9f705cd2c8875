import { describe, expect, it } from 'vitest';
import { buildApp } from '../../src/http/app.js';
import { derivePublicUrl, fixedPublicUrl, socketBaseUrl } from '../../src/http/public-url.js';
import { Store } from '../../src/inventory/store.js';
import { silentLogger } from '../../src/log.js';
import { defaultSettings } from '../../src/settings.js';
import { fakeAssetsDir } from '../assets/fixture.js';

describe('the public URL is fixed at start', () => {
  const nics = { eth0: [{ family: 'IPv4', internal: false, address: '198.18.0.77' }] } as never;
  it.each([
    [{ http: { publicUrl: 'http://boot.lab:8080/' } }, 'http://boot.lab:8080'],
    [{ dhcp: { serverAddress: '198.18.0.1' } }, 'http://198.18.0.1:9000'],
    [{ http: { host: '198.18.0.2' } }, 'http://198.18.0.2:9000'],
    [{}, 'http://198.18.0.77:9000'],
  ])('derivePublicUrl(%j, 9000) → %s', (s, want) => expect(derivePublicUrl(defaultSettings(s), 9000, nics)).toBe(want));

  it.each([
    [{ publicUrl: 'http://a:1/' }, {}, 'http://a:1'],
    [{ publicUrl: 'http://a:1' }, { http: { publicUrl: 'http://b:2' } }, 'http://a:1'],
    [{}, { http: { publicUrl: 'http://b:2' } }, 'http://b:2'],
    [{}, {}, undefined],
  ])('fixedPublicUrl(deps %j, settings %j) → %s', (deps, s, want) => expect(fixedPublicUrl({ ...deps, settings: defaultSettings(s) })).toBe(want));

  it.each([
    [{ localAddress: '::ffff:198.18.0.1', localPort: 8080 }, 'http://198.18.0.1:8080'],
    [{ localAddress: 'fd00::1', localPort: 80 }, 'http://[fd00::1]:80'],
    [{}, 'http://127.0.0.1:8080'],
  ])('socketBaseUrl(%j) → %s', (socket, want) => expect(socketBaseUrl(socket, 8080)).toBe(want));
});

describe('boot scripts never take their URLs from the Host header', () => {
  it.each([
    ['deps.publicUrl', 'http://198.18.0.9:8080', 'http://198.18.0.9:8080'],
    ['no public URL at all (socket address)', undefined, 'http://127.0.0.1:'],
  ])('%s', async (_, publicUrl, want) => {
    const fx = fakeAssetsDir();
    const store = Store.memory();
    const settings = defaultSettings({ assetsDir: fx.dir, dataDir: fx.dataDir });
    const app = await buildApp({ settings, store, log: silentLogger(), adminToken: 't', ...(publicUrl ? { publicUrl } : {}) });
    try {
      const auth = { authorization: 'Bearer t' };
      const mac = '52:54:00:00:00:31';
      expect((await app.inject({ method: 'POST', url: '/api/v1/profiles', headers: auth, payload: { name: 'p', spec: { os: 'testos' } } })).statusCode).toBe(201);
      expect((await app.inject({ method: 'POST', url: '/api/v1/machines', headers: auth, payload: { name: 'n', macs: [mac], profile: 'p' } })).statusCode).toBe(201);
      store.sightings.note(mac, '127.0.0.1', Date.now());
      const r = await app.inject({ method: 'GET', url: `/boot.ipxe?mac=${mac}`, headers: { host: 'evil.example:666' } });
      expect(r.statusCode).toBe(200);
      expect(r.body).not.toContain('evil.example');
      expect(r.body).toContain(`kernel --name vmlinuz ${want}`);
      expect(r.body).toMatch(/rackboot\.report=http:\/\/(198\.18\.0\.9:8080|127\.0\.0\.1:\d*)\/api\/v1\/report/);
    } finally {
      await app.close();
      store.close();
    }
  });
});
