import { stringify } from 'yaml';
import { z } from 'zod';
import { invalidConfig, parseConfig } from './check.js';
import { type TalosInterface, type TalosSpec, talosSpecSchema } from './talos-spec.js';
import type { RenderInput, RenderedConfig } from './types.js';

const cidr = z.string().regex(/^[0-9a-f.:]+\/\d{1,3}$/);
const ip = z.string().regex(/^[0-9a-f.:]+$/);
const v1 = { apiVersion: z.literal('v1alpha1') };

/**
 * The Talos documents rackboot writes, one zod schema per kind (the fields we set). Talos
 * ≥ 1.12 splits the machine config into typed documents: the legacy `machine.network`,
 * `machine.install`, `machine.kubelet` and `machine.sysctls` moved to HostnameConfig,
 * LinkConfig, UnattendedInstall, KubeletConfig and SysctlConfig.
 */
export const talosDocumentSchemas = {
  v1alpha1: z
    .object({
      version: z.literal('v1alpha1'),
      machine: z
        .object({
          type: z.enum(['controlplane', 'worker']),
          token: z.string().min(1),
          ca: z.object({ crt: z.string().min(1), key: z.string().min(1).optional() }).strict(),
          certSANs: z.array(z.string()).optional(),
        })
        .strict(),
      cluster: z
        .object({
          token: z.string().min(1),
          etcd: z.object({ ca: z.object({ crt: z.string(), key: z.string() }).strict() }).strict().optional(),
        })
        .strict(),
    })
    .strict(),
  HostnameConfig: z.object({ ...v1, kind: z.literal('HostnameConfig'), auto: z.literal('off'), hostname: z.string().min(1) }).strict(),
  LinkConfig: z
    .object({
      ...v1,
      kind: z.literal('LinkConfig'),
      name: z.string().min(1),
      up: z.literal(true),
      mtu: z.number().int().optional(),
      addresses: z.array(z.object({ address: cidr }).strict()),
      routes: z.array(z.object({ destination: cidr.optional(), gateway: ip }).strict()).optional(),
    })
    .strict(),
  KubeletConfig: z
    .object({ ...v1, kind: z.literal('KubeletConfig'), image: z.string().min(1), extraArgs: z.record(z.string()).optional() })
    .strict(),
  SysctlConfig: z.object({ ...v1, kind: z.literal('SysctlConfig'), params: z.record(z.string()) }).strict(),
  UnattendedInstall: z
    .object({
      ...v1,
      kind: z.literal('UnattendedInstall'),
      installer: z.object({ image: z.string().min(1) }).strict().optional(),
      provisioning: z.object({ diskSelector: z.object({ match: z.string().min(1) }).strict() }).strict(),
    })
    .strict(),
  KubeClusterConfig: z
    .object({ ...v1, kind: z.literal('KubeClusterConfig'), clusterName: z.string().min(1), endpoint: z.string().startsWith('https://') })
    .strict(),
  KubeNetworkConfig: z
    .object({
      ...v1,
      kind: z.literal('KubeNetworkConfig'),
      dnsDomain: z.string().optional(),
      podSubnets: z.array(cidr).min(1),
      serviceSubnets: z.array(cidr).min(1),
    })
    .strict(),
  KubeAPIServerCAConfig: z
    .object({ ...v1, kind: z.literal('KubeAPIServerCAConfig'), issuingCA: z.object({ cert: z.string(), key: z.string() }).strict() })
    .strict(),
} as const;

/** A Talos document kind we render. */
export type TalosKind = keyof typeof talosDocumentSchemas;

/** The machine-specific values after base, inventory and per-machine patch are merged. */
export interface TalosMachineValues {
  hostname: string;
  interfaces: TalosInterface[];
  installDisk: string | null;
  installImage: string | null;
  extraArgs: Record<string, string>;
  sysctls: Record<string, string>;
}

/** Merges profile base ← inventory-derived values ← the profile's patch for this machine. */
export function mergeTalosMachine(spec: TalosSpec, input: RenderInput): TalosMachineValues {
  const { machine } = input;
  const patch = spec.machines[machine.name] ?? {};
  const derived: TalosInterface[] = machine.ipv4
    ? [
        {
          name: spec.network.interface,
          addresses: [`${machine.ipv4}/${spec.network.prefixLength}`],
          routes: spec.network.gateway ? [{ destination: '0.0.0.0/0', gateway: spec.network.gateway }] : [],
        },
      ]
    : [];
  const interfaces = [...derived.filter((d) => !patch.interfaces?.some((p) => p.name === d.name)), ...(patch.interfaces ?? [])];
  return {
    hostname: patch.hostname ?? machine.name,
    interfaces: interfaces.sort((a, b) => a.name.localeCompare(b.name)),
    installDisk: patch.install?.disk ?? input.profile.spec.install?.disk ?? null,
    installImage: patch.install?.image ?? spec.installImage ?? null,
    extraArgs: sortKeys({ ...spec.kubelet.extraArgs, ...patch.kubelet?.extraArgs }),
    sysctls: sortKeys({ ...spec.sysctls, ...patch.sysctls }),
  };
}

