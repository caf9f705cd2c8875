import { z } from 'zod';

/** TFTP settings section. */
export const tftpSettingsSchema = z
  .object({
    enabled: z.boolean().default(true),
    /** Listen address; 0.0.0.0 binds every local IPv4 address separately (so replies leave from the address asked). */
    host: z.string().default('0.0.0.0'),
    port: z.number().int().min(0).max(65535).default(69),
    /** Largest blksize granted (RFC 2348); default fits a 1500-byte MTU path. */
    maxBlksize: z.number().int().min(8).max(65464).default(1468),
    maxWindowsize: z.number().int().min(1).max(65535).default(64),
    maxTransfers: z.number().int().min(1).max(100_000).default(1000),
    /**
     * Transfers one client address may have in progress; its further requests are dropped (a
     * debug line and stats.clientLimited), so one host cannot hold every slot with RRQs it never
     * ACKs. PXE firmware fetches one file at a time; iPXE at most a few.
     */
    maxTransfersPerClient: z.number().int().min(1).max(100_000).default(4),
    retries: z.number().int().min(1).max(50).default(6),
    /** Default retransmit timeout in seconds when the client does not ask (RFC 2349). */
    timeoutSeconds: z.number().int().min(1).max(255).default(1),
    /** Cap of the doubling retransmit timeout (exponential backoff). */
    maxTimeoutSeconds: z.number().int().min(1).max(255).default(8),
    /** Bytes read ahead of the client per transfer (at least two windows are kept). */
    readAheadBytes: z.number().int().min(65536).max(64 * 1024 * 1024).default(512 * 1024),
    /** Largest dynamic file buffered to learn its size when the client asks for tsize. */
    maxBufferedHandlerBytes: z.number().int().min(0).max(256 * 1024 * 1024).default(8 * 1024 * 1024),
    /**
     * Send files from the root (octet mode) through the native data path (native/tftp: one
     * event-loop thread for every transfer) where the addon is built; false keeps every transfer
     * on node:dgram (same protocol, slower).
     */
    nativeTransfers: z.boolean().default(true),
  })
  .default({});

export type TftpSettings = z.infer<typeof tftpSettingsSchema>;
