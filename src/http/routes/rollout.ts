import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { RolloutControl } from '../../rollout/control.js';
import { driftReport } from '../../rollout/drift.js';
import { rolloutSpecSchema } from '../../rollout/spec.js';
import type { RouteDeps } from '../app.js';
import { parseBody } from '../validate.js';
import { documented } from './openapi.js';

const idParams = z.object({ id: z.coerce.number().int().min(1) });
const listQuery = z.object({ active: z.enum(['true', 'false']).optional() });
const driftQuery = z.object({ staleAfterSec: z.coerce.number().int().min(1).max(31_536_000).optional() });
const ACTIONS = ['pause', 'resume', 'abort', 'rollback'] as const;


/**
 * /api/v1/rollouts and /api/v1/drift. The runner that carries rollouts out is built and started
 * by main.ts (deps.rollouts.runner); an operator action only nudges it.
 */
export function registerRolloutRoutes(app: FastifyInstance, deps: RouteDeps): void {
  const { store, settings } = deps;
  const cfg = settings.rollout;
  const now = Date.now;
  const { versions, runner } = deps.rollouts;
  const control = new RolloutControl(store, versions, now);
  const kick = () => void runner?.tick().catch(() => {});

  app.post('/api/v1/rollouts', { config: { access: 'operate' }, ...documented({ summary: 'Start a rollout (canary, batches, health gate)', body: rolloutSpecSchema, success: 201 }) }, async (req, reply) => {
    const spec = parseBody(rolloutSpecSchema, req.body, 'rollout spec');
    const view = control.start(spec);
    kick();
    return reply.status(201).send(view);
  });
  app.get('/api/v1/rollouts', { config: { access: 'read' }, ...documented({ summary: 'List rollouts (query active=true)', querystring: listQuery }) }, async (req) => {
    const q = parseBody(listQuery, req.query, 'query');
    return { items: control.list(q.active === 'true') };
  });
  app.get('/api/v1/rollouts/:id', { config: { access: 'read' }, ...documented({ summary: "A rollout with per-machine progress and failed machines' boot traces", params: idParams }) }, async (req) => control.view(parseBody(idParams, req.params, 'path').id));
  for (const action of ACTIONS) {
    app.post(`/api/v1/rollouts/:id/${action}`, { config: { access: 'operate' }, ...documented({ summary: `${action[0]!.toUpperCase()}${action.slice(1)} a rollout`, params: idParams }) }, async (req) => {
      const { id } = parseBody(idParams, req.params, 'path');
      const view = control[action](id);
      kick();
      return view;
    });
  }
  app.get('/api/v1/drift', { config: { access: 'read' }, ...documented({ summary: 'Machines whose reported digests differ from desired, never configured, or silent (query staleAfterSec)', querystring: driftQuery }) }, async (req) => {
    const q = parseBody(driftQuery, req.query, 'query');
    const staleAfterSec = q.staleAfterSec ?? cfg.driftStaleAfterSec;
    return { staleAfterSec, items: driftReport(store, versions, { now: now(), staleAfterMs: staleAfterSec * 1000 }) };
  });
}
