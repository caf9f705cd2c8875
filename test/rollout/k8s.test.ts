import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isAppError } from '../../src/errors.js';
import { makeStepHooks } from '../../src/rollout/hooks.js';
import { KubeClient, drainNode } from '../../src/rollout/k8s.js';
import { FakeKube } from './fake-kube.js';
import { makeSim, spec } from './sim.js';

let kube: FakeKube;
let client: KubeClient;

beforeEach(async () => {
  kube = new FakeKube();
  await kube.start();
  client = KubeClient.fromFile(kube.writeKubeconfig(join(mkdtempSync(join(tmpdir(), 'rb-kube-')), 'kubeconfig')));
});
afterEach(async () => {
  await kube.stop();
});

/** A fake clock whose sleep advances it, so retry loops run without waiting. */
function fakeTime() {
  let t = 0;
  return { now: () => t, sleep: async (ms: number) => void (t += ms) };
}

describe('Kubernetes client against a fake API server', () => {
  it('cordons and uncordons a node with a strategic-merge patch; reads Ready', async () => {
    kube.addNode('m1');
    kube.addNode('m2', false);
    await client.cordon('m1');
    expect(kube.nodes.get('m1')!.unschedulable).toBe(true);
    await client.uncordon('m1');
    expect(kube.nodes.get('m1')!.unschedulable).toBe(false);
    expect(await client.nodeReady('m1')).toBe(true);
    expect(await client.nodeReady('m2')).toBe(false);
    expect(await client.nodeReady('nope')).toBe(false);
    await expect(client.cordon('nope')).rejects.toSatisfy((e) => isAppError(e, 'NOT_FOUND'));
  });

  it('drains through the Eviction API: a PDB 429 is retried until the pod may go; DaemonSet and mirror pods stay', async () => {
    kube.addNode('m1');
    kube.addPod({ namespace: 'web', name: 'web-1', node: 'm1', behaviour: { kind: 'ok' } });
    kube.addPod({ namespace: 'db', name: 'db-0', node: 'm1', behaviour: { kind: 'pdb', times: 2 } });
    kube.addPod({ namespace: 'kube-system', name: 'cilium-x', node: 'm1', behaviour: { kind: 'ok' }, ownerKind: 'DaemonSet' });
    kube.addPod({ namespace: 'kube-system', name: 'etcd-m1', node: 'm1', behaviour: { kind: 'ok' }, mirror: true });
    kube.addPod({ namespace: 'web', name: 'web-2', node: 'm2', behaviour: { kind: 'ok' } });
    const r = await drainNode(client, 'm1', { timeoutMs: 60_000, retryMs: 1000, ...fakeTime() });
    // pass 1 evicts web-1 (db-0: 429), pass 2 (429), pass 3 evicts db-0, pass 4 finds the node empty
    expect(r.passes).toBe(4);
    expect(kube.nodes.get('m1')!.unschedulable).toBe(true);
    expect(kube.pods.map((p) => p.name).sort()).toEqual(['cilium-x', 'etcd-m1', 'web-2']);
    expect(kube.requests.filter((q) => q.includes('/eviction'))).toEqual([
      'POST /api/v1/namespaces/web/pods/web-1/eviction',
      'POST /api/v1/namespaces/db/pods/db-0/eviction',
      'POST /api/v1/namespaces/db/pods/db-0/eviction',
      'POST /api/v1/namespaces/db/pods/db-0/eviction',
    ]);
  });

  it('a PDB that never allows the eviction is retried until the timeout, then CONFLICT naming the pod', async () => {
    kube.addNode('m1');
    kube.addPod({ namespace: 'db', name: 'db-0', node: 'm1', behaviour: { kind: 'pdb-forever' } });
    const err = await drainNode(client, 'm1', { timeoutMs: 10_000, retryMs: 1000, ...fakeTime() }).catch((e) => e);
    expect(isAppError(err, 'CONFLICT')).toBe(true);
    expect((err as Error).message).toMatch(/timed out .*disruption budget: db\/db-0/);
    expect(kube.pods[0]!.evictions).toBe(11); // at t = 0, 1 s, ..., 10 s
  });
});

describe('pre/post steps and health checks', () => {
  it('webhook then cordon/drain before, uncordon after; a busy webhook (503) is asked again', async () => {
    kube.addNode('m1');
    kube.addPod({ namespace: 'db', name: 'db-0', node: 'm1', behaviour: { kind: 'pdb', times: 1 } });
    kube.webhookBusy = 1;
    const hooks = makeStepHooks({ kube: () => client });
    const s = spec({ steps: { webhook: `${kube.url}/hook`, kubernetes: true }, health: { kubernetesReady: true, httpProbe: `${kube.url}/hook?m={name}` } });
    const machine = { id: 1, name: 'm1', labels: {}, ipv4: null, macs: [] } as never;
    const ctx = { rolloutId: 7, spec: s, phase: 'pre' as const, rollback: false };
    expect(await hooks.preStep(machine, ctx)).toMatchObject({ done: false, message: 'webhook pre answered 503' });
    expect(await hooks.preStep(machine, ctx)).toMatchObject({ done: false, message: expect.stringMatching(/blocked by a disruption budget: db\/db-0/) });
    expect(await hooks.preStep(machine, ctx)).toMatchObject({ done: false, message: 'draining m1: 1 pod(s) left' });
    expect(await hooks.preStep(machine, ctx)).toMatchObject({ done: true });
    expect(kube.nodes.get('m1')!.unschedulable).toBe(true);
    expect(await hooks.postStep(machine, { ...ctx, phase: 'post' })).toEqual({ done: true });
    expect(kube.nodes.get('m1')!.unschedulable).toBe(false);
    expect(kube.webhookCalls.at(-1)).toMatchObject({ phase: 'post', rollout: 7, machine: { name: 'm1' } });
    // GET on /hook is refused by the fake (401): the HTTP probe fails with the status
    expect(await hooks.extraHealth(machine, s)).toMatch(/http probe .*\/hook\?m=m1 answered 401/);
    kube.nodes.get('m1')!.ready = false;
    expect(await hooks.extraHealth(machine, spec({ health: { kubernetesReady: true } }))).toBe('kubernetes node m1 is not Ready');
  });

  it('in a rollout, a drain a PDB blocks times out: the canary is never rebooted, uncordoned, rollout paused', async () => {
    for (const n of ['m1', 'm2', 'm3']) kube.addNode(n);
    kube.addPod({ namespace: 'db', name: 'db-0', node: 'm1', behaviour: { kind: 'pdb-forever' } });
    const hooks = makeStepHooks({ kube: () => client });
    const sim = makeSim({ effects: (real) => ({ ...real, ...hooks }) });
    const r = sim.control.start(spec({ steps: { kubernetes: true, preTimeoutSec: 60 }, health: { kubernetesReady: true } }));
    const v = await sim.settle(r.id);
    expect(v.state).toBe('paused');
    expect(v.machines[0]).toMatchObject({ phase: 'rolled-back', failure: expect.stringMatching(/pre-step timeout: draining m1: 1 pod\(s\) left/) });
    expect(sim.fleet.get('m1').cycles).toBe(0);
    expect(kube.nodes.get('m1')!.unschedulable).toBe(false);
    expect(kube.pods[0]!.evictions).toBeGreaterThan(5);
    // Once the budget allows it, resume carries the rollout through every node.
    kube.pods[0]!.behaviour = { kind: 'ok' };
    sim.control.resume(r.id);
    const done = await sim.settle(r.id);
    expect(done.state).toBe('succeeded');
    expect([...kube.nodes.values()].every((n) => !n.unschedulable)).toBe(true);
  });
});
