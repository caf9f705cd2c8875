import type { AssetRegistry } from '../assets/registry.js';
import type { Store } from '../inventory/store.js';
import { ReadinessMonitor } from '../lifecycle/monitor.js';
import { kubernetesReadiness, reportReadiness } from '../lifecycle/readiness.js';
import type { Logger } from '../log.js';
import type { MachinePower } from '../model/power.js';
import type { VersionControl } from './effects.js';
import { KubeClient } from './k8s.js';
import { liveEffects } from './live.js';
import { RolloutRunner } from './runner.js';
import type { RolloutSettings } from './settings.js';
import { inventoryVersions } from './versions.js';
import type { LeaderLease } from '../coordination/leader.js';

/** What the rollout routes use: version control, and the runner to nudge after an operator action. */
export interface RolloutServices {
  versions: VersionControl;
  /** The background runner (absent when rollout.enabled is false or in route tests). */
  runner?: { tick(): Promise<unknown> };
}

/** The rollout side of a running appliance: built once by the composition root. */
export interface RolloutBackground extends RolloutServices {
  runner?: RolloutRunner;
  /** Talos and Bottlerocket post no report: their Kubernetes Node turning Ready is recorded as one. */
  monitor?: ReadinessMonitor;
  /** Starts the runner and the monitor ticking (every rollout.tickMs). */
  start(): void;
  /** Stops both and waits for the rounds in flight. */
  stop(): Promise<void>;
}

/** The digest of an image reference: `sha256:<hex>` as is, else an asset name from the registry. */
export function imageDigestOf(assets: AssetRegistry): (ref: string) => string | undefined {
  return (ref) => {
    const m = /^sha256:([0-9a-f]{64})$/.exec(ref);
    return m ? m[1] : assets.digestOf(ref);
  };
}

/** Inventory-backed version control (what the routes use when no runner is built, e.g. tests). */
export function rolloutVersions(store: Store, assets: AssetRegistry): VersionControl {
  return inventoryVersions(store, imageDigestOf(assets));
}

/**
 * Builds the rollout runner (when rollout.enabled) over the given power control, and the
 * readiness monitor (when a kubeconfig is set as well). Nothing runs until start().
 */
export function buildRollouts(o: {
  store: Store;
  settings: RolloutSettings;
  power: MachinePower;
  assets: AssetRegistry;
  log: Logger;
  now?: () => number;
  /** The `rollout-runner` lease (appliances sharing the inventory): claimed from start() to stop(). */
  leader?: LeaderLease;
}): RolloutBackground {
  const cfg = o.settings;
  const now = o.now ?? Date.now;
  const digestOf = imageDigestOf(o.assets);
  const versions = inventoryVersions(o.store, digestOf);
  let kube: KubeClient | undefined;
  const kubeClient = cfg.kubeconfig ? () => (kube ??= KubeClient.fromFile(cfg.kubeconfig!)) : undefined;
  const hooks = { timeoutMs: cfg.httpTimeoutMs, ...(kubeClient ? { kube: kubeClient } : {}) };
  const runner = cfg.enabled
    ? new RolloutRunner({ store: o.store, effects: liveEffects(o.power, hooks, now), versions, log: o.log, cycleGraceMs: cfg.cycleGraceSec * 1000, ...(o.leader ? { leader: o.leader } : {}) })
    : undefined;
  const monitor =
    runner && kubeClient
      ? new ReadinessMonitor({ store: o.store, sources: { report: reportReadiness, kubernetes: kubernetesReadiness(kubeClient) }, imageDigestOf: digestOf, log: o.log, ...(o.leader ? { leader: o.leader } : {}) })
      : undefined;
  return {
    versions,
    ...(runner ? { runner } : {}),
    ...(monitor ? { monitor } : {}),
    start: () => {
      if (runner) o.leader?.start();
      runner?.start(cfg.tickMs);
      monitor?.start(cfg.tickMs);
    },
    stop: async () => {
      await monitor?.stop();
      await runner?.stop();
      // Released once nothing steps any more: a standby takes over at its next claim.
      o.leader?.stop();
    },
  };
}
