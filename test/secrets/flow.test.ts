import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { Role } from '../../src/http/access.js';
import { buildApp } from '../../src/http/app.js';
import { Store } from '../../src/inventory/store.js';
import { defaultSettings } from '../../src/settings.js';
import { fakeAssetsDir } from '../assets/fixture.js';
import { KG_HEX, SECRET_VALUES, TALOS_SECRETS, dbFileBytes, leaksIn, talosProfileSpec } from './fixture.js';

const MAC = '52:54:00:00:07:01';
let close: (() => Promise<void>) | undefined;
afterEach(async () => {
  await close?.();
  close = undefined;
});

/** testApp's shape on a file store in a temp data dir, logging everything (trace) into `lines`. */
async function fileApp() {
  const fx = fakeAssetsDir();
  const lines: string[] = [];
  const log = pino({ level: 'trace' }, { write: (s: string) => void lines.push(s) });
  const store = Store.open(fx.dataDir);
  const settings = defaultSettings({ http: { publicUrl: 'http://198.18.0.1:8080' }, assetsDir: fx.dir, dataDir: fx.dataDir });
  const app = await buildApp({ settings, store, log, adminToken: 'test-token' });
  const bearer = (role: Role) => ({ authorization: `Bearer ${store.apiTokens.create({ name: `flow-${role}`, role }).secret}` });
  const roles = { read: bearer('read'), admin: bearer('admin') };
  close = async () => {
    await app.close();
    store.close();
  };
  return { app, store, lines, roles, dataDir: fx.dataDir };
}

describe('a full provisioning flow', () => {
  it('serves the machine its clear config, and leaks no secret into any other response, the log or the database files', async () => {
    const { app, store, lines, roles, dataDir } = await fileApp();
    const leaks: Record<string, string[]> = {};
    const send = async (who: 'read' | 'admin' | 'none', method: 'GET' | 'POST' | 'PUT', url: string, payload?: unknown) => {
      const r = await app.inject({ method, url, ...(who === 'none' ? {} : { headers: roles[who] }), ...(payload === undefined ? {} : { payload: payload as object }) });
      const found = leaksIn(r.rawPayload);
      if (found.length) leaks[`${method} ${url}`] = found;
      return r;
    };
    expect((await send('admin', 'POST', '/api/v1/profiles', { name: 'zq', spec: talosProfileSpec() })).statusCode).toBe(201);
    const machine = { name: 'cp-1', macs: [MAC], profile: 'zq', ipv4: '198.18.0.71', labels: { cluster: 'zqcluster' } };
    expect((await send('admin', 'POST', '/api/v1/machines', machine)).statusCode).toBe(201);
    const bmc = { type: 'ipmi', address: '198.18.0.171', port: 623, username: 'admin', password: 'pw-zq7x-flow', options: { kgHex: KG_HEX } };
    expect((await send('admin', 'PUT', '/api/v1/machines/cp-1/bmc', bmc)).statusCode).toBe(200);
    // inject() requests come from 127.0.0.1: the machine was seen there (as in its ProxyDHCP exchange).
    store.sightings.note(MAC, '127.0.0.1', Date.now());

    const script = await send('none', 'GET', `/boot.ipxe?mac=${MAC.replaceAll(':', '-')}`);
    expect(script.statusCode, script.body).toBe(200);
    const arg = (key: string) => script.body.split(/\s+/).find((w) => w.startsWith(`${key}=`))?.slice(key.length + 1);
    const configUrl = new URL(String(arg('talos.config')));
    const reportToken = String(arg('rackboot.token'));

    // The one route that hands out the clear secrets: the machine's own config fetch.
    const cfg = await app.inject({ method: 'GET', url: configUrl.pathname });
    expect(cfg.statusCode).toBe(200);
    for (const s of [TALOS_SECRETS.machineToken, TALOS_SECRETS.clusterToken, TALOS_SECRETS.machineCa.key, TALOS_SECRETS.etcdCa.key, TALOS_SECRETS.kubernetesCa.key]) {
      expect(cfg.body).toContain(s);
    }
    const sha = String(cfg.headers['x-config-sha256']);
    const report = await app.inject({ method: 'POST', url: '/api/v1/report', headers: { authorization: `Bearer ${reportToken}` }, payload: { phase: 'configured', configDigest: `sha256:${sha}` } });
    expect(report.statusCode, report.body).toBe(200);

    const versionId = Number(cfg.headers['x-config-version']);
    for (const url of ['/api/v1/profiles', '/api/v1/profiles/zq', '/api/v1/machines/cp-1', '/api/v1/machines/cp-1/bmc', '/api/v1/machines/cp-1/configs',
      `/api/v1/configs/${versionId}`, '/api/v1/inventory/export', '/api/v1/machines/cp-1/events', '/api/v1/events']) {
      expect((await send('read', 'GET', url)).statusCode, url).toBe(200);
    }
    expect((await send('read', 'GET', '/api/v1/inventory/export?withSecrets=true')).statusCode).toBe(403);
    const doc = (await send('read', 'GET', '/api/v1/inventory/export')).json();
    expect((await send('admin', 'POST', '/api/v1/inventory/import', doc)).statusCode).toBe(200);
    // A rejected profile (bad token format) must not echo the value either.
    const bad = talosProfileSpec();
    (bad.talos as { secrets: Record<string, unknown> }).secrets = { ...TALOS_SECRETS, clusterToken: `${TALOS_SECRETS.machineToken}!` };
    expect((await send('admin', 'PUT', '/api/v1/profiles/zq', { spec: bad })).statusCode).toBe(422);
    expect(leaks).toEqual({});

    // Admin reads are the exception that proves the rule: they do carry the secrets.
    expect((await app.inject({ method: 'GET', url: `/api/v1/configs/${versionId}`, headers: roles.admin })).body).toContain(TALOS_SECRETS.machineCa.key);
    expect((await app.inject({ method: 'GET', url: '/api/v1/inventory/export?withSecrets=true', headers: roles.admin })).body).toContain(KG_HEX);

    const log = lines.join('');
    expect(log).toContain('config served');
    expect(leaksIn(log)).toEqual([]);
    expect(log).not.toContain('pw-zq7x-flow');

    Store.rawSqlite(store).pragma('wal_checkpoint(TRUNCATE)');
    await close?.();
    close = undefined;
    const bytes = dbFileBytes(dataDir);
    expect(leaksIn(bytes, [...SECRET_VALUES, `${TALOS_SECRETS.machineToken}!`])).toEqual([]);
    expect(bytes.includes('pw-zq7x-flow')).toBe(false);
  });
});
