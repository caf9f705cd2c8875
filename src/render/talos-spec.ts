import { z } from 'zod';

const cidr = z.string().regex(/^[0-9a-f.:]+\/\d{1,3}$/, 'an address/prefix such as 198.18.0.10/24');
const ip = z.string().regex(/^[0-9a-f.:]+$/, 'an IP address');
const keyPair = z.object({ crt: z.string().min(1), key: z.string().min(1) }).strict();
const stringMap = z.record(z.string());

/** One network link of a Talos machine (becomes a LinkConfig document). */
export const talosInterfaceSchema = z
  .object({
    name: z.string().min(1).max(15),
    addresses: z.array(cidr).default([]),
    routes: z.array(z.object({ destination: cidr.optional(), gateway: ip }).strict()).default([]),
    mtu: z.number().int().min(576).max(9216).optional(),
  })
  .strict();

/** The per-machine patch: what may differ between machines of one profile. */
export const talosMachinePatchSchema = z
  .object({
    hostname: z.string().regex(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/, 'a DNS label').optional(),
    interfaces: z.array(talosInterfaceSchema).optional(),
    install: z.object({ disk: z.string().startsWith('/dev/').optional(), image: z.string().min(1).optional() }).strict().optional(),
    kubelet: z.object({ extraArgs: stringMap.default({}) }).strict().optional(),
    sysctls: stringMap.optional(),
  })
  .strict();

/**
 * `spec.talos` of a profile: the base config of one cluster role. Secrets belong to the
 * cluster named here and are only rendered for machines of that cluster.
 */
export const talosSpecSchema = z
  .object({
    machineType: z.enum(['controlplane', 'worker']).default('worker'),
    cluster: z
      .object({
        name: z.string().regex(/^[a-z0-9]([a-z0-9.-]{0,61}[a-z0-9])?$/, 'a DNS name'),
        endpoint: z.string().regex(/^https:\/\/[^\s]+$/, 'an https:// URL'),
        podSubnets: z.array(cidr).min(1).default(['10.244.0.0/16']),
        serviceSubnets: z.array(cidr).min(1).default(['10.96.0.0/12']),
        dnsDomain: z.string().min(1).optional(),
      })
      .strict(),
    secrets: z
      .object({
        machineToken: z.string().min(1),
        machineCa: keyPair,
        /** Kubernetes bootstrap token: 6 + 16 lower-case alphanumerics. */
        clusterToken: z.string().regex(/^[a-z0-9]{6}\.[a-z0-9]{16}$/, 'a bootstrap token like abcdef.0123456789abcdef'),
        etcdCa: keyPair.optional(),
        kubernetesCa: keyPair.optional(),
      })
      .strict(),
    kubelet: z
      .object({ image: z.string().min(1).default('ghcr.io/siderolabs/kubelet:v1.34.1'), extraArgs: stringMap.default({}) })
      .strict()
      .default({}),
    sysctls: stringMap.default({}),
    /** OCI installer image (ghcr.io/siderolabs/installer:vX.Y.Z); Talos installs itself from it. */
    installImage: z.string().min(1).optional(),
    /** Address of the primary link, derived from the machine's reserved IPv4. */
    network: z
      .object({ interface: z.string().min(1).max(15).default('eth0'), prefixLength: z.number().int().min(1).max(32).default(24), gateway: ip.optional() })
      .strict()
      .default({}),
    certSANs: z.array(z.string().min(1)).default([]),
    /** Per-machine patches keyed by machine name. */
    machines: z.record(talosMachinePatchSchema).default({}),
  })
  .strict();

/** A parsed `spec.talos`. */
export type TalosSpec = z.infer<typeof talosSpecSchema>;
/** A parsed per-machine Talos patch. */
export type TalosMachinePatch = z.infer<typeof talosMachinePatchSchema>;
/** A parsed Talos link. */
export type TalosInterface = z.infer<typeof talosInterfaceSchema>;
