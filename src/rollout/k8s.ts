import { ApiException, CoreV1Api, KubeConfig, PatchStrategy, type V1Node, type V1Pod, setHeaderOptions } from '@kubernetes/client-node';
import { AppError } from '../errors.js';
import type { KubeNodeLookup, KubeNodeStatus } from '../lifecycle/readiness.js';

/** A pod as draining sees it. */
export interface PodRef {
  namespace: string;
  name: string;
}

/** Outcome of one eviction request (policy/v1 Eviction subresource). */
export type EvictionResult = 'evicted' | 'blocked' | 'gone';

/** The Kubernetes operations a rollout needs on one node. */
export interface KubeNodeOps {
  cordon(node: string): Promise<void>;
  uncordon(node: string): Promise<void>;
  /** Pods a drain must evict: not DaemonSet-owned, not static (mirror) pods, not finished. */
  evictablePods(node: string): Promise<Array<PodRef & { terminating: boolean }>>;
  evict(pod: PodRef): Promise<EvictionResult>;
  nodeReady(node: string): Promise<boolean>;
}

const status = (e: unknown): number | undefined => (e instanceof ApiException ? e.code : undefined);

function kubeError(what: string, e: unknown): AppError {
  const code = status(e);
  const body = e instanceof ApiException ? (e.body as { message?: string } | string | undefined) : undefined;
  const msg = typeof body === 'object' && body?.message ? body.message : e instanceof Error ? e.message : String(e);
  return new AppError(code === 404 ? 'NOT_FOUND' : 'CONFLICT', `kubernetes: ${what}: ${code ?? ''} ${msg}`.trim(), { cause: e, details: { status: code ?? null } });
}

/** True for pods a drain leaves alone, as `kubectl drain --ignore-daemonsets` does. */
function ignoredByDrain(p: V1Pod): boolean {
  if (p.metadata?.annotations?.['kubernetes.io/config.mirror'] !== undefined) return true;
  if ((p.metadata?.ownerReferences ?? []).some((o) => o.kind === 'DaemonSet')) return true;
  return p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed';
}

/**
 * Node operations through @kubernetes/client-node (1.x: 2.x needs Node ≥ 22). Cordon is a
 * strategic-merge patch of spec.unschedulable; eviction goes through the Eviction API so the
 * API server enforces PodDisruptionBudgets (it answers 429 while a budget forbids it).
 */
export class KubeClient implements KubeNodeOps, KubeNodeLookup {
  private readonly core: CoreV1Api;
  constructor(kc: KubeConfig) {
    this.core = kc.makeApiClient(CoreV1Api);
  }

  /** A client for the current context of a kubeconfig file. */
  static fromFile(path: string): KubeClient {
    const kc = new KubeConfig();
    try {
      kc.loadFromFile(path);
    } catch (e) {
      throw new AppError('SETTINGS', `cannot load kubeconfig ${path}: ${(e as Error).message}`, { cause: e });
    }
    return new KubeClient(kc);
  }

  private async setUnschedulable(node: string, value: boolean): Promise<void> {
    try {
      await this.core.patchNode(
        { name: node, body: { spec: { unschedulable: value } } },
        setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
      );
    } catch (e) {
      throw kubeError(`${value ? 'cordon' : 'uncordon'} ${node}`, e);
    }
  }

  cordon(node: string): Promise<void> {
    return this.setUnschedulable(node, true);
  }

  uncordon(node: string): Promise<void> {
    return this.setUnschedulable(node, false);
  }

  async evictablePods(node: string): Promise<Array<PodRef & { terminating: boolean }>> {
    try {
      const list = await this.core.listPodForAllNamespaces({ fieldSelector: `spec.nodeName=${node}` });
      return list.items
        .filter((p) => !ignoredByDrain(p))
        .map((p) => ({
          namespace: p.metadata?.namespace ?? 'default',
          name: p.metadata?.name ?? '',
          terminating: p.metadata?.deletionTimestamp !== undefined,
        }));
    } catch (e) {
      throw kubeError(`list pods on ${node}`, e);
    }
  }

