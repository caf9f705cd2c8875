import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.js';
import { type Appliance, startAppliance } from '../../src/main.js';
import { RolloutRunner } from '../../src/rollout/runner.js';
import { defaultSettings } from '../../src/settings.js';
import { FakeClock, SimFleet, profileVersions, seedFleet } from './fleet.js';

const run = promisify(execFile);
const CLI = resolve(import.meta.dirname, '../../src/cli.ts');
let app: Appliance;
let fleet: SimFleet;
let stop = false;
let driver: Promise<void>;

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run(process.execPath, ['--import', 'tsx', CLI, ...args], {
      env: { ...process.env, RACKBOOT_URL: app.apiUrl, RACKBOOT_CA: app.apiCaFile ?? '', RACKBOOT_TOKEN: app.adminToken, RACKBOOT_POLL_MS: '20' },
    });
    return { code: 0, ...r };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: x.code, stdout: x.stdout, stderr: x.stderr };
  }
}

beforeAll(async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'rb-rollout-cli-'));
  // The appliance's own runner is off: a runner on the simulated fleet drives the rollouts it creates.
  const settings = defaultSettings({ dataDir, http: { host: '127.0.0.1', port: 0 }, api: { host: '127.0.0.1', port: 0 }, dhcp: { enabled: false }, tftp: { enabled: false }, rollout: { enabled: false } });
  app = await startAppliance(settings, silentLogger());
  const clock = new FakeClock(Date.now());
  fleet = new SimFleet(app.store, clock.now, { behaviour: (p) => (p === 'os-c' ? 'fail' : 'ok') });
  seedFleet(app.store, fleet, 3, 'os-a');
  const runner = new RolloutRunner({ store: app.store, effects: fleet.effects(), versions: profileVersions(() => app.store), log: silentLogger() });
  driver = (async () => {
    // Bounded: at most 20 000 rounds of 5 ms (100 s).
    for (let i = 0; i < 20_000 && !stop; i++) {
      await runner.tick();
      clock.t += 5000;
      fleet.advance();
      await new Promise((r) => setTimeout(r, 5));
    }
  })();
});
afterAll(async () => {
  stop = true;
  await driver;
  await app?.close();
});

describe('rackboot rollout / drift CLI against a real server on port 0', () => {
  let first = 0;
  it('start follows per-batch and per-machine progress and ends with a summary (exit 0)', async () => {
    const r = await cli('rollout', 'start', '--selector', 'role=worker', '--profile', 'os-b', '--canary', '1', '--batch-size', '1');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    first = Number(/rollout (\d+) started: 3 machine\(s\) in 3 batch\(es\)/.exec(r.stdout)?.[1]);
    expect(first).toBeGreaterThan(0);
    expect(r.stdout).toMatch(/batch 1 \(canary\): m1\n/);
    expect(r.stdout).toMatch(/batch 3: m3\n/);
    expect(r.stdout).toMatch(/\[batch 2\/3\] m2: health {2}\d+m?\d*s {2}boot: report\.\w+/);
    expect(r.stdout).toMatch(new RegExp(`rollout ${first}: succeeded\\nMACHINE +BATCH +CANARY +PHASE +ELAPSED +BOOT +FAILURE\\nm1 +1 +yes +done`));
    for (const n of ['m1', 'm2', 'm3']) expect(fleet.get(n)).toMatchObject({ installed: 'os-b', cycles: 1 });
  });

  it('a broken version ends paused: summary with the failure, exit 1', async () => {
    const r = await cli('rollout', 'start', 'm1', 'm2', '--profile', 'os-c');
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/m1 +1 +yes +rolled-back .*the machine reported failure/);
    expect(r.stdout).toMatch(/m2 +2 +- +pending/);
    expect(r.stderr).toMatch(/ended paused: m1: the machine reported failure/);
    const id = Number(/rollout (\d+) started/.exec(r.stdout)?.[1]);
    // m1 is still held by the paused rollout: rolling back the first one is a conflict until it is aborted.
    const clash = await cli('rollout', 'rollback', String(first));
    expect(clash.code).toBe(1);
    expect(clash.stderr).toMatch(/409 CONFLICT: machine 1 is already held by rollout/);
    const abort = await cli('rollout', 'abort', String(id));
    expect(abort.code).toBe(0);
    expect(abort.stdout).toMatch(/aborted/);
  });

  it('rollback returns every moved machine (exit 0); status and list show it', async () => {
    const r = await cli('rollout', 'rollback', String(first));
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`rollout ${first}: rolled-back`));
    for (const n of ['m1', 'm2', 'm3']) expect(fleet.get(n)).toMatchObject({ installed: 'os-a', cycles: n === 'm1' ? 4 : 2 });
    const st = await cli('rollout', 'status', String(first), '--json');
    expect(JSON.parse(st.stdout).machines.map((m: { phase: string }) => m.phase)).toEqual(['rolled-back', 'rolled-back', 'rolled-back']);
    expect((await cli('rollout', 'list')).stdout).toMatch(new RegExp(`${first} +- +rolled-back +3`));
    expect((await cli('rollout', 'bogus')).code).toBe(2);
  });

  it('drift lists a machine whose reported digest changed behind rackboot\'s back', async () => {
    expect((await cli('drift')).stdout).toBe('no drift\n');
    fleet.report(app.store.machines.get('m2'), 'ready', 'os-c');
    const r = await cli('drift');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^MACHINE +STATE +REASONS +DIFFERS +LAST REPORT\nm2 +ready +digest-mismatch +imageDigest [0-9a-f]{12} \(want [0-9a-f]{12}\)/);
    const j = JSON.parse((await cli('drift', '--json')).stdout);
    expect(j.map((i: { machine: string }) => i.machine)).toEqual(['m2']);
  });
});
