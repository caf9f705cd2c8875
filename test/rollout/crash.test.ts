import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Store } from '../../src/inventory/store.js';
import { RolloutControl } from '../../src/rollout/control.js';
import type { RolloutEffects } from '../../src/rollout/effects.js';
import { profileVersions } from './fleet.js';
import { makeSim, spec } from './sim.js';

type Fn = 'preStep' | 'setNextBootPxe' | 'powerCycle' | 'postStep';

/**
 * Effects that "die" at one call for one machine: the call never returns, before or after doing
 * its work, so nothing after it is recorded. The runner holding them is then simply dropped.
 */
function dying(real: RolloutEffects, fn: Fn, machine: string, after: boolean): { effects: RolloutEffects; died: Promise<void> } {
  let signal!: () => void;
  const died = new Promise<void>((r) => {
    signal = r;
  });
  const effects = { ...real };
  // biome-ignore lint/suspicious/noExplicitAny: one wrapper for four signatures
  const orig = real[fn] as (...a: any[]) => Promise<any>;
  // biome-ignore lint/suspicious/noExplicitAny: see above
  (effects as any)[fn] = async (...args: any[]) => {
    if (args[0].name !== machine) return orig(...args);
    if (after) await orig(...args);
    signal();
    return new Promise(() => {});
  };
  return { effects, died };
}

function machineDoneCount(store: Store, name: string): number {
  const m = store.machines.get(name);
  return store.events.list({ machineId: m.id, limit: 10_000 }).filter((e) => e.kind === 'rollout.machine.done').length;
}

describe('rollout survives the death of its process', () => {
  it.each([
    ['preStep', false],
    ['preStep', true],
    ['setNextBootPxe', false],
    ['setNextBootPxe', true],
    ['powerCycle', false],
    ['powerCycle', true],
    ['postStep', false],
    ['postStep', true],
  ] as const)('dies in %s of m2 (after the work: %s): a new runner on the same file finishes, nothing done twice', async (fn, after) => {
    let died: Promise<void> | undefined;
    const sim = makeSim({
      effects: (real) => {
        const d = dying(real, fn, 'm2', after);
        died = d.died;
        return d.effects;
      },
    });
    const r = sim.control.start(spec({}));
    let dead = false;
    void died!.then(() => {
      dead = true;
    });
    for (let i = 0; i < 500 && !dead; i++) {
      await Promise.race([sim.runner.tick(), died]);
      sim.clock.t += 5000;
      sim.fleet.advance();
    }
    expect(dead).toBe(true);
    sim.restart();
    const v = await sim.settle(r.id);
    expect(v.state).toBe('succeeded');
    for (const name of ['m1', 'm2', 'm3']) {
      expect(sim.fleet.get(name).cycles).toBe(1);
      expect(machineDoneCount(sim.store, name)).toBe(1);
      expect(sim.store.machines.get(name).profile).toBe('os-b');
    }
    expect(sim.fleet.state.order).toEqual(['m1', 'm2', 'm3']);
    expect(sim.fleet.state.maxUnavailable).toBe(1);
  });
});

const CHILD = resolve(import.meta.dirname, 'crash-child.ts');

function runChild(dir: string): { proc: ChildProcess; exited: Promise<number | null> } {
  const proc = spawn(process.execPath, ['--import', 'tsx', CHILD, dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  proc.stderr?.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const exited = new Promise<number | null>((r) =>
    proc.once('exit', (code) => {
      if (code && code !== 0) process.stderr.write(err);
      r(code);
    }),
  );
  return { proc, exited };
}

describe('kill -9 of a process running the runner', () => {
  it('is resumed by a new process on the same SQLite file: every machine once, none skipped', async () => {
    const sim = makeSim({ n: 0 }); // only for a fresh temp dir with profiles; the child seeds machines
    const dir = sim.dir;
    sim.store.close();
    const first = runChild(dir);
    const watch = Store.open(dir);
    const control = new RolloutControl(watch, profileVersions(() => watch));
    // Kill while the second machine is in the middle of its reboot.
    const deadline = Date.now() + 40_000;
    let phase = '';
    while (Date.now() < deadline && first.proc.exitCode === null) {
      const v = control.list()[0];
      phase = v?.machines[1]?.phase ?? '';
      if (['cycle', 'health'].includes(phase)) break;
      await new Promise((r) => setTimeout(r, 2));
    }
    expect(['cycle', 'health']).toContain(phase);
    first.proc.kill('SIGKILL');
    expect(await first.exited).toBe(null);
    const second = runChild(dir);
    const code = await second.exited;
    // On a failure, show how the rollout settled (the child prints only its final state).
    expect(code, JSON.stringify(control.list()[0])).toBe(0);
    const v = control.list()[0]!;
    expect(v.state).toBe('succeeded');
    const fleet = JSON.parse(readFileSync(join(dir, 'fleet.json'), 'utf8')) as { order: string[]; machines: Record<string, { cycles: number; installed: string }> };
    expect(fleet.order).toEqual(['m1', 'm2', 'm3']);
    for (const name of ['m1', 'm2', 'm3']) {
      expect(fleet.machines[name]).toMatchObject({ cycles: 1, installed: 'os-b' });
      expect(machineDoneCount(watch, name)).toBe(1);
    }
    watch.close();
  }, 120_000);
});
