import { describe, expect, it } from 'vitest';
import { isAppError } from '../../src/errors.js';
import type { Machine } from '../../src/inventory/machines.js';
import { decide, judgeReports, planRollout } from '../../src/rollout/plan.js';
import { rolloutSpecSchema } from '../../src/rollout/spec.js';

const machine = (id: number, name: string, labels: Record<string, string> = {}): Machine =>
  ({ id, name, labels, profile: 'a', state: 'ready', uuid: null, serial: null, ipv4: null, facts: {}, macs: [], createdAt: '', updatedAt: '' }) as Machine;
const fleet = [
  machine(1, 'w3', { role: 'worker' }),
  machine(2, 'w1', { role: 'worker', canary: 'yes' }),
  machine(3, 'w2', { role: 'worker' }),
  machine(4, 'cp1', { role: 'cp' }),
  machine(5, 'w4', { role: 'worker', canary: 'yes' }),
];
const spec = (s: Record<string, unknown>) => rolloutSpecSchema.parse({ target: { profile: 'b' }, ...s });
const plan = (s: Record<string, unknown>) => planRollout(spec(s), fleet).map((m) => `${m.name}:${m.batch}${m.canary ? 'c' : ''}`).join(' ');

describe('planRollout', () => {
  it.each([
    ['selector, canary 1, batch 1', { selector: 'role=worker' }, 'w1:0c w2:1 w3:2 w4:3'],
    ['batch 2', { selector: 'role=worker', batchSize: 2 }, 'w1:0c w2:1 w3:1 w4:2'],
    ['canary 2, batch 3', { selector: 'role=worker', canary: { count: 2 }, batchSize: 3 }, 'w1:0c w2:0c w3:1 w4:1'],
    ['no canary', { selector: 'role=worker', canary: { count: 0 }, batchSize: 2 }, 'w1:0 w2:0 w3:1 w4:1'],
    ['canary selector', { selector: 'role=worker', canary: { selector: 'canary=yes' }, batchSize: 5 }, 'w1:0c w4:0c w2:1 w3:1'],
    ['names keep their order', { machines: ['w3', 'cp1', 'w1'] }, 'w3:0c cp1:1 w1:2'],
    ['names ∪ selector, no duplicates', { machines: ['cp1', 'w2'], selector: 'role=worker' }, 'cp1:0c w2:1 w1:2 w3:3 w4:4'],
    ['canary count larger than the fleet', { machines: ['w1', 'w2'], canary: { count: 5 } }, 'w1:0c w2:0c'],
  ])('%s', (_name, s, want) => {
    expect(plan(s)).toBe(want);
  });

  it.each([
    ['no machine matches', { selector: 'role=gpu' }, /selects no machine/],
    ['unknown name', { machines: ['nope'] }, /no machine "nope"/],
    ['canary selector matches none', { selector: 'role=worker', canary: { selector: 'rack=x' } }, /canary selector/],
    ['bad selector', { selector: 'a=b=c' }, /bad label selector/],
  ])('refuses: %s', (_name, s, msg) => {
    let err: unknown;
    try {
      plan(s);
    } catch (e) {
      err = e;
    }
    expect(isAppError(err, 'BAD_INPUT')).toBe(true);
    expect((err as Error).message).toMatch(msg);
  });

  it('spec validation: needs machines, digests are checked, defaults applied', () => {
    expect(rolloutSpecSchema.safeParse({ target: { profile: 'b' } }).success).toBe(false);
    expect(rolloutSpecSchema.safeParse({ selector: '', target: { imageDigest: 'sha256:12', configDigest: 'x' } }).success).toBe(false);
    const s = spec({ selector: 'role=worker' });
    expect(s).toMatchObject({ batchSize: 1, maxUnavailable: 1, canary: { count: 1 }, rollbackOnFailure: true, healthTimeoutSec: 1800 });
  });
});

const mem = (phases: string, batches: string) =>
  phases.split(' ').map((phase, i) => ({ machineId: i + 1, phase, batch: Number(batches.split(' ')[i]) }));

