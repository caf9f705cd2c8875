import { AppError } from '../errors.js';
import type { Machine } from '../inventory/machines.js';
import type { RolloutEffects, StepContext, StepResult } from './effects.js';
import { type KubeNodeOps, drainPass } from './k8s.js';
import type { RolloutSpec } from './spec.js';

/** What the pre/post steps and extra health checks use. */
export interface HookDeps {
  /** The Kubernetes client (from the kubeconfig in settings); called only when a spec asks for it. */
  kube?: () => KubeNodeOps;
  fetch?: typeof fetch;
  timeoutMs?: number;
}

/** Webhook answers that mean "not yet, ask again" rather than "no". */
const RETRY_STATUS = new Set([409, 423, 425, 429, 503]);

/** The Kubernetes node of a machine: named like the machine (kubelet's default hostname). */
export function nodeName(machine: Machine): string {
  return machine.name;
}

/** Fills {name}, {ipv4} and {id} in a probe URL template. */
export function probeUrl(template: string, machine: Machine): string {
  return template
    .replaceAll('{name}', encodeURIComponent(machine.name))
    .replaceAll('{ipv4}', machine.ipv4 ?? '')
    .replaceAll('{id}', String(machine.id));
}

/** Pre/post steps (webhook, then Kubernetes) and the optional health checks, for production effects. */
export function makeStepHooks(deps: HookDeps): Pick<RolloutEffects, 'preStep' | 'postStep' | 'extraHealth'> {
  const doFetch = deps.fetch ?? fetch;
  const timeoutMs = deps.timeoutMs ?? 10_000;
  const kube = (): KubeNodeOps => {
    if (!deps.kube) throw new AppError('SETTINGS', 'the rollout asks for Kubernetes but settings have no rollout.kubeconfig');
    return deps.kube();
  };

  const webhook = async (url: string, machine: Machine, ctx: StepContext): Promise<StepResult> => {
    let res: Response;
    try {
      res = await doFetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          phase: ctx.phase,
          rollback: ctx.rollback,
          rollout: ctx.rolloutId,
          machine: { id: machine.id, name: machine.name, labels: machine.labels, ipv4: machine.ipv4, macs: machine.macs },
        }),
        signal: AbortSignal.timeout(timeoutMs),
      });
      await res.arrayBuffer();
    } catch (e) {
      return { done: false, message: `webhook ${ctx.phase}: ${(e as Error).message}` };
    }
    if (res.ok) return { done: true };
    if (RETRY_STATUS.has(res.status)) return { done: false, message: `webhook ${ctx.phase} answered ${res.status}` };
    throw new AppError('CONFLICT', `webhook ${ctx.phase} refused with HTTP ${res.status}`);
  };

  const step = async (machine: Machine, ctx: StepContext): Promise<StepResult> => {
    const { steps } = ctx.spec;
    if (steps.webhook) {
      const r = await webhook(steps.webhook, machine, ctx);
      if (!r.done) return r;
    }
    if (!steps.kubernetes) return { done: true };
    const node = nodeName(machine);
    if (ctx.phase === 'post') {
      await kube().uncordon(node);
      return { done: true };
    }
    const r = await drainPass(kube(), node);
    if (r.remaining === 0) return { done: true, message: `drained ${node}` };
    return { done: false, message: `draining ${node}: ${r.remaining} pod(s) left${r.blocked.length ? `, blocked by a disruption budget: ${r.blocked.join(', ')}` : ''}` };
  };

  return {
    preStep: step,
    postStep: step,
    extraHealth: async (machine: Machine, spec: RolloutSpec) => {
      if (spec.health.httpProbe) {
        const url = probeUrl(spec.health.httpProbe, machine);
        try {
          const res = await doFetch(url, { signal: AbortSignal.timeout(timeoutMs) });
          await res.arrayBuffer();
          if (!res.ok) return `http probe ${url} answered ${res.status}`;
        } catch (e) {
          return `http probe ${url}: ${(e as Error).message}`;
        }
      }
      if (spec.health.kubernetesReady && !(await kube().nodeReady(nodeName(machine)))) {
        return `kubernetes node ${nodeName(machine)} is not Ready`;
      }
      return null;
    },
  };
}
