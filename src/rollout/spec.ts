import { z } from 'zod';

const digest = z.string().regex(/^(sha256:)?[0-9a-f]{64}$/, 'sha256:<64 hex digits>');

/** What machines move to: a profile (optionally pinned to its current revision) or explicit digests. */
export const rolloutTargetSchema = z.union([
  z.object({ profile: z.string().min(1).max(128), revision: z.number().int().min(1).optional() }).strict(),
  z
    .object({ imageDigest: digest, configDigest: digest, profile: z.string().min(1).max(128).optional() })
    .strict(),
]);

/** A rollout as the operator asks for it (API body and CLI file). */
export const rolloutSpecSchema = z
  .object({
    name: z.string().min(1).max(128).optional(),
    /** Label selector (`role=worker,rack=r1`) and/or explicit machine names; the union is taken. */
    selector: z.string().max(2000).optional(),
    machines: z.array(z.string().min(1).max(128)).max(10_000).optional(),
    target: rolloutTargetSchema,
    canary: z
      .object({
        /** The first N planned machines are the canary batch... */
        count: z.number().int().min(0).max(1000).default(1),
        /** ...unless a selector names the canaries (every match is a canary). */
        selector: z.string().max(2000).optional(),
      })
      .strict()
      .default({}),
    batchSize: z.number().int().min(1).max(10_000).default(1),
    /** Machines allowed to be out of service (cordoned, rebooting, unhealthy) at the same time. */
    maxUnavailable: z.number().int().min(1).max(10_000).default(1),
    healthTimeoutSec: z.number().int().min(1).max(86_400).default(1800),
    health: z
      .object({
        /** Probe URL template; {name}, {ipv4} and {id} are filled in per machine. 2xx = healthy. */
        httpProbe: z.string().min(1).max(2000).optional(),
        /** Also require the Kubernetes node (named like the machine) to be Ready. */
        kubernetesReady: z.boolean().default(false),
      })
      .strict()
      .default({}),
    steps: z
      .object({
        /** POSTed {phase:'pre'|'post', rollout, machine}; 2xx done, 409/423/425/429/503 retry later. */
        webhook: z.string().url().max(2000).optional(),
        /** Cordon + evict pods (PDBs honoured) before, uncordon after. */
        kubernetes: z.boolean().default(false),
        preTimeoutSec: z.number().int().min(1).max(86_400).default(600),
      })
      .strict()
      .default({}),
    rollbackOnFailure: z.boolean().default(true),
  })
  .strict()
  .refine((s) => s.selector !== undefined || (s.machines?.length ?? 0) > 0, {
    message: 'give a selector or machine names',
    path: ['selector'],
  });

/** A validated rollout spec with defaults applied. */
export type RolloutSpec = z.infer<typeof rolloutSpecSchema>;
/** A validated rollout target. */
export type RolloutTarget = z.infer<typeof rolloutTargetSchema>;

/**
 * The version a machine runs or is meant to run: what a rollback returns to. `configDigest`
 * null means "whatever config the server renders for this profile at boot" (known once it booted).
 */
export interface MachineVersion {
  profile: string | null;
  profileRevision: number | null;
  imageDigest: string | null;
  configDigest: string | null;
  /** The config digest was named explicitly by the operator (else it is whatever the server renders at boot). */
  configPinned?: boolean;
}
