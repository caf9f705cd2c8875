import { z } from 'zod';

/** Rollout settings section. */
export const rolloutSettingsSchema = z
  .object({
    /** Run the rollout runner inside `rackboot serve` (off: rollouts are created but not driven). */
    enabled: z.boolean().default(true),
    /** How often the runner looks at active rollouts. */
    tickMs: z.number().int().min(10).max(60_000).default(2000),
    /** Kubeconfig for cordon/drain/uncordon and node Ready checks (only needed by specs that ask for Kubernetes). */
    kubeconfig: z.string().min(1).optional(),
    /** After a restart, how long a maybe-sent power cycle gets to show boot evidence before it is sent again. */
    cycleGraceSec: z.number().int().min(1).max(3600).default(120),
    /** Timeout of one webhook call or HTTP health probe. */
    httpTimeoutMs: z.number().int().min(100).max(120_000).default(10_000),
    /** Drift report: a machine that has not reported for this long is listed as stale. */
    driftStaleAfterSec: z.number().int().min(60).max(31_536_000).default(86_400),
  })
  .strict()
  .default({});

/** The rollout settings with defaults applied. */
export type RolloutSettings = z.infer<typeof rolloutSettingsSchema>;
