import { describe, expect, it } from 'vitest';
import type { Machine } from '../../src/inventory/machines.js';
import type { RolloutEffects, VersionControl } from '../../src/rollout/effects.js';
import { RolloutRunner } from '../../src/rollout/runner.js';
import { FakeRolloutStore, fakeMachine } from '../fakes/rollout-store.js';
import { memoryLogger } from '../fakes/log.js';

/** Effects that record what the runner asked for; pre/post steps finish at once. */
function recordingEffects(now: () => number) {
  const calls: string[] = [];
  const effects: RolloutEffects = {
    now,
    setNextBootPxe: async (m: Machine) => void calls.push(`pxe ${m.name}`),
    powerCycle: async (m: Machine) => void calls.push(`cycle ${m.name}`),
    preStep: async () => ({ done: true }),
    postStep: async () => ({ done: true }),
    extraHealth: async () => null,
  };
  return { effects, calls };
}

const version = (profile: string) => ({ profile, profileRevision: 1, imageDigest: null, configDigest: null });
const versions: VersionControl = {
  current: (m) => version(m.profile ?? 'os-a'),
  resolve: (_m, t) => version(String((t as { profile?: string }).profile)),
  assign: () => {},
  expected: () => ({ imageDigest: null, configDigest: null }),
};
const SPEC = { selector: 'role=worker', target: { profile: 'os-b' } };

describe('rollout runner over a fake RolloutStore (no SQLite)', () => {
  it('takes the canary through pre, PXE, assignment and power cycle to the health gate; the rest wait', async () => {
    const store = new FakeRolloutStore();
    const id = store.seed(SPEC, [fakeMachine(1, 'm1'), fakeMachine(2, 'm2')]);
    const { effects, calls } = recordingEffects(() => 1000);
    const runner = new RolloutRunner({ store, effects, versions, log: memoryLogger().log });
    await runner.tick();
    expect(store.rollouts.members(id).map((m) => [m.name, m.phase])).toEqual([['m1', 'health'], ['m2', 'pending']]);
    expect(calls).toEqual(['pxe m1', 'cycle m1']);
    expect(store.eventRows.map((e) => e.kind)).toEqual(['rollout.machine.pre', 'rollout.machine.pxe', 'rollout.machine.assign', 'rollout.machine.cycle', 'rollout.machine.health']);
    expect(store.rollouts.get(id).state).toBe('running');
  });

  it('a store whose writes fail: the tick settles, the failure is logged, nothing moved and no BMC call made', async () => {
    const store = new FakeRolloutStore();
    const id = store.seed(SPEC, [fakeMachine(1, 'm1')]);
    store.failWrites = true;
    const { effects, calls } = recordingEffects(() => 1000);
    const { log, lines } = memoryLogger();
    const runner = new RolloutRunner({ store, effects, versions, log });
    await expect(runner.tick()).resolves.toBeUndefined();
    expect(store.rollouts.members(id)[0]?.phase).toBe('pending');
    expect(calls).toEqual([]);
    expect(lines.some((l) => l.level === 50 && /rollout/.test(String(l.msg)))).toBe(true);
  });
});
