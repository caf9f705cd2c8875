import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { AssetRegistry } from '../../assets/registry.js';
import { powerServiceFor } from '../../bmc/service.js';
import { ReadinessMonitor } from '../../lifecycle/monitor.js';
import { kubernetesReadiness, reportReadiness } from '../../lifecycle/readiness.js';
import { RolloutControl } from '../../rollout/control.js';
import { driftReport } from '../../rollout/drift.js';
import type { RolloutEffects, VersionControl } from '../../rollout/effects.js';
import { KubeClient } from '../../rollout/k8s.js';
import { type PowerControl, liveEffects } from '../../rollout/live.js';
import { RolloutRunner } from '../../rollout/runner.js';
import { rolloutSpecSchema } from '../../rollout/spec.js';
import { inventoryVersions } from '../../rollout/versions.js';
import type { AppDeps } from '../app.js';
import { parseBody } from '../validate.js';
import { documented } from './openapi.js';

/** Test seams: fake versions/effects/clock, or no background runner at all. */
export interface RolloutRouteOptions {
  versions?: VersionControl;
  effects?: RolloutEffects;
  power?: PowerControl;
  /** false: routes only (tests drive a runner themselves). Default: settings.rollout.enabled. */
  runner?: boolean;
  now?: () => number;
}

const idParams = z.object({ id: z.coerce.number().int().min(1) });
const listQuery = z.object({ active: z.enum(['true', 'false']).optional() });
const driftQuery = z.object({ staleAfterSec: z.coerce.number().int().min(1).max(31_536_000).optional() });
const ACTIONS = ['pause', 'resume', 'abort', 'rollback'] as const;


/** /api/v1/rollouts and /api/v1/drift; runs the rollout runner in the background while the app is up. */
export function registerRolloutRoutes(app: FastifyInstance, deps: AppDeps, opts: RolloutRouteOptions = {}): void {
  const { store, settings } = deps;
  const cfg = settings.rollout;
  const now = opts.now ?? Date.now;
  let assets: AssetRegistry | undefined;
  const imageDigestOf = (ref: string): string | undefined => {
    const m = /^sha256:([0-9a-f]{64})$/.exec(ref);
    if (m) return m[1];
    assets ??= new AssetRegistry(settings.assetsDir, settings.dataDir);
    return assets.digestOf(ref);
  };
  const versions = opts.versions ?? inventoryVersions(store, imageDigestOf);
  const control = new RolloutControl(store, versions, now);
  let kube: KubeClient | undefined;
  const kubeClient = cfg.kubeconfig ? () => (kube ??= KubeClient.fromFile(cfg.kubeconfig!)) : undefined;
  const hooks = {
    timeoutMs: cfg.httpTimeoutMs,
    ...(kubeClient ? { kube: kubeClient } : {}),
  };
  // The BMC subsystem's power service (one cached session per BMC), looked up per call.
  const bmc = () => powerServiceFor(store, settings.bmc, deps.log);
  const power: PowerControl = opts.power ?? {
    setBootDevice: (id, o) => bmc().setBootDevice(id, o),
    powerAction: (id, action) => bmc().powerAction(id, action),
    getStatus: (id) => bmc().getStatus(id),
  };
  const effects = opts.effects ?? liveEffects(power, hooks, now);
  const runner = (opts.runner ?? cfg.enabled)
    ? new RolloutRunner({ store, effects, versions, log: deps.log, cycleGraceMs: cfg.cycleGraceSec * 1000 })
    : undefined;
  if (runner) {
    app.addHook('onReady', async () => runner.start(cfg.tickMs));
    app.addHook('onClose', async () => runner.stop());
  }
  // Talos and Bottlerocket post no report: their Kubernetes Node turning Ready is recorded as one.
  const monitor = runner && kubeClient
    ? new ReadinessMonitor({ store, sources: { report: reportReadiness, kubernetes: kubernetesReadiness(kubeClient) }, imageDigestOf, log: deps.log })
    : undefined;
  if (monitor) {
    app.addHook('onReady', async () => monitor.start(cfg.tickMs));
    app.addHook('onClose', async () => monitor.stop());
  }
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
