import { z } from 'zod';

/**
 * Where the inventory lives: `sqlite` (the default: inventory.db in the data dir) or
 * `{ postgres: 'postgres://user:password@host:port/db' }` (issue #20: several appliances on one
 * inventory). The URL's password is never logged nor put in an error (pg/redact.ts).
 */
export const storeSettingsSchema = z
  .union([
    z.literal('sqlite'),
    z
      .object({
        postgres: z
          .string()
          .refine((u) => /^postgres(ql)?:\/\/[^\s]+$/.test(u) && URL.canParse(u), { message: 'expected a postgres://user:password@host:port/database URL' }),
        /** Deadline of one statement: past it the call fails (STORE_UNAVAILABLE, HTTP 503) and the connection is made again. */
        deadlineMs: z.number().int().min(100).max(600_000).default(5000),
        /** How long start-up waits for the first connection. */
        connectTimeoutMs: z.number().int().min(100).max(600_000).default(10_000),
      })
      .strict(),
  ])
  .default('sqlite');

/** The store setting, defaults applied. */
export type StoreSettings = z.infer<typeof storeSettingsSchema>;
