import { type ChildProcess, spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { ROLES } from '../../src/coordination/coordinator.js';
import { leaseTiming } from '../../src/coordination/lease-policy.js';
import { Store } from '../../src/inventory/store.js';
import { type TestPostgres, startPostgres } from '../helpers/postgres.js';

const ROOT = resolve(import.meta.dirname, '../..');
const LEASE_MS = 900;
let server: TestPostgres;
const dirs: string[] = [];
const procs: ChildProcess[] = [];
beforeAll(async () => {
  server = await startPostgres();
}, 120_000);
afterAll(async () => {
  for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  await server?.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `rackboot serve` (tsx, loopback listeners on port 0, no DHCP/TFTP) on the PostgreSQL database at `url`. */
async function serve(url: string, dir: string, name: string): Promise<{ proc: ChildProcess; out: () => string }> {
  const cfg = join(dir, 'rackboot.test.yaml');
  writeFileSync(
    cfg,
    stringify({ dataDir: dir, store: { postgres: url }, appliance: { name, leaseMs: LEASE_MS }, http: { host: '127.0.0.1', port: 0 }, api: { host: '127.0.0.1', port: 0 }, dhcp: { enabled: false }, tftp: { enabled: false } }),
  );
  const proc = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli.ts'), 'serve', '--config', cfg], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  procs.push(proc);
  let out = '';
  proc.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  proc.stderr?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  for (let i = 0; i < 1200 && !out.includes('rackboot serving'); i++) {
    if (proc.exitCode !== null) throw new Error(`rackboot ${name} exited ${proc.exitCode}:\n${out}`);
    await sleep(50);
  }
  expect(out).toContain('rackboot serving');
  return { proc, out: () => out };
}

describe('kill -9 of a served appliance holding the rollout runner (PostgreSQL)', () => {
  it('the other appliance takes the role over (a new epoch), and the trace says who took it', async () => {
    const url = await server.createDatabase();
    const dirA = mkdtempSync(join(tmpdir(), 'rb-srv-a-'));
    const dirB = mkdtempSync(join(tmpdir(), 'rb-srv-b-'));
    dirs.push(dirA, dirB);
    const a = await serve(url, dirA, 'srv-a');
    copyFileSync(join(dirA, 'secret.key'), join(dirB, 'secret.key')); // one inventory, one sealing key
    const dirW = mkdtempSync(join(tmpdir(), 'rb-srv-watch-'));
    dirs.push(dirW);
    copyFileSync(join(dirA, 'secret.key'), join(dirW, 'secret.key'));
    const watch = Store.openPostgres(url, dirW); // the test's own view of the inventory
    try {
      expect(watch.coordination.get(ROLES.rolloutRunner)?.appliance).toBe('srv-a');
      const b = await serve(url, dirB, 'srv-b');
      await sleep(2 * leaseTiming(LEASE_MS).renewMs); // b claims (and is refused) a few times
      expect(watch.coordination.get(ROLES.rolloutRunner)).toMatchObject({ appliance: 'srv-a', epoch: 1 });
      a.proc.kill('SIGKILL');
      await new Promise((r) => a.proc.once('exit', r));
      // Bounded wait (15 s) for b to take the role over.
      for (let i = 0; i < 300 && watch.coordination.get(ROLES.rolloutRunner)?.appliance !== 'srv-b'; i++) await sleep(50);
      expect(watch.coordination.get(ROLES.rolloutRunner), b.out()).toMatchObject({ appliance: 'srv-b', epoch: 2 });
      const taken = watch.events.list({ kind: 'leader.taken', limit: 100 }).filter((e) => e.detail.role === ROLES.rolloutRunner);
      expect(taken.map((e) => [e.appliance, e.detail.epoch])).toEqual([
        ['srv-a', 1],
        ['srv-b', 2],
      ]);
      b.proc.kill('SIGTERM');
      await new Promise((r) => b.proc.once('exit', r));
      expect(watch.coordination.get(ROLES.rolloutRunner)).toBeNull(); // released on a clean stop
    } finally {
      watch.close();
    }
  }, 180_000);
});
