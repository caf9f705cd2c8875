import { z } from 'zod';

/** BMC settings section. */
export const bmcSettingsSchema = z
  .object({
    /** Per-attempt timeout of one IPMI datagram or one Redfish HTTP request. */
    timeoutMs: z.number().int().min(100).max(120_000).default(5000),
    /** Retransmissions after the first attempt (IPMI) / retries of idempotent GETs (Redfish). */
    retries: z.number().int().min(0).max(10).default(3),
    /** Global limit of BMC operations running at once (rollouts power many machines). */
    maxConcurrent: z.number().int().min(1).max(1000).default(32),
    /** An IPMI session idle this long is re-established before use (BMCs time out at ~60 s). */
    sessionIdleMs: z.number().int().min(1000).max(3_600_000).default(45_000),
    /** How long to poll a Redfish TaskMonitor (202 Accepted) before giving up. */
    taskTimeoutMs: z.number().int().min(1000).max(3_600_000).default(120_000),
    /** Wait between power off and on when emulating PowerCycle. */
    cycleDelayMs: z.number().int().min(0).max(60_000).default(2000),
  })
  .default({});

/** The BMC settings with defaults applied. */
export type BmcSettings = z.infer<typeof bmcSettingsSchema>;