/** Builds the list of Talos documents for one machine (not yet validated). */
export function talosDocuments(spec: TalosSpec, v: TalosMachineValues): Record<string, unknown>[] {
  const cp = spec.machineType === 'controlplane';
  const { secrets } = spec;
  const docs: Record<string, unknown>[] = [
    {
      version: 'v1alpha1',
      machine: {
        type: spec.machineType,
        token: secrets.machineToken,
        // Workers only verify the Talos API CA; the signing key stays on control planes.
        ca: cp ? secrets.machineCa : { crt: secrets.machineCa.crt },
        ...(spec.certSANs.length ? { certSANs: spec.certSANs } : {}),
      },
      cluster: { token: secrets.clusterToken, ...(cp && secrets.etcdCa ? { etcd: { ca: secrets.etcdCa } } : {}) },
    },
    { apiVersion: 'v1alpha1', kind: 'HostnameConfig', auto: 'off', hostname: v.hostname },
  ];
  for (const i of v.interfaces) {
    docs.push({
      apiVersion: 'v1alpha1',
      kind: 'LinkConfig',
      name: i.name,
      up: true,
      ...(i.mtu ? { mtu: i.mtu } : {}),
      addresses: i.addresses.map((address) => ({ address })),
      ...(i.routes.length ? { routes: i.routes } : {}),
    });
  }
  const args = Object.keys(v.extraArgs).length ? { extraArgs: v.extraArgs } : {};
  docs.push({ apiVersion: 'v1alpha1', kind: 'KubeletConfig', image: spec.kubelet.image, ...args });
  if (Object.keys(v.sysctls).length) docs.push({ apiVersion: 'v1alpha1', kind: 'SysctlConfig', params: v.sysctls });
  if (v.installDisk) {
    docs.push({
      apiVersion: 'v1alpha1',
      kind: 'UnattendedInstall',
      ...(v.installImage ? { installer: { image: v.installImage } } : {}),
      // Disk selectors are CEL expressions over the discovered disk.
      provisioning: { diskSelector: { match: `disk.dev_path == ${JSON.stringify(v.installDisk)}` } },
    });
  }
  docs.push({ apiVersion: 'v1alpha1', kind: 'KubeClusterConfig', clusterName: spec.cluster.name, endpoint: spec.cluster.endpoint });
  docs.push({
    apiVersion: 'v1alpha1',
    kind: 'KubeNetworkConfig',
    ...(spec.cluster.dnsDomain ? { dnsDomain: spec.cluster.dnsDomain } : {}),
    podSubnets: spec.cluster.podSubnets,
    serviceSubnets: spec.cluster.serviceSubnets,
  });
  if (cp && secrets.kubernetesCa) {
    const { crt, key } = secrets.kubernetesCa;
    docs.push({ apiVersion: 'v1alpha1', kind: 'KubeAPIServerCAConfig', issuingCA: { cert: crt, key } });
  }
  return docs;
}

/** Validates each document against the schema of its kind; the path names the document index. */
export function validateTalosDocuments(docs: unknown[]): void {
  docs.forEach((doc, i) => {
    const d = doc as { kind?: string; version?: string };
    const kind = (d.kind ?? (d.version === 'v1alpha1' ? 'v1alpha1' : undefined)) as TalosKind | undefined;
    const schema = kind ? talosDocumentSchemas[kind] : undefined;
    if (!schema) throw invalidConfig('Talos config', [{ path: `documents[${i}].kind`, message: `unknown kind ${String(d.kind)}` }]);
    parseConfig(schema, doc, `documents[${i}]`, `Talos ${kind} document`);
  });
}

/**
 * Renders a Talos machine config (multi-document YAML). The profile carries its cluster's
 * secrets (CA keys, tokens), so it renders only for machines whose `cluster` label names the
 * profile's cluster (`spec.talos.cluster.name`); an unlabelled machine is refused too (fails
 * closed: a machine put on a control-plane profile by mistake must not receive the CA keys).
 */
export function renderTalos(input: RenderInput): RenderedConfig {
  const spec = parseConfig(talosSpecSchema, input.profile.spec.talos, 'spec.talos', 'Talos profile');
  const member = input.machine.labels.cluster;
  if (member === undefined) {
    throw invalidConfig('Talos config', [
      { path: 'labels.cluster', message: `machine has no cluster label; label it cluster=${spec.cluster.name} to receive cluster ${spec.cluster.name}'s secrets` },
    ]);
  }
  if (member !== spec.cluster.name) {
    throw invalidConfig('Talos config', [
      { path: 'labels.cluster', message: `machine belongs to cluster ${member}, profile is for cluster ${spec.cluster.name}` },
    ]);
  }
  const docs = talosDocuments(spec, mergeTalosMachine(spec, input));
  validateTalosDocuments(docs);
  // YAML 1.1 quoting ("off", "yes") so Go and PyYAML readers get strings, not booleans.
  const body = docs.map((d) => stringify(d, { lineWidth: 0, version: '1.1' })).join('---\n');
  return { format: 'talos', contentType: 'application/yaml', body, meta: {} };
}

function sortKeys(o: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => a.localeCompare(b)));
}
