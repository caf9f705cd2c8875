import { z } from 'zod';

/** The management API listener: its own address and port, TLS unless turned off. */
export const apiSettingsSchema = z
  .object({
    host: z.string().default('0.0.0.0'),
    port: z.number().int().min(0).max(65535).default(8443),
    tls: z
      .object({
        /** Off only for a listener reached through a TLS-terminating proxy on the same host. */
        enabled: z.boolean().default(true),
        /** Operator-provided PEM files; without them a local CA and certificate are generated in `<dataDir>/tls/`. */
        certFile: z.string().optional(),
        keyFile: z.string().optional(),
        /** Extra DNS names or addresses for the generated certificate (this host's own are always in). */
        names: z.array(z.string().min(1).max(253)).default([]),
      })
      .strict()
      .default({}),
  })
  .strict()
  .default({});

/** Settings of the management API listener. */
export type ApiSettings = z.infer<typeof apiSettingsSchema>;