describe('decide', () => {
  it.each([
    ['starts the canary', 'running', 'pending pending pending', '0 1 2', 1, { start: [1], drive: [] }],
    ['waits for the canary', 'running', 'health pending pending', '0 1 2', 1, { start: [], drive: [1] }],
    ['next batch once the previous is done', 'running', 'done pending pending', '0 1 1', 2, { start: [2, 3], drive: [] }],
    ['maxUnavailable caps a batch', 'running', 'done pending pending pending', '0 1 1 1', 2, { start: [2, 3], drive: [] }],
    ['fills up to maxUnavailable', 'running', 'done post pending pending', '0 1 1 1', 2, { start: [3], drive: [2] }],
    ['a failed machine stops the batch', 'running', 'done rolled-back pending', '0 1 1', 2, { start: [], drive: [] }],
    ['paused: only in-flight machines move', 'paused', 'done rb-health pending', '0 1 2', 1, { start: [], drive: [2] }],
    ['rolling back one at a time', 'rolling-back', 'rb-queued rb-queued skipped', '0 1 2', 1, { start: [1], drive: [] }],
  ] as const)('%s', (_n, state, phases, batches, maxU, want) => {
    expect(decide(state, mem(phases, batches), maxU)).toEqual(want);
  });

  it.each([
    ['running → succeeded', 'running', 'done done', { state: 'succeeded', reason: null }],
    ['rolling-back → rolled-back', 'rolling-back', 'rolled-back skipped', { state: 'rolled-back', reason: null }],
    ['rolling-back → failed', 'rolling-back', 'rolled-back rollback-failed', { state: 'failed', reason: '1 machine(s) could not be rolled back' }],
  ] as const)('finishes: %s', (_n, state, phases, finish) => {
    expect(decide(state, mem(phases, '0 1'), 1).finish).toEqual(finish);
  });
});

const ev = (kind: string, detail: Record<string, unknown> = {}) => ({ id: 1, at: '', mac: null, machineId: 1, source: 'agent', kind, detail });
const A = 'a'.repeat(64);
const B = 'b'.repeat(64);

describe('judgeReports', () => {
  const want = { imageDigest: `sha256:${A}`, configDigest: B };
  it.each([
    ['nothing yet', [], 0, { kind: 'waiting', phase: null }],
    ['progress', [ev('report.booting'), ev('report.configured')], 0, { kind: 'waiting', phase: 'configured' }],
    ['ready on target (either digest spelling)', [ev('report.ready', { imageDigest: A, configDigest: `sha256:${B}` })], 0, { kind: 'healthy' }],
    ['ready on the wrong image', [ev('report.ready', { imageDigest: B, configDigest: B })], 0, { kind: 'failed', reason: `wrong digest reported: imageDigest ${B} (want ${A})` }],
    ['ready without digests', [ev('report.ready')], 0, { kind: 'failed', reason: `wrong digest reported: imageDigest missing (want ${A}); configDigest missing (want ${B})` }],
    ['agent failure', [ev('report.booting'), ev('report.failed', { reason: 'disk not found' })], 0, { kind: 'failed', reason: 'the machine reported failure: disk not found' }],
    ['timeout', [ev('report.booting')], 100, { kind: 'failed', reason: 'health timeout (last reported phase: booting)' }],
    ['non-report events are ignored', [ev('dhcp.discover')], 0, { kind: 'waiting', phase: null }],
    ['failure text from the route (message)', [ev('report.failed', { message: 'cloud-init: runcmd failed' })], 0, { kind: 'failed', reason: 'the machine reported failure: cloud-init: runcmd failed' }],
  ])('%s', (_n, reports, now, verdict) => {
    expect(judgeReports(reports, want, now, 100)).toEqual(verdict);
  });

  // Ignition nodes report the SHA-512 of the config they parsed; the expectation knows the
  // version's bytes by both names (issue #16: an in-sync Ignition node failed the gate).
  const S512 = 'c'.repeat(128);
  const ign = { imageDigest: A, configDigest: `sha256:${B}`, configAliases: [`sha512:${S512}`] };
  it.each([
    ['in-sync Ignition node (sha512 config)', { imageDigest: A, configDigest: `sha512:${S512}` }, { kind: 'healthy' }],
    ['same node reporting sha256', { imageDigest: A, configDigest: B }, { kind: 'healthy' }],
    ['other sha512', { imageDigest: A, configDigest: `sha512:${'d'.repeat(128)}` }, { kind: 'failed', reason: `wrong digest reported: configDigest sha512:${'d'.repeat(128)} (want sha512:${S512})` }],
    ['sha512 with no alias known', { imageDigest: A, configDigest: `sha512:${S512}`, noAlias: true }, { kind: 'failed', reason: `wrong digest reported: configDigest sha512:${S512} (want ${B})` }],
    ['garbage digest', { imageDigest: A, configDigest: 'nonsense' }, { kind: 'failed', reason: `wrong digest reported: configDigest nonsense (want ${B})` }],
  ])('%s', (_n, { noAlias, ...detail }: Record<string, unknown>, verdict) => {
    const exp = noAlias ? { imageDigest: A, configDigest: B } : ign;
    expect(judgeReports([ev('report.ready', detail)], exp, 0, 100)).toEqual(verdict);
  });

  it('a placeholder expectation (no config rendered yet) never matches', () => {
    const exp = { imageDigest: null, configDigest: '(no config rendered for profile p)' };
    expect(judgeReports([ev('report.ready', { configDigest: B })], exp, 0, 100)).toEqual({
      kind: 'failed',
      reason: `wrong digest reported: configDigest ${B} (want (no config rendered for profile p))`,
    });
  });
});
