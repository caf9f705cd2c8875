import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { type ProfileSpec, profileSpecSchema } from '../../src/model/profile-spec.js';
import type { RenderInput, RenderMachine } from '../../src/render/types.js';

/** Directory of the render goldens and profile fixtures. */
export const FIXTURES = join(import.meta.dirname, '../fixtures/render');

/** A machine as the inventory would hand it to a renderer. */
export function machine(over: Partial<RenderMachine> = {}): RenderMachine {
  return { id: 7, name: 'node-1', macs: ['52:54:00:12:34:56'], ipv4: '198.18.0.21', labels: {}, ...over };
}

/** A profile spec with the profile-spec defaults applied. */
export function spec(raw: Record<string, unknown>): ProfileSpec {
  return profileSpecSchema.parse(raw);
}

/** A render input for a machine and a spec. */
export function input(s: ProfileSpec, m: RenderMachine = machine(), profile = 'p1'): RenderInput {
  return { machine: m, profile: { name: profile, revision: 1, spec: s }, installImage: null };
}

// Fake key material: base64 of obviously fake PEM text, never a real key.
const fakePem = (what: string) => Buffer.from(`-----BEGIN ${what}-----\nRkFLRQ==\n-----END ${what}-----\n`).toString('base64');

/** The Talos section of a cluster's profile (secrets differ per cluster). */
export function talosSection(cluster: string, type: 'controlplane' | 'worker', extra: Record<string, unknown> = {}) {
  return {
    machineType: type,
    cluster: { name: cluster, endpoint: `https://${cluster}.lab.example:6443` },
    secrets: {
      machineToken: `${cluster}-machine-token-0123456789`,
      machineCa: { crt: fakePem(`${cluster.toUpperCase()} TALOS CA`), key: fakePem(`${cluster.toUpperCase()} TALOS CA KEY`) },
      clusterToken: `${cluster.slice(0, 6).padEnd(6, 'x')}.0123456789abcdef`,
      etcdCa: { crt: fakePem(`${cluster.toUpperCase()} ETCD CA`), key: fakePem(`${cluster.toUpperCase()} ETCD CA KEY`) },
      kubernetesCa: { crt: fakePem(`${cluster.toUpperCase()} K8S CA`), key: fakePem(`${cluster.toUpperCase()} K8S CA KEY`) },
    },
    installImage: 'ghcr.io/siderolabs/installer:v1.11.2',
    network: { interface: 'eth0', prefixLength: 24, gateway: '198.18.0.1' },
    kubelet: { extraArgs: { 'rotate-server-certificates': 'true' } },
    sysctls: { 'net.core.somaxconn': '65535' },
    ...extra,
  };
}

/** The Flatcar/Butane profile fixture shared with the VM test (writes a file and a user). */
export function ignitionProfileFixture(): { name: string; spec: Record<string, unknown> } {
  return parse(readFileSync(join(FIXTURES, 'ignition-profile.yaml'), 'utf8')) as { name: string; spec: Record<string, unknown> };
}
