import { z } from 'zod';

const ipv4 = z.string().regex(/^(\d{1,3})(\.\d{1,3}){3}$/, 'an IPv4 address');

/** A subnet served in authoritative mode. */
export const dhcpSubnetSchema = z.object({
  /** CIDR, e.g. 198.18.0.0/24 */
  cidr: z.string().regex(/^(\d{1,3})(\.\d{1,3}){3}\/\d{1,2}$/, 'a CIDR such as 198.18.0.0/24'),
  poolStart: ipv4,
  poolEnd: ipv4,
  router: ipv4.optional(),
  dns: z.array(ipv4).default([]),
  domain: z.string().optional(),
  leaseSeconds: z.number().int().min(10).max(31_536_000).default(3600),
});

/** DHCP settings section. */
export const dhcpSettingsSchema = z
  .object({
    enabled: z.boolean().default(true),
    /** proxy: beside an existing DHCP server (no addresses); full: authoritative. */
    mode: z.enum(['proxy', 'full']).default('proxy'),
    /** Interfaces to serve on (names); empty = every non-loopback IPv4 interface, each on its own bound socket. */
    interfaces: z.array(z.string().min(1)).default([]),
    /** Address to bind (0.0.0.0 by default) and port (67; tests use others). */
    host: z.string().default('0.0.0.0'),
    port: z.number().int().min(0).max(65535).default(67),
    proxyPort: z.number().int().min(0).max(65535).default(4011),
    /** Our address as seen by clients: option 54 / siaddr / next-server. */
    serverAddress: ipv4.optional(),
    /**
     * ignore: answer registered MACs only (default); discover: lease + discovery boot (and group
     * enrollment); lease (full mode): an address without boot file and without machine row, for
     * the segment's other devices (BMCs, switch management ports), as Kea or dnsmasq serve them.
     */
    unknownMacs: z.enum(['ignore', 'discover', 'lease']).default('ignore'),
    /**
     * A MAC no machine has, sending (option 97) the SMBIOS UUID of a known machine: a NIC swap,
     * or someone claiming that machine's identity. confirm (default): not answered; listed among
     * the unknown MACs with the machine it claims, until an operator attaches the MAC
     * (`rackboot machines attach-mac`). auto: attached at once and answered as that machine (for
     * segments where every device is trusted; a claimed UUID is not proof).
     */
    nicSwap: z.enum(['confirm', 'auto']).default('confirm'),
    /**
     * `discover` mode: new machines admitted per second per relay (giaddr) or interface, and how
     * many at once (the bucket). Unknown MACs past it are not answered (stats.discoverLimited);
     * they retry, so a rack powering on is admitted over a few seconds.
     */
    discoverPerSecond: z.number().min(0.01).max(10_000).default(5),
    discoverBurst: z.number().int().min(1).max(100_000).default(50),
    /** UEFI x64 loader: ipxe.efi (full driver) or snponly.efi (firmware's NIC driver). */
    uefiLoader: z.enum(['ipxe.efi', 'snponly.efi']).default('ipxe.efi'),
    /** Answer PXE clients in proxy mode also with a full boot file in the offer (for edk2 firmware that ignores proxy offers without one). */
    proxyBootFileInOffer: z.boolean().default(true),
    subnets: z.array(dhcpSubnetSchema).default([]),
    /** Client port replies go to (68; only tests change it). */
    clientPort: z.number().int().min(1).max(65535).default(68),
    /** How long an offered address is held for the client's REQUEST. */
    offerHoldSeconds: z.number().int().min(1).max(3600).default(60),
    /** Quarantine of an address a client DECLINEd (RFC 2131 §4.3.3). */
    declineSeconds: z.number().int().min(1).max(31_536_000).default(3600),
    /**
     * Lease commits: at most one transaction per this many ms (0 = one per event-loop turn).
     * Replies wait for their commit, so this bounds the added latency.
     */
    commitIntervalMs: z.number().min(0).max(100).default(2),
    /**
     * Use the native/udp sockets when they are built (recvmmsg batches, no per-datagram
     * objects); false keeps Node's dgram, which works the same and costs about twice as much.
     */
    nativeSockets: z.boolean().default(true),
    /**
     * Overload shedding (native sockets): a request that waited longer than this in the socket
     * is dropped unanswered. Clients retransmit after 1-4 s; answering requests they have given
     * up on would only delay the fresh ones, so under overload the rate holds instead of
     * collapsing. 0 answers everything, however late.
     */
    maxQueueMs: z.number().int().min(0).max(60_000).default(500),
    /**
     * Overload shedding by type (native sockets): a DISCOVER that waited longer than this is
     * dropped before any REQUEST is (REQUESTs wait up to maxQueueMs), so above saturation the
     * server completes the exchanges it has started instead of starting ones it cannot finish
     * (shed.ts). Its clients retry as after any lost DISCOVER. Close to maxQueueMs, so a single
     * stall of the loop (a long commit) sheds nothing that would still have been answered. 0 turns it off.
     */
    shedDiscoverMs: z.number().int().min(0).max(60_000).default(400),
    /**
     * How lease commits reach the disk. normal: a commit survives a rackboot crash; an OS
     * crash or power loss can lose the last ones (SQLite synchronous=NORMAL in WAL mode).
     * fsync: every commit is fsynced before its ACK leaves (synchronous=FULL), so an ACKed
     * lease survives power loss, as Kea's memfile and ISC dhcpd promise; costs one fsync per
     * commit (commitIntervalMs groups leases into one commit). Applies to the whole database.
     */
    durability: z.enum(['normal', 'fsync']).default('normal'),
    /** How often expired leases are reclaimed and marked in the database. */
    reclaimSeconds: z.number().int().min(1).max(86_400).default(60),
  })
  .default({});

/** One authoritative subnet as configured. */
export type DhcpSubnet = z.infer<typeof dhcpSubnetSchema>;

export type DhcpSettings = z.infer<typeof dhcpSettingsSchema>;
