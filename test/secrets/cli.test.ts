import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli.js';
import { testApp } from '../helpers/app.js';
import { KG_HEX, TALOS_SECRETS, leaksIn, talosProfileSpec } from './fixture.js';

type T = Awaited<ReturnType<typeof testApp>>;
let t: T;
const saved = { url: process.env.RACKBOOT_URL, token: process.env.RACKBOOT_TOKEN };
beforeEach(async () => {
  t = await testApp();
  await t.app.listen({ port: 0, host: '127.0.0.1' });
  const addr = t.app.server.address();
  if (!addr || typeof addr === 'string') throw new Error('no port');
  process.env.RACKBOOT_URL = `http://127.0.0.1:${addr.port}`;
});
afterEach(async () => {
  await t.app.close();
  for (const [k, v] of [['RACKBOOT_URL', saved.url], ['RACKBOOT_TOKEN', saved.token]] as const) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
});

/** Runs the CLI in-process with the given role's token; stdout and stderr as text. */
async function cli(who: 'read' | 'admin', ...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  process.env.RACKBOOT_TOKEN = t.roles[who].authorization.replace(/^Bearer /, '');
  const out: string[] = [];
  const err: string[] = [];
  const sink = (to: string[]) => ({ write: (s: string) => to.push(s) > 0 });
  const code = await runCli(argv, sink(out) as unknown as typeof process.stdout, sink(err) as unknown as typeof process.stderr);
  return { code, stdout: out.join(''), stderr: err.join('') };
}

describe('rackboot inventory export [--with-secrets]', () => {
  it('shows <sealed> by default; --with-secrets gives an admin the values and a read token a 403', async () => {
    await t.app.inject({ method: 'POST', url: '/api/v1/profiles', headers: t.roles.admin, payload: { name: 'zq', spec: talosProfileSpec() } });
    await t.app.inject({ method: 'POST', url: '/api/v1/machines', headers: t.roles.admin, payload: { name: 'cp-1', macs: ['52:54:00:00:07:01'], profile: 'zq', labels: { cluster: 'zqcluster' } } });
    const bmc = { type: 'ipmi', address: '198.18.0.171', username: 'admin', password: 'pw', options: { kgHex: KG_HEX } };
    await t.app.inject({ method: 'PUT', url: '/api/v1/machines/cp-1/bmc', headers: t.roles.admin, payload: bmc });

    const plain = await cli('admin', 'inventory', 'export');
    expect(plain.code).toBe(0);
    expect(plain.stdout).toContain('<sealed>');
    expect(leaksIn(plain.stdout)).toEqual([]);

    const full = await cli('admin', 'inventory', 'export', '--with-secrets', '--json');
    expect(full.code, full.stderr).toBe(0);
    const doc = JSON.parse(full.stdout);
    expect(doc.profiles[0].spec.talos.secrets).toEqual(TALOS_SECRETS);
    expect(doc.machines[0].bmc.options.kgHex).toBe(KG_HEX);

    const denied = await cli('read', 'inventory', 'export', '--with-secrets');
    expect(denied.code).toBe(1);
    expect(denied.stderr).toMatch(/403/);
    expect(leaksIn(denied.stdout + denied.stderr)).toEqual([]);
  });
});
