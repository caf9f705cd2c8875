import { z } from 'zod';

/** BMC settings section. */
export const bmcSettingsSchema = z
  .object({
    timeoutMs: z.number().int().min(100).max(120_000).default(5000),
    retries: z.number().int().min(0).max(10).default(3),
    maxConcurrent: z.number().int().min(1).max(1000).default(32),
  })
  .default({});

export type BmcSettings = z.infer<typeof bmcSettingsSchema>;
