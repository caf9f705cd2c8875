import { z } from 'zod';

/** HTTP settings section. */
export const httpSettingsSchema = z
  .object({
    host: z.string().default('0.0.0.0'),
    port: z.number().int().min(0).max(65535).default(8080),
    /** Base URL machines use to reach us (http://198.18.0.1:8080); derived when absent. */
    publicUrl: z.string().url().optional(),
    /** Per-boot config token lifetime and how many uses it allows. */
    configTokenTtlSeconds: z.number().int().min(10).max(86_400).default(3600),
    configTokenUses: z.number().int().min(1).max(100).default(1),
    /** Extra kernel console args put into boot scripts. */
    consoleArgs: z.string().default('console=ttyS0,115200 console=tty0'),
  })
  .default({});

export type HttpSettings = z.infer<typeof httpSettingsSchema>;
