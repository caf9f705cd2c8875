import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAppError } from '../../src/errors.js';
import { silentLogger } from '../../src/log.js';
import { type Appliance, startAppliance } from '../../src/main.js';
import { defaultSettings } from '../../src/settings.js';

const run = promisify(execFile);
const CLI = resolve(import.meta.dirname, '../../src/cli.ts');
const dataDir = mkdtempSync(join(tmpdir(), 'rb-cli-'));
const settings = () =>
  defaultSettings({ dataDir, http: { host: '127.0.0.1', port: 0 }, api: { host: '127.0.0.1', port: 0 }, dhcp: { enabled: false }, tftp: { enabled: false } });
let app: Appliance;

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run(process.execPath, ['--import', 'tsx', CLI, ...args], {
      env: { ...process.env, RACKBOOT_URL: app.apiUrl, RACKBOOT_CA: app.apiCaFile ?? '', RACKBOOT_TOKEN: app.adminToken },
    });
    return { code: 0, ...r };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: x.code, stdout: x.stdout, stderr: x.stderr };
  }
}

beforeAll(async () => {
  app = await startAppliance(settings(), silentLogger());
});
afterAll(async () => {
  await app?.close();
});

describe('rackboot CLI against a real server on port 0', () => {
  it('adds a machine with any MAC form and shows it canonical; a duplicate exits 1 with the 409', async () => {
    const add = await cli('machines', 'add', '--mac', 'AA-BB-CC-00-00-01', '--name', 'n1', '--label', 'rack=r1');
    expect(add.code).toBe(0);
    const show = await cli('machines', 'show', 'n1', '--json');
    expect(JSON.parse(show.stdout).macs).toEqual(['aa:bb:cc:00:00:01']);
    const dup = await cli('machines', 'add', '--mac', 'aabb.cc00.0001', '--name', 'n2');
    expect(dup.code).toBe(1);
    expect(dup.stderr.trim().split('\n')).toHaveLength(1);
    expect(dup.stderr).toMatch(/409 CONFLICT/);
  });

  it('lists as a table and as JSON, sets fields, removes', async () => {
    const list = await cli('machines', 'list');
    expect(list.stdout).toMatch(/^NAME\s+MACS/);
    expect(list.stdout).toMatch(/n1\s+aa:bb:cc:00:00:01/);
    expect((await cli('machines', 'set', 'n1', '--ipv4', '198.18.0.30')).code).toBe(0);
    const sel = JSON.parse((await cli('machines', 'list', '--selector', 'rack=r1', '--json')).stdout);
    expect(sel[0].ipv4).toBe('198.18.0.30');
    expect((await cli('machines', 'show', 'ghost')).code).toBe(1);
  });

  it('imports an inventory file all-or-nothing, exports it, manages profiles', async () => {
    const good = join(dataDir, 'good.yaml');
    writeFileSync(good, 'profiles:\n  - name: p1\n    spec: { os: testos }\nmachines:\n  - name: i1\n    macs: ["02:00:00:00:01:01"]\n    profile: p1\n');
    const bad = join(dataDir, 'bad.yaml');
    writeFileSync(bad, 'machines:\n  - name: i2\n    macs: ["02:00:00:00:01:02"]\n  - name: i3\n    macs: ["AA-BB-CC-00-00-01"]\n');
    expect((await cli('inventory', 'import', good)).stdout).toMatch(/machines 1 created/);
    const r = await cli('inventory', 'import', bad);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/machines\[1\] \(i3\)/);
    expect((await cli('machines', 'show', 'i2')).code).toBe(1);
    expect((await cli('inventory', 'export')).stdout).toMatch(/name: i1/);
    expect((await cli('profiles', 'list')).stdout).toMatch(/p1\s+1\s+testos/);
    const spec = join(dataDir, 'spec.yaml');
    writeFileSync(spec, 'os: testos\ncmdline: quiet\n');
    expect((await cli('profiles', 'set', 'p1', '--file', spec)).stdout).toMatch(/revision 2/);
  });

  it('usage errors exit 2; a wrong token exits 1 with one line', async () => {
    expect((await cli('machines', 'add', '--name', 'x')).code).toBe(2);
    expect((await cli('frobnicate')).code).toBe(2);
    const r = await run(process.execPath, ['--import', 'tsx', CLI, 'machines', 'list'], {
      env: { ...process.env, RACKBOOT_URL: app.apiUrl, RACKBOOT_CA: app.apiCaFile ?? '', RACKBOOT_TOKEN: 'wrong' },
    }).catch((e) => e as { code: number; stderr: string });
    expect((r as { code: number }).code).toBe(1);
    expect((r as { stderr: string }).stderr).toMatch(/401 UNAUTHORIZED/);
  });

  it('talks TLS to the API, verifying its certificate against the local CA (never skipped)', async () => {
    expect(app.apiUrl).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(app.apiCaFile).toBe(join(dataDir, 'tls', 'ca.crt'));
    // Without the CA file (and no data dir beside it) the certificate is not trusted: exit 1, with the hint.
    const r = await run(process.execPath, ['--import', 'tsx', CLI, 'machines', 'list'], {
      env: { ...process.env, RACKBOOT_URL: app.apiUrl, RACKBOOT_TOKEN: app.adminToken, RACKBOOT_DATADIR: tmpdir(), RACKBOOT_CA: '' },
    }).catch((e) => e as { code: number; stderr: string });
    expect((r as { code: number }).code).toBe(1);
    expect((r as { stderr: string }).stderr).toMatch(/certificate|self.signed/i);
    // The data dir alone is enough: its tls/ca.crt is trusted by default.
    const ok = await run(process.execPath, ['--import', 'tsx', CLI, 'machines', 'list', '--json'], {
      env: { ...process.env, RACKBOOT_URL: app.apiUrl, RACKBOOT_TOKEN: app.adminToken, RACKBOOT_DATADIR: dataDir, RACKBOOT_CA: '' },
    });
    expect(Array.isArray(JSON.parse(ok.stdout))).toBe(true);
    // The boot listener does not serve the management API, and the API listener does not serve boot files.
    expect((await fetch(`${app.httpUrl}/api/v1/machines`, { headers: { authorization: `Bearer ${app.adminToken}` } })).status).toBe(404);
  });

  it('a second serve on the same data dir is refused; after a restart the machines are still there', async () => {
    let err: unknown;
    try {
      await startAppliance(settings(), silentLogger());
    } catch (e) {
      err = e;
    }
    expect(isAppError(err, 'LOCKED')).toBe(true);
    await app.close();
    app = await startAppliance(settings(), silentLogger());
    expect(JSON.parse((await cli('machines', 'show', 'n1', '--json')).stdout).name).toBe('n1');
  });
});
