import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { expect } from 'vitest';
import { ROLES } from '../../src/coordination/coordinator.js';
import type { Store } from '../../src/inventory/store.js';
import { RolloutControl } from '../../src/rollout/control.js';
import { rolloutSpecSchema } from '../../src/rollout/spec.js';
import { SimFleet, profileVersions, seedFleet } from './fleet.js';

const CHILD = resolve(import.meta.dirname, 'takeover-child.ts');
const LEASE_MS = 1500;

/** One appliance process (takeover-child.ts) on the inventory in `dir` (or at `url`). */
function appliance(dir: string, name: string, url?: string): { proc: ChildProcess; exited: Promise<number | null>; out: () => string } {
  const proc = spawn(process.execPath, ['--import', 'tsx', CHILD, dir, name, String(LEASE_MS), ...(url ? [url] : [])], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  proc.stderr?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  return { proc, exited, out: () => out };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The acceptance run of #20 for one store: appliance r1 runs a rollout of three machines, r2
 * stands by on the same database; r1 is killed (SIGKILL) while m2 reboots; r2 must take the
 * runner over and finish, and the BMC call log must show every step once, after the kill only
 * from r2. `open(dir)` opens the inventory as the children will.
 */
export async function killHolderMidRollout(open: (dir: string) => Store, url?: string): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'rb-takeover-'));
  const store = open(dir);
  try {
    const fleet = new SimFleet(store, Date.now, { stageMs: 40, stateFile: join(dir, 'fleet.json') });
    seedFleet(store, fleet, 3, 'os-a');
    const control = new RolloutControl(store, profileVersions(() => store));
    const id = control.start(rolloutSpecSchema.parse({ selector: 'role=worker', target: { profile: 'os-b' }, healthTimeoutSec: 60 })).id;
    const r1 = appliance(dir, 'r1', url);
    // r1 holds the lease before r2 starts, so r1 runs the rollout (bounded: 10 s).
    for (let i = 0; i < 2000 && store.coordination.get(ROLES.rolloutRunner)?.appliance !== 'r1'; i++) await sleep(5);
    const r2 = appliance(dir, 'r2', url);
    let phase = '';
    for (let i = 0; i < 8000 && r1.proc.exitCode === null; i++) {
      phase = control.view(id).machines[1]?.phase ?? '';
      if (['cycle', 'health'].includes(phase)) break;
      await sleep(2);
    }
    expect(['cycle', 'health'], r1.out()).toContain(phase);
    const holderBefore = store.coordination.get(ROLES.rolloutRunner);
    r1.proc.kill('SIGKILL');
    expect(await r1.exited).toBe(null);
    const calls = () => (JSON.parse(readFileSync(join(dir, 'fleet.json'), 'utf8')) as { calls?: Array<{ fn: string; machine: string; by: string }> }).calls ?? [];
    const callsAtKill = calls().length;
    const code = await r2.exited;
    expect(code, `${r2.out()}\n${JSON.stringify(control.view(id).machines)}`).toBe(0);
    expect(holderBefore?.appliance).toBe('r1');
    expect(control.view(id).state).toBe('succeeded');
    const state = JSON.parse(readFileSync(join(dir, 'fleet.json'), 'utf8')) as { order: string[]; machines: Record<string, { cycles: number; installed: string }> };
    expect(state.order).toEqual(['m1', 'm2', 'm3']);
    const log = calls();
    for (const name of ['m1', 'm2', 'm3']) {
      expect(state.machines[name]).toMatchObject({ cycles: 1, installed: 'os-b' });
      expect(log.filter((c) => c.machine === name).map((c) => c.fn)).toEqual(['setNextBootPxe', 'powerCycle']);
    }
    expect(log.slice(0, callsAtKill).every((c) => c.by === 'r1')).toBe(true);
    expect(log.slice(callsAtKill).every((c) => c.by === 'r2')).toBe(true);
    // The trace shows who did what: m3 (started after the kill) was rolled by r2 alone.
    const m3 = store.machines.get('m3');
    expect(store.events.list({ machineId: m3.id, limit: 10_000 }).filter((e) => e.source === 'rollout').every((e) => e.appliance === 'r2')).toBe(true);
    expect(store.coordination.get(ROLES.rolloutRunner)).toBeNull(); // r2 released it on exit
  } finally {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