  async evict(pod: PodRef): Promise<EvictionResult> {
    try {
      await this.core.createNamespacedPodEviction({
        name: pod.name,
        namespace: pod.namespace,
        body: { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: pod.name, namespace: pod.namespace } },
      });
      return 'evicted';
    } catch (e) {
      // 429: a PodDisruptionBudget does not allow it now; retry later. 404: already gone.
      if (status(e) === 429) return 'blocked';
      if (status(e) === 404) return 'gone';
      throw kubeError(`evict ${pod.namespace}/${pod.name}`, e);
    }
  }

  async nodeReady(node: string): Promise<boolean> {
    try {
      const n = await this.core.readNode({ name: node });
      return (n.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
    } catch (e) {
      if (status(e) === 404) return false;
      throw kubeError(`read node ${node}`, e);
    }
  }

  async findNode(name: string, addresses: string[]): Promise<KubeNodeStatus | null> {
    try {
      return nodeStatusOf(await this.core.readNode({ name }));
    } catch (e) {
      if (status(e) !== 404) throw kubeError(`read node ${name}`, e);
    }
    // Not named like the machine (a hostname from DHCP, a cloud-provider name): match an address.
    if (!addresses.length) return null;
    try {
      const list = await this.core.listNode();
      const hit = list.items.find((n) => (n.status?.addresses ?? []).some((a) => addresses.includes(a.address)));
      return hit ? nodeStatusOf(hit) : null;
    } catch (e) {
      throw kubeError('list nodes', e);
    }
  }
}

/** The readiness-relevant parts of a Node object. */
export function nodeStatusOf(n: V1Node): KubeNodeStatus {
  const ready = (n.status?.conditions ?? []).find((c) => c.type === 'Ready');
  const since = ready?.lastTransitionTime as Date | string | undefined;
  return {
    name: n.metadata?.name ?? '',
    ready: ready?.status === 'True',
    readySince: since === undefined ? null : new Date(since).toISOString(),
    bootId: n.status?.nodeInfo?.bootID || null,
    addresses: (n.status?.addresses ?? []).map((a) => a.address),
    osImage: n.status?.nodeInfo?.osImage || null,
    kubeletVersion: n.status?.nodeInfo?.kubeletVersion || null,
  };
}

/** One drain pass: cordon, then one eviction request per remaining pod. */
export async function drainPass(k: KubeNodeOps, node: string): Promise<{ remaining: number; blocked: string[] }> {
  await k.cordon(node);
  const pods = await k.evictablePods(node);
  const blocked: string[] = [];
  let remaining = 0;
  for (const p of pods) {
    if (p.terminating) {
      remaining++;
      continue;
    }
    const r = await k.evict(p);
    if (r === 'gone') continue;
    remaining++; // evicted pods still count until they are gone from the node
    if (r === 'blocked') blocked.push(`${p.namespace}/${p.name}`);
  }
  return { remaining, blocked };
}

/**
 * Cordons and drains a node, retrying evictions a budget blocks (429) until every pod is gone
 * or the timeout passes (then CONFLICT naming the blocked pods). Clock and sleep are injected.
 */
export async function drainNode(
  k: KubeNodeOps,
  node: string,
  opts: { timeoutMs: number; retryMs?: number; now?: () => number; sleep?: (ms: number) => Promise<void> },
): Promise<{ passes: number }> {
  const now = opts.now ?? Date.now;
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const deadline = now() + opts.timeoutMs;
  for (let passes = 1; ; passes++) {
    const r = await drainPass(k, node);
    if (r.remaining === 0) return { passes };
    if (now() >= deadline) {
      throw new AppError('CONFLICT', `drain of ${node} timed out with ${r.remaining} pod(s) left${r.blocked.length ? `; blocked by a disruption budget: ${r.blocked.join(', ')}` : ''}`, {
        details: { node, blocked: r.blocked, passes },
      });
    }
    await sleep(opts.retryMs ?? 5000);
  }
}
