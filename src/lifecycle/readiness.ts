import type { Machine } from '../inventory/machines.js';
import type { ProfileSpec } from '../model/profile-spec.js';

/**
 * How a machine's OS tells rackboot that a boot finished:
 * - `report`: the node POSTs /api/v1/report itself — rackboot's test OS agent, or the unit /
 *   cloud-init hook rackboot renders into Ignition and cloud-init configs;
 * - `kubernetes`: the OS runs no unit of ours (Talos allows none; Bottlerocket's settings have
 *   no such hook), so readiness is its Kubernetes Node turning Ready after the boot.
 */
export const READINESS_KINDS = ['report', 'kubernetes'] as const;
/** One of READINESS_KINDS. */
export type ReadinessKind = (typeof READINESS_KINDS)[number];

/** The readiness kind of a profile's OS (pure). */
export function readinessKindOf(os: ProfileSpec['os']): ReadinessKind {
  switch (os) {
    case 'talos':
    case 'bottlerocket':
      return 'kubernetes';
    default:
      return 'report';
  }
}

/** A Kubernetes Node as readiness sees it. */
export interface KubeNodeStatus {
  name: string;
  ready: boolean;
  /** lastTransitionTime of the Ready condition (ISO), when known. */
  readySince: string | null;
  /** status.nodeInfo.bootID: changes at every boot of the node. */
  bootId: string | null;
  /** status.addresses (InternalIP, Hostname, ...) values. */
  addresses: string[];
  osImage: string | null;
  kubeletVersion: string | null;
}

/** Finds the Node of a machine by name, else by one of its addresses (null when none). */
export interface KubeNodeLookup {
  findNode(name: string, addresses: string[]): Promise<KubeNodeStatus | null>;
}

/** The boot whose completion is awaited: when rackboot served its script and which config. */
export interface AwaitedBoot {
  /** Epoch ms of the network boot script. */
  startedAt: number;
  versionId: number;
  /** SHA-256 (hex) of the config version the boot script pointed at. */
  configSha256: string;
  /** The node's bootID recorded at its previous ready, if any. */
  previousBootId: string | null;
}

/** What a source saw for an awaited boot. */
export type ReadinessVerdict =
  | { ready: true; node: string; bootId: string | null; message: string }
  | { ready: false; message: string };

/**
 * Is this Node the awaited boot, Ready? (pure). A bootID other than the one recorded at the
 * machine's previous ready proves a new boot; without a recorded bootID, a Ready condition that
 * turned True after the boot script was served does. A Node still Ready from before the reboot
 * (the node controller marks it NotReady only after its grace period) is not the awaited boot.
 */
export function judgeNode(node: KubeNodeStatus | null, boot: AwaitedBoot, machineName: string): ReadinessVerdict {
  if (!node) return { ready: false, message: `no Kubernetes node named ${machineName} or with its address yet` };
  if (!node.ready) return { ready: false, message: `kubernetes node ${node.name} is not Ready` };
  const since = node.readySince ? Date.parse(node.readySince) : Number.NaN;
  const what = `kubernetes node ${node.name} Ready${node.osImage ? ` (${node.osImage})` : ''}`;
  if (boot.previousBootId !== null && node.bootId !== null) {
    if (node.bootId === boot.previousBootId) return { ready: false, message: `${what}, but still the boot before this one (bootID ${node.bootId})` };
    return { ready: true, node: node.name, bootId: node.bootId, message: `${what}, new bootID ${node.bootId}` };
  }
  if (Number.isFinite(since) && since >= boot.startedAt) return { ready: true, node: node.name, bootId: node.bootId, message: `${what} since ${node.readySince}` };
  return { ready: false, message: `${what} since ${node.readySince ?? 'an unknown time'}, before this boot started` };
}

/** One readiness mechanism; `observe` is called for machines awaiting a boot's completion. */
export interface ReadinessSource {
  readonly kind: ReadinessKind;
  /** Looks for the awaited boot's completion; null = nothing to look at (the node reports itself). */
  observe(machine: Machine, boot: AwaitedBoot): Promise<ReadinessVerdict | null>;
}

/** The `report` source: nothing to poll, the node's own POST /api/v1/report is the signal. */
export const reportReadiness: ReadinessSource = { kind: 'report', observe: async () => null };

/** The `kubernetes` source: the machine's Node (by name, else by its inventory address) Ready after the boot. */
export function kubernetesReadiness(lookup: () => KubeNodeLookup): ReadinessSource {
  return {
    kind: 'kubernetes',
    observe: async (machine, boot) => {
      const node = await lookup().findNode(machine.name, machine.ipv4 ? [machine.ipv4] : []);
      return judgeNode(node, boot, machine.name);
    },
  };
}
