import { describe, expect, it } from 'vitest';
import { AppError } from '../../src/errors.js';
import type { RolloutEffects, VersionControl } from '../../src/rollout/effects.js';
import { type StepInput, runStep } from '../../src/rollout/steps.js';
import type { RolloutSpec } from '../../src/rollout/spec.js';
import { FakeRolloutStore, fakeMachine } from '../fakes/rollout-store.js';

const NOW = 1_000_000;
const busy = () => new AppError('CONFLICT', 'the BMC of machine 1 is busy: appliance r2 is operating it', { details: { reason: 'bmc-busy', machineId: 1 } });

/** The pxe step of machine 1 (pxe_sent_at as given) with effects that log the BMC calls. */
function pxeStep(o: { pxeSentAt: number | null; readBack?: () => Promise<boolean>; send?: () => Promise<void> }) {
  const store = new FakeRolloutStore();
  const machine = fakeMachine(1, 'm1');
  const id = store.seed({}, [machine]);
  Object.assign(store.memberRows[0]!, { phase: 'pxe', pxeSentAt: o.pxeSentAt });
  const calls: string[] = [];
  const effects = {
    now: () => NOW,
    setNextBootPxe: async () => {
      calls.push('set');
      await o.send?.();
    },
    ...(o.readBack
      ? {
          bootsPxeNext: async () => {
            calls.push('read');
            return o.readBack!();
          },
        }
      : {}),
  } as unknown as RolloutEffects;
  const input = (): StepInput => ({
    store,
    repo: store.rollouts,
    effects,
    versions: {} as VersionControl,
    spec: {} as RolloutSpec,
    member: store.rollouts.members(id)[0]!,
    machine,
    cycleGraceMs: 60_000,
  });
  return { store, calls, run: () => runStep(input()), member: () => store.rollouts.members(id)[0]! };
}

describe('rollout pxe step: the boot override is marked sent first, read back after a takeover, taken back when the BMC is busy', () => {
  it('an override a previous runner marked sent and the BMC has: verified, not sent again', async () => {
    const s = pxeStep({ pxeSentAt: NOW - 5000, readBack: async () => true });
    expect(await s.run()).toEqual({ kind: 'next', phase: 'assign', patch: { pxeSentAt: null }, detail: { verified: true } });
    expect(s.calls).toEqual(['read']);
  });

  it.each([
    ['the BMC does not have it', async () => false],
    ['the read-back fails', async (): Promise<boolean> => {
      throw new Error('timeout');
    }],
  ])('marked sent but %s: sent again', async (_name, readBack) => {
    const s = pxeStep({ pxeSentAt: NOW - 5000, readBack });
    expect(await s.run()).toMatchObject({ kind: 'next', phase: 'assign', patch: { pxeSentAt: null } });
    expect(s.calls).toEqual(['read', 'set']);
  });

  it('not marked: no read-back; marked before it is sent', async () => {
    const s = pxeStep({ pxeSentAt: null, readBack: async () => true, send: async () => expect(s.member().pxeSentAt).toBe(NOW) });
    expect(await s.run()).toMatchObject({ kind: 'next', phase: 'assign' });
    expect(s.calls).toEqual(['set']);
  });

  it('the BMC busy on another appliance: nothing was sent, so the mark is taken back and the step waits', async () => {
    const s = pxeStep({ pxeSentAt: null, send: async () => Promise.reject(busy()) });
    expect(await s.run()).toEqual({ kind: 'wait', message: expect.stringMatching(/busy: appliance r2/) });
    expect(s.member()).toMatchObject({ phase: 'pxe', pxeSentAt: null });
  });

  it('any other BMC failure: the mark stays (it may have been taken), the error goes to the runner', async () => {
    const s = pxeStep({ pxeSentAt: null, send: async () => Promise.reject(new AppError('BMC_ERROR', 'session lost')) });
    await expect(s.run()).rejects.toThrow(/session lost/);
    expect(s.member()).toMatchObject({ phase: 'pxe', pxeSentAt: NOW });
  });
});
