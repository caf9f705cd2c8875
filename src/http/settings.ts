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
    /**
     * Lifetime of a boot's phone-home token. The installed OS keeps reporting on every boot with
     * the token its installer left on the disk, so it lives long (a year) by default.
     */
    reportTokenTtlSeconds: z.number().int().min(60).max(10 * 365 * 86_400).default(365 * 86_400),
    /**
     * Send asset bytes that are already in the page cache straight from a read-only mapping of
     * the file (native addon rackboot-mmap), one kernel copy instead of a read plus a write.
     * Off, or where the addon is not built, assets are read through reused buffers.
     */
    mapAssets: z.boolean().default(true),
    /** Extra kernel console args put into boot scripts. */
    consoleArgs: z.string().default('console=ttyS0,115200 console=tty0'),
  })
  .default({});

export type HttpSettings = z.infer<typeof httpSettingsSchema>;
