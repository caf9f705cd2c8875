import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { verifyReportToken } from '../../src/config/index.js';
import { silentLogger } from '../../src/log.js';
import { fakeAssetsDir } from '../assets/fixture.js';
import { testApp } from '../helpers/app.js';

type T = Awaited<ReturnType<typeof testApp>>;
let t: T;
let fx: ReturnType<typeof fakeAssetsDir>;
beforeEach(async () => {
  fx = fakeAssetsDir();
  t = await testApp({ assetsDir: fx.dir, dataDir: fx.dataDir, http: { publicUrl: 'http://198.18.0.1:8080' } });
  const spec = { os: 'testos' };
  expect((await t.app.inject({ method: 'POST', url: '/api/v1/profiles', headers: t.auth, payload: { name: 'p', spec } })).statusCode).toBe(201);
  for (const [name, mac] of [['n1', '52:54:00:00:00:01'], ['n2', '52:54:00:00:00:02']] as const) {
    expect((await t.app.inject({ method: 'POST', url: '/api/v1/machines', headers: t.auth, payload: { name, macs: [mac], profile: 'p' } })).statusCode).toBe(201);
    // inject() requests come from 127.0.0.1: the machine was seen there (as in its ProxyDHCP exchange).
    t.store.sightings.note(mac, '127.0.0.1', Date.now());
  }
});
afterEach(async () => {
  await t.app.close();
});

const script = (mac: string) => t.app.inject({ method: 'GET', url: `/boot.ipxe?mac=${mac}` });
const argOf = (s: string, key: string) => s.split(/\s+/).find((w) => w.startsWith(`${key}=`))?.slice(key.length + 1) ?? '';
const configToken = (s: string) => argOf(s, 'rackboot.config').split('/config/')[1] ?? '';
const deps = () => ({ store: t.store, settings: t.settings, log: silentLogger() });

describe('boot scripts under concurrency (group commit, #21)', () => {
  it('concurrent boots get distinct one-use tokens, each committed before its script is sent', async () => {
    // The first boot renders the version and moves the machines to booting (the transactional path).
    for (const mac of ['52:54:00:00:00:01', '52:54:00:00:00:02']) expect((await script(mac)).statusCode).toBe(200);
    const answers = await Promise.all(Array.from({ length: 24 }, (_, i) => script(i % 2 ? '52:54:00:00:00:02' : '52:54:00:00:00:01')));
    expect(answers.map((a) => a.statusCode)).toEqual(Array(24).fill(200));
    expect(t.store.bootWrites.size).toBe(0);
    const tokens = answers.map((a) => configToken(a.body));
    expect(new Set(tokens).size).toBe(24);
    const reports = answers.map((a) => argOf(a.body, 'rackboot.token'));
    expect(new Set(reports).size).toBe(24);
    // Each config token serves the config once, then never again.
    for (const [i, tok] of tokens.entries()) {
      const mac = i % 2 ? '52:54:00:00:00:02' : '52:54:00:00:00:01';
      expect((await t.app.inject({ method: 'GET', url: `/config/${tok}?mac=${mac}` })).statusCode).toBe(200);
      expect((await t.app.inject({ method: 'GET', url: `/config/${tok}?mac=${mac}` })).statusCode).toBe(403);
    }
    // Revocation as before: only each machine's latest boot's report token stays valid.
    const last = { n1: reports[22]!, n2: reports[23]! };
    for (const r of reports) {
      if (r === last.n1 || r === last.n2) expect(() => verifyReportToken(deps(), r)).not.toThrow();
      else expect(() => verifyReportToken(deps(), r)).toThrow(/report token/);
    }
    // Every boot is traced, in the order the scripts were issued.
    const n1 = t.store.machines.get('n1');
    expect(t.store.events.list({ machineId: n1.id, kind: 'boot.script' })).toHaveLength(13);
  });
});
