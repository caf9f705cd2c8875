import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.js';
import { RolloutRunner } from '../../src/rollout/runner.js';
import { testApp } from '../helpers/app.js';
import { FakeClock, SimFleet, profileVersions, seedFleet } from './fleet.js';

async function setup() {
  const t = await testApp({ rollout: { enabled: false } });
  const clock = new FakeClock(Date.now());
  const fleet = new SimFleet(t.store, clock.now);
  seedFleet(t.store, fleet, 3, 'os-a');
  const runner = new RolloutRunner({ store: t.store, effects: fleet.effects(), versions: profileVersions(() => t.store), log: silentLogger() });
  const settle = async (id: number) => {
    for (let i = 0; i < 500; i++) {
      await runner.tick();
      const v = (await t.app.inject({ method: 'GET', url: `/api/v1/rollouts/${id}`, headers: t.auth })).json();
      if (v.settled) return v;
      clock.t += 5000;
      fleet.advance();
    }
    throw new Error('did not settle');
  };
  return { ...t, fleet, settle };
}

describe('rollout API (inject)', () => {
  it('validates, starts, lists, pauses, resumes, refuses a second holder, finishes and rolls back', async () => {
    const { app, auth, settle } = await setup();
    const post = (url: string, payload?: object) =>
      payload === undefined ? app.inject({ method: 'POST', url, headers: auth }) : app.inject({ method: 'POST', url, headers: auth, payload });

    const bad = await post('/api/v1/rollouts', { selector: 'role=worker', target: { profile: 'os-b' }, batchSize: 0 });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.details).toEqual(expect.arrayContaining([expect.objectContaining({ path: 'batchSize' })]));
    expect((await post('/api/v1/rollouts', { target: { profile: 'os-b' } })).statusCode).toBe(400);
    expect((await post('/api/v1/rollouts', { machines: ['zz'], target: { profile: 'os-b' } })).json().error.message).toMatch(/no machine "zz"/);
    expect((await app.inject({ method: 'POST', url: '/api/v1/rollouts', payload: {} })).statusCode).toBe(401);

    const created = await post('/api/v1/rollouts', { name: 'to-b', selector: 'role=worker', target: { profile: 'os-b' } });
    expect(created.statusCode).toBe(201);
    const r = created.json();
    expect(r).toMatchObject({ name: 'to-b', state: 'running', settled: false });
    expect(r.machines.map((m: { machine: string; phase: string }) => `${m.machine}:${m.phase}`)).toEqual(['m1:pending', 'm2:pending', 'm3:pending']);

    const clash = await post('/api/v1/rollouts', { machines: ['m3'], target: { profile: 'os-c' } });
    expect(clash.statusCode).toBe(409);
    expect(clash.json().error).toMatchObject({ code: 'CONFLICT', details: { machine: 'm3', rollout: r.id } });

    expect((await post(`/api/v1/rollouts/${r.id}/pause`)).json().state).toBe('paused');
    expect((await post(`/api/v1/rollouts/${r.id}/pause`)).statusCode).toBe(409);
    expect((await post(`/api/v1/rollouts/${r.id}/resume`)).json().state).toBe('running');
    const list = (await app.inject({ method: 'GET', url: '/api/v1/rollouts?active=true', headers: auth })).json();
    expect(list.items.map((x: { id: number }) => x.id)).toEqual([r.id]);

    const done = await settle(r.id);
    expect(done.state).toBe('succeeded');
    expect(done.machines.every((m: { phase: string; elapsedMs: number }) => m.phase === 'done' && m.elapsedMs > 0)).toBe(true);

    expect((await post(`/api/v1/rollouts/${r.id}/rollback`)).json().state).toBe('rolling-back');
    expect((await settle(r.id)).state).toBe('rolled-back');
    expect((await app.inject({ method: 'GET', url: '/api/v1/rollouts/999', headers: auth })).statusCode).toBe(404);
    expect((await app.inject({ method: 'GET', url: '/api/v1/rollouts/x', headers: auth })).statusCode).toBe(400);
    expect((await post('/api/v1/rollouts/999/abort')).statusCode).toBe(404);
  });

  it('a failed canary shows its failure and boot trace', async () => {
    const { app, auth, settle, fleet } = await setup();
    fleet.bmcBroken.add('m1');
    const r = (await app.inject({ method: 'POST', url: '/api/v1/rollouts', headers: auth, payload: { selector: 'role=worker', target: { profile: 'os-c' } } })).json();
    const v = await settle(r.id);
    expect(v).toMatchObject({ state: 'paused', reason: expect.stringMatching(/^m1: BMC_UNREACHABLE/) });
    expect(v.machines[0]).toMatchObject({ phase: 'rolled-back', failure: expect.stringMatching(/BMC of m1 does not answer/) });
    expect(v.machines[0].trace.map((e: { kind: string }) => e.kind)).toEqual(['rollout.machine.pre', 'rollout.machine.pxe']);
    expect(v.machines.slice(1).map((m: { phase: string }) => m.phase)).toEqual(['pending', 'pending']);
  });

  it('GET /api/v1/drift reports differences; staleAfterSec is validated; OpenAPI documents the routes', async () => {
    const { app, auth, store, fleet } = await setup();
    for (const n of ['m1', 'm2']) fleet.report(store.machines.get(n), 'ready', 'os-a');
    fleet.report(store.machines.get('m2'), 'ready', 'os-b');
    const res = await app.inject({ method: 'GET', url: '/api/v1/drift', headers: auth });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.staleAfterSec).toBe(86_400);
    expect(body.items.map((i: { machine: string; reasons: string[] }) => `${i.machine}:${i.reasons.join('+')}`)).toEqual(['m2:digest-mismatch', 'm3:never-configured']);
    expect(body.items[0].differences.map((d: { field: string }) => d.field)).toEqual(['imageDigest']);
    expect((await app.inject({ method: 'GET', url: '/api/v1/drift?staleAfterSec=0', headers: auth })).statusCode).toBe(400);
    const doc = (await app.inject({ method: 'GET', url: '/api/v1/openapi.json', headers: auth })).json();
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/api/v1/rollouts', '/api/v1/rollouts/{id}/rollback', '/api/v1/drift']));
  });
});
