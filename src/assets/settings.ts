import { z } from 'zod';
import { isAllowHostEntry } from './import-policy.js';

/**
 * Asset import settings section (`assets`): where POST /api/v1/assets may read from. Local
 * import is off until importDirs lists directories; URLs may reach public and private
 * (RFC 1918/ULA) addresses, loopback and link-local only through allowHosts, cloud metadata
 * endpoints never.
 */
export const assetImportSettingsSchema = z
  .object({
    /** Absolute directories whose regular files may be imported (symlinks must stay inside). */
    importDirs: z
      .array(
        z
          .string()
          .startsWith('/', 'an absolute directory')
          .refine((d) => d.replace(/\/+$/, '') !== '', 'the root directory cannot be an import directory')
          .refine((d) => !d.split('/').includes('..'), 'no .. segments'),
      )
      .default([]),
    /** Host names, IP addresses or CIDR blocks that may be fetched from even on loopback or link-local addresses. */
    allowHosts: z.array(z.string().refine(isAllowHostEntry, 'a host name, an IP address or a CIDR block')).default([]),
    /** Largest artifact an import may write (checked while streaming). */
    maxImportBytes: z
      .number()
      .int()
      .min(1)
      .max(2 ** 50)
      .default(8 * 1024 ** 3),
    /** A URL import fails when the mirror makes no progress (connect, headers or body) for this long. */
    fetchTimeoutMs: z.number().int().min(100).max(600_000).default(30_000),
    /** Redirects followed per URL import; every target is checked like the first URL. */
    maxRedirects: z.number().int().min(0).max(10).default(3),
  })
  .strict()
  .default({});

/** The asset import settings with defaults applied. */
export type AssetImportSettings = z.infer<typeof assetImportSettingsSchema>;
