import { z } from 'zod';

/**
 * Timeouts and caps (issue #15): without them a few thousand idle or slow connections held every
 * socket. Slow clients are cut off by the headers/request timeouts, idle ones by the idle and
 * keep-alive timeouts; connections past the caps are closed as soon as they are accepted.
 */
export const httpLimitsSchema = z
  .object({
    /** Time to receive a request's headers (slowloris). */
    headersTimeoutMs: z.number().int().min(1000).max(600_000).default(10_000),
    /** Time to receive a whole request, body included (an 8 MiB import on a slow link fits). */
    requestTimeoutMs: z.number().int().min(1000).max(3_600_000).default(60_000),
    /** How long a kept-alive connection may wait for its next request. */
    keepAliveTimeoutMs: z.number().int().min(100).max(600_000).default(5_000),
    /** A connection with no traffic either way this long is closed (a stalled download too). */
    idleTimeoutMs: z.number().int().min(1000).max(3_600_000).default(60_000),
    /** Open connections per listener; further ones are closed at accept. */
    maxConnections: z.number().int().min(1).max(1_000_000).default(1024),
    /** Open connections per client address (0: no per-client cap); NAT'd labs may raise it. */
    maxConnectionsPerClient: z.number().int().min(0).max(1_000_000).default(64),
    /** Body size of routes that declare none (see BODY_LIMITS in src/http/limits.ts). */
    bodyLimitBytes: z.number().int().min(1024).max(1024 * 1024 * 1024).default(1024 * 1024),
  })
  .default({});

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
    /** Timeouts and connection caps of every HTTP listener (src/http/limits.ts applies them). */
    limits: httpLimitsSchema,
  })
  .default({});

export type HttpSettings = z.infer<typeof httpSettingsSchema>;

/** The `http.limits` settings. */
export type HttpLimits = z.infer<typeof httpLimitsSchema>;
