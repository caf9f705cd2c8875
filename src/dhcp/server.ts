import { isAppError } from '../errors.js';
import type { DiscoveredClient } from '../inventory/enroll.js';
import type { LeaseClaim } from '../inventory/lease-claim.js';
import type { LeaseClaimOutcome, LeaseClaimWrite, LeaseRecord } from '../inventory/leases.js';
import type { UnknownSighting } from '../inventory/unknown-macs.js';
import { WriteFailureLog } from '../inventory/write-failures.js';
import type { Logger } from '../log.js';
import { EVENT } from '../lifecycle/event-kinds.js';
import type { InterfaceInfo } from '../net/interfaces.js';
import { intToIp, ipToInt } from '../net/ipv4.js';
import { type Datagram, type UdpEndpoint, openUdp } from '../net/udp.js';
import { type GroupedWrite, TurnBatcher } from './batch.js';
import { DiscoverLimiter, discoverKey } from './discover-limit.js';
import { type HandlerContext, type HostInfo, type Outcome, STORE_DOWN, type SubnetRuntime, handleRequest, nakOutcome } from './handler.js';
import { HostDirectory } from './hosts.js';
import type { DhcpInventory } from './inventory.js';
import type { Lease } from './lease-table.js';
import { StoreOutage } from './outage.js';
import { type DhcpPacket, decodeDhcpPacket, encodeDhcpPacket } from './packet.js';
import { replyDestination } from './reply.js';
import { type DhcpRequest, messageTypeName, readRequest } from './request.js';
import type { DhcpSettings } from './settings.js';
import { shedsDiscover } from './shed.js';
import { sightedAddress } from './sighting.js';
import { leaseFromRecord, selectSubnet, subnetOf } from './subnets.js';

/** Counters (logged on close, read by tests). */
export interface DhcpStats {
  received: number;
  malformed: number;
  ignored: number;
  replied: number;
  errors: number;
  /**
   * Requests dropped because they waited too long in the socket (overload): longer than
   * maxQueueMs, or DISCOVERs longer than shedDiscoverMs (those are also in `shedDiscovers`).
   */
  stale: number;
  /** Unknown MACs not answered in discover mode: their relay/segment was over its rate. */
  discoverLimited: number;
}

/** Counters of a shared store (issue #20), logged on close. */
export interface DhcpStoreStats {
  /** ACKs withheld because the database gave the address to another client first (NAKed instead). */
  lostClaims: number;
  /** Requests not answered because the store was unreachable. */
  storeDown: number;
}

/** Everything the server needs; the composition happens in service.ts. */
export interface DhcpServerDeps {
  settings: DhcpSettings;
  /** The inventory as DHCP sees it (the SQLite Store, or a fake in unit tests). */
  store: DhcpInventory;
  log: Logger;
  publicUrl: string;
  subnets: SubnetRuntime[];
  interfaces: InterfaceInfo[];
  /** The in-memory inventory view shared with the lease tables' reservation checks. */
  hosts?: HostDirectory;
  clock?: () => number;
  /**
   * `unknownMacs: discover`: creates the machine of a new MAC and returns its id (issue #19:
   * inventory/enroll.ts matches it to a group). Default: a plain `discovered` machine.
   */
  enroll?: (client: DiscoveredClient) => number;
}

/** Receive → decode → look up → decide → commit → send. Never throws out of the receive path. */
export class DhcpServer {
  readonly stats: DhcpStats = { received: 0, malformed: 0, ignored: 0, replied: 0, errors: 0, stale: 0, discoverLimited: 0 };
  readonly storeStats: DhcpStoreStats = { lostClaims: 0, storeDown: 0 };
  /** Trace rows this server queued since it last flushed them. */
  private traceQueued = 0;
  /** DISCOVERs dropped by shedDiscoverMs (shed.ts), counted in stats.stale as well. */
  shedDiscovers = 0;
  private readonly endpoints: UdpEndpoint[] = [];
  private readonly hosts: HostDirectory;
  private readonly batch: TurnBatcher;
  /** ACKs' lease claims (issue #20), written together per batch. */
  private readonly leaseClaims: GroupedWrite<LeaseClaimWrite, LeaseClaimOutcome>;
  private readonly now: () => number;
  private readonly discoverLimit: DiscoverLimiter;
  /** Store outages (PostgreSQL unreachable): what the handler's storeDown follows. */
  readonly outage: StoreOutage;

  constructor(private readonly d: DhcpServerDeps) {
    this.discoverLimit = new DiscoverLimiter(d.settings.discoverPerSecond, d.settings.discoverBurst);
    this.hosts = d.hosts ?? new HostDirectory(d.store);
    this.batch = new TurnBatcher((fn) => d.store.transaction(fn), d.log, d.settings.commitIntervalMs);
    this.leaseClaims = { many: (w) => d.store.leases.claimBatch(w), one: (w) => d.store.leases.claimOne(w) };
    // A full disk fails every commit of a flood alike: one error line per interval, not per turn.
    const consequence = 'their ACKs and OFFERs are withheld';
    const failures = new WriteFailureLog({ log: d.log, what: 'dhcp leases and discovered machines', consequence, dbFile: d.store.file });
    this.now = d.clock ?? Date.now;
    this.outage = new StoreOutage({ log: d.log, probe: () => d.store.transaction(() => {}), recovered: () => this.resync() });
    this.batch.failures = {
      failed: (err, lost) => {
        this.outage.failed(err);
        // An outage has its own line (outage.ts): no error line per failed turn on top of it.
        if (!this.outage.down) failures.failed(err, lost);
      },
      succeeded: () => failures.succeeded(),
    };
  }

  /** Opens port 67 and the PXE port 4011 on every interface. */
  async listen(): Promise<void> {
    const s = this.d.settings;
    const onMessage = (dg: Datagram, ep: UdpEndpoint) => this.receive(dg, ep);
    const onSendError = (err: Error, address: string) => {
      this.stats.errors++;
      this.d.log.debug({ err, address }, 'dhcp send failed');
    };
    const onOversize = (from: { address: string; port: number }) => {
      this.stats.received++;
      this.stats.malformed++;
      this.d.log.debug({ from }, 'dhcp oversized datagram dropped');
    };
    const onStale = () => {
      this.stats.received++;
      // One warning per burst: every dropped request would flood the log exactly when overloaded.
      if (this.stats.stale++ % 10_000 === 0) this.d.log.warn({ stale: this.stats.stale, maxQueueMs: s.maxQueueMs }, 'dhcp overloaded: dropping requests that waited too long');
    };
    for (const iface of this.d.interfaces) {
      for (const port of [s.port, s.proxyPort]) {
        this.endpoints.push(
          await openUdp({ host: s.host, port, iface, broadcast: true, receiveBufferBytes: 8 << 20, native: s.nativeSockets, maxQueueMs: s.maxQueueMs, onMessage, onSendError, onOversize, onStale }),
        );
      }
    }
  }

  /** Lease/trace commits so far: count and time spent (the metrics' DB commit latency). */
  get commitStats(): { readonly commits: number; readonly commitMs: number; readonly maxCommitMs: number } {
    return this.batch.stats;
  }

  /** Local ports in use (tests bind port 0). */
  ports(): number[] {
    return this.endpoints.map((e) => e.port);
  }

  private receive(dg: Datagram, ep: UdpEndpoint): void {
    this.stats.received++;
    if (shedsDiscover(dg.data, dg.queuedMs, this.d.settings.shedDiscoverMs)) {
      // One warning per burst, as for the stale drops: the log must not grow with the overload.
      this.stats.stale++;
      if (this.shedDiscovers++ % 10_000 === 0) this.d.log.warn({ shed: this.shedDiscovers, shedDiscoverMs: this.d.settings.shedDiscoverMs }, 'dhcp overloaded: dropping DISCOVERs that waited too long (REQUESTs first)');
      return;
    }
    let req: DhcpRequest;
    try {
      req = readRequest(decodeDhcpPacket(dg.data));
    } catch (err) {
      this.stats.malformed++;
      if (isAppError(err, 'PROTOCOL')) this.d.log.debug({ from: dg.from, bytes: dg.data.length, why: err.message }, 'dhcp malformed packet dropped');
      else this.d.log.warn({ err }, 'dhcp decode failed');
      return;
    }
    try {
      this.handle(req, dg, ep);
    } catch (err) {
      this.stats.errors++;
      this.d.log.error({ err, mac: req.mac, xid: req.packet.xid }, 'dhcp handler failed');
    }
  }

  private handle(req: DhcpRequest, dg: Datagram, ep: UdpEndpoint): void {
    const s = this.d.settings;
    const now = this.now();
    let host: HostInfo | null = this.hosts.lookup(req.mac, now);
    // Child logger per packet (mac, xid, iface), built only when debug lines will be written.
    const log = this.d.log.isLevelEnabled('debug') ? this.d.log.child({ mac: req.mac, xid: req.packet.xid, iface: ep.iface?.name }) : this.d.log;
    // Issue #19: an unknown MAC whose option 97 UUID names a machine is a NIC swap, or someone
    // claiming that machine. `nicSwap: auto` attaches the MAC (in the batch, before the reply
    // leaves); by default the claim waits, unanswered, for an operator to attach the MAC.
    let attach = false;
    const claimed = !host && req.uuid !== undefined ? this.hosts.lookupByUuid(req.uuid, now) : null;
    if (claimed && s.nicSwap === 'auto') {
      host = claimed;
      attach = true;
    } else if (claimed) {
      this.refuseClaim(req, ep, claimed, now, log);
      return;
    }
    const discovering = !host && s.unknownMacs === 'discover';
    // `lease` (full mode): other devices of the segment get an address, no boot file, no machine row.
    const leasing = !host && s.unknownMacs === 'lease' && s.mode === 'full';
    if (!host && leasing) host = LEASE_ONLY;
    if (!host) {
      if (!discovering) {
        this.stats.ignored++;
        log.debug({ type: messageTypeName(req.type) }, 'dhcp unknown mac ignored');
        this.d.store.unknownMacs.noteSoon(unknownSighting(req, now));
        return;
      }
      if (!this.discoverLimit.take(discoverKey(req.packet.giaddr, ep.iface?.name), now)) {
        this.stats.discoverLimited++;
        log.debug({ type: messageTypeName(req.type), giaddr: req.packet.giaddr, limited: this.stats.discoverLimited }, 'dhcp discovery over its rate: not answered');
        return;
      }
      host = { machineId: null, reservedIp: null, profile: null, discovered: true };
    }
    if (s.mode === 'proxy' && !discovering) {
      // Boot identity binding: in proxy mode rackboot has no leases, so remember where the MAC was seen.
      const seen = sightedAddress(req, dg.from);
      if (seen) this.d.store.sightings.note(req.mac, seen, now);
    }
    const pxePort = dg.port === s.proxyPort && dg.port !== s.port;
    const ctx: HandlerContext = {
      mode: s.mode,
      serverId: this.serverIdFor(ep),
      pxePort,
      subnet: s.mode === 'full' ? selectSubnet(this.d.subnets, req, ep.iface) : undefined,
      uefiLoader: s.uefiLoader,
      publicUrl: this.d.publicUrl,
      bootInOffer: s.proxyBootFileInOffer,
      now,
      offerHoldMs: s.offerHoldSeconds * 1000,
      declineMs: s.declineSeconds * 1000,
      storeDown: this.outage.down,
    };
    const out = handleRequest(req, host, ctx);
    // While the store is unreachable nothing is written: a reply that needs a write (a
    // discovered machine, an attached MAC, a release or decline) waits for the store, unanswered.
    const needsWrite = out.persist !== undefined || discovering || attach;
    if (out.kind && needsWrite && this.outage.down) {
      if (out.persist) subnetOf(this.d.subnets, out.persist.ip)?.table.unstored(out.persist, now);
      out.kind = null;
      out.drop = STORE_DOWN;
    }
    if (!out.kind) {
      this.stats.ignored++;
      if (out.drop === STORE_DOWN) {
        this.storeStats.storeDown++;
        this.outage.noteUnanswered();
      }
      log.debug({ type: messageTypeName(req.type), why: out.drop }, 'dhcp request not answered');
      return;
    }
    const claim = out.persist ? leaseClaim(out.persist, req, host) : undefined;
    this.commitAndSend(req, out, ep, dg, log, discovering ? null : host.machineId, leasing ? 'lease' : attach ? 'attach' : undefined, claim);
  }

  /**
   * `machineId` null means an unknown MAC being discovered (the machine is created in the batch),
   * unless `special` is `lease` (no machine at all); `attach`: the MAC joins machineId first.
   */
  private commitAndSend(
    req: DhcpRequest,
    out: Outcome,
    ep: UdpEndpoint,
    dg: Datagram,
    log: Logger,
    machineId: number | null,
    special?: 'lease' | 'attach',
    claim?: LeaseClaim,
  ): void {
    const store = this.d.store;
    const persist = out.persist;
    const detail = {
      xid: req.packet.xid,
      arch: req.arch ?? null,
      bootFile: out.boot?.bootFile ?? null,
      yiaddr: out.yiaddr ?? null,
      mode: this.d.settings.mode,
      iface: ep.iface?.name ?? null,
      // Option 82 on every exchange, known and unknown MACs (issue #19: groups select on it).
      ...(req.relay ? { relay: { giaddr: req.packet.giaddr, circuitId: req.relay.circuitId ?? null, remoteId: req.relay.remoteId ?? null } } : {}),
      ...(out.drop ? { why: out.drop } : {}),
      ...(dg.port === this.d.settings.proxyPort ? { port: dg.port } : {}),
    };
    const sendPacket = (reply: DhcpPacket, kind: Outcome['kind']) => {
      // Replies to 4011 go back where the request came from (PXE spec 2.1 §2.2.5).
      const dest = dg.port === this.d.settings.proxyPort ? { address: dg.from.address, port: dg.from.port } : replyDestination(req, reply.options.get(53)![0]!, { server: 67, client: this.d.settings.clientPort });
      ep.send(encodeDhcpPacket(reply), dest.address, dest.port);
      this.stats.replied++;
      log.debug({ kind, yiaddr: out.yiaddr, bootFile: out.boot?.bootFile, to: dest.address }, 'dhcp reply sent');
    };
    const reply = out.reply;
    const send = reply ? () => sendPacket(reply, out.kind) : undefined;
    // The trace row is queued (EventRepo.addSoon): it is written with the other rows of the
    // next ~100 ms, so the OFFER and ACK of one exchange share their index page.
    const record = (id: number | null, kind = out.kind!, rowDetail: Record<string, unknown> = detail) => {
      store.events.addSoon({ mac: req.mac, machineId: id, source: 'dhcp', kind, detail: rowDetail });
      // Under load the trace is written every TRACE_CHUNK rows rather than by its 100 ms timer:
      // thousands of rows at once stall the loop, requests queue meanwhile, and their replies
      // then leave in one burst that overflows a relay's receive buffer.
      if (++this.traceQueued < TRACE_CHUNK) return;
      this.traceQueued = 0;
      try {
        store.events.flush();
      } catch (err) {
        // The rows stay queued in EventRepo; a lost store is the outage's to report.
        this.outage.failed(err);
        if (!this.outage.down) log.error({ err }, 'dhcp trace flush failed');
      }
    };
    // Only a lease change (or a machine created by discovery) must be on disk before the reply
    // leaves: an ACK promises the address (RFC 2131 §4.3.2). An OFFER promises nothing (§4.3.1:
    // the address need not be reserved), so it leaves at once.
    if (!persist && (machineId !== null || special === 'lease') && special !== 'attach') {
      send?.();
      record(machineId);
      return;
    }
    let id = machineId;
    const table = persist ? subnetOf(this.d.subnets, persist.ip)?.table : undefined;
    // Issue #20: the lease write is a claim the database may refuse (another appliance's ACK
    // took the address first); then it returns the row that won (null if there is none).
    // The claim joins the turn's other claims (one statement on PostgreSQL: leaseClaims).
    const write = (): LeaseClaimWrite | undefined => {
      if (special === 'attach' && machineId !== null && store.machines.attachMac(machineId, req.mac)) {
        store.events.addSoon({ mac: req.mac, machineId, source: 'dhcp', kind: EVENT.machineMacAttached, detail: { by: 'uuid', uuid: req.uuid ?? null, nicSwap: 'auto' } });
      }
      id = machineId ?? (special === 'lease' ? null : this.recordDiscovered(req, ep));
      if (!persist || !claim) return undefined;
      const now = this.now();
      return { lease: toRecord(persist, now), claim, now };
    };
    const committed = (claimed: LeaseClaimOutcome | undefined) => {
      if (persist && claimed && !claimed.won) {
        this.lostClaim(req, out, persist, claimed.holder ?? null, table, log);
        if (out.kind === 'dhcp.ack') {
          const why = `address ${intToIp(persist.ip)} was just given to another client`;
          sendPacket(nakOutcome(req, this.serverIdFor(ep), why).reply!, 'dhcp.nak');
          record(id, 'dhcp.nak', { ...detail, why });
        }
        return;
      }
      if (persist) table?.stored(persist);
      send?.();
      record(id);
    };
    this.batch.addGrouped(this.leaseClaims, write, committed, () => {
      if (persist) table?.unstored(persist, this.now());
    });
  }

  /** Option 54 for replies sent on `ep`: the setting, else the interface's first address. */
  private serverIdFor(ep: UdpEndpoint): string {
    return this.d.settings.serverAddress ?? ep.iface?.ipv4[0]?.address ?? '0.0.0.0';
  }

  /** Another client holds the address in the database: memory learns the row that won. */
  private lostClaim(req: DhcpRequest, out: Outcome, persist: Lease, won: LeaseRecord | null, table: SubnetRuntime['table'] | undefined, log: Logger): void {
    this.storeStats.lostClaims++;
    if (won) table?.load(leaseFromRecord(won));
    else table?.unstored(persist, this.now());
    log.debug({ kind: out.kind, ip: intToIp(persist.ip), client: req.clientKey, holder: won?.clientId }, 'dhcp lease claim lost: the address is another client\'s');
  }

  /**
   * Reloads every stored lease into the lease tables (after a store outage, or when
   * notifications were missed): the database's rows replace what memory held for them.
   */
  resync(): void {
    // Hosts first: their reload happens at the next lookup and is retried there, so a failed
    // lease read (the store not back yet) does not leave missed machine changes unread.
    this.hosts.invalidate();
    const rows = this.d.store.leases.all();
    for (const r of rows) this.applyStoredLease(r);
  }

  /** A lease row the database holds now (a notification, a resync) replaces memory's binding. */
  applyStoredLease(r: LeaseRecord): void {
    subnetOf(this.d.subnets, ipToInt(r.ip))?.table.load(leaseFromRecord(r));
  }

  /** Machines another appliance changed: their hosts are reloaded at the next packet. */
  invalidateMachines(ids: number[]): void {
    this.hosts.invalidate(ids);
  }

  /**
   * A claimed identity waiting for an operator: the sighting (with the UUID) is listed among the
   * unknown MACs, and a `machine.identity-claim` event (at most the discovery rate per segment;
   * source `identity`, so it shows in the claimed machine's trace, not only the MAC's) says so.
   */
  private refuseClaim(req: DhcpRequest, ep: UdpEndpoint, claimed: HostInfo, now: number, log: Logger): void {
    this.stats.ignored++;
    this.d.store.unknownMacs.noteSoon(unknownSighting(req, now));
    log.debug({ type: messageTypeName(req.type), uuid: req.uuid, machineId: claimed.machineId }, 'dhcp unknown mac claims a known machine uuid: not answered (nicSwap: confirm)');
    if (claimed.machineId === null || !this.discoverLimit.take(discoverKey(req.packet.giaddr, ep.iface?.name), now)) return;
    this.d.store.events.addSoon({ mac: req.mac, machineId: claimed.machineId, source: 'identity', kind: EVENT.machineIdentityClaim, detail: { via: 'dhcp', by: 'uuid', uuid: req.uuid ?? null, giaddr: req.packet.giaddr, iface: ep.iface?.name ?? null, action: 'refused: confirm with rackboot machines attach-mac' } });
  }

  /** `unknownMacs: discover`: the MAC becomes a `discovered` machine with what the packet told us. */
  private recordDiscovered(req: DhcpRequest, ep: UdpEndpoint): number {
    const store = this.d.store;
    if (this.d.enroll) return this.d.enroll(discoveredClient(req, ep));
    const known = store.machines.findByMac(req.mac);
    if (known) return known.id;
    return store.machines.create({
      name: `discovered-${req.mac.replaceAll(':', '')}`,
      macs: [req.mac],
      state: 'discovered',
      facts: {
        arch: req.arch ?? null,
        vendorClass: req.vendorClass ?? null,
        relayAgent: req.relay ? { circuitId: req.relay.circuitId ?? null, remoteId: req.relay.remoteId ?? null } : null,
        ...(req.uuid ? { uuid: req.uuid } : {}),
      },
    }).id;
  }

  /** Persists expired leases as such (their addresses are already free in memory). */
  reclaim(): number {
    const now = this.now();
    const expired = this.d.subnets.flatMap((s) => s.table.reclaim(now));
    if (expired.length) this.batch.add(() => this.d.store.leases.expire(now));
    return expired.length;
  }

  /** Stops listening and commits what is pending. */
  async close(): Promise<void> {
    this.outage.close();
    // Pending writes commit and their replies leave while the sockets are still open.
    this.batch.close();
    await Promise.all(this.endpoints.map((e) => e.close()));
    this.d.log.info({ ...this.stats, ...this.storeStats, shedDiscovers: this.shedDiscovers, ...this.batch.stats }, 'dhcp stopped');
  }
}

/** Trace rows written together under load (about 15 ms of traffic at 8,000 DORA/s). */
const TRACE_CHUNK = 256;

/** The host of an unknown MAC under `unknownMacs: lease`: an address, never a boot file. */
const LEASE_ONLY: HostInfo = { machineId: null, reservedIp: null, profile: null, discovered: false, leaseOnly: true };

/** What a discovery request tells the enrollment (groups match on MAC, UUID, option 82, segment). */
function discoveredClient(req: DhcpRequest, ep: UdpEndpoint): DiscoveredClient {
  const giaddr = req.packet.giaddr;
  return {
    mac: req.mac,
    uuid: req.uuid,
    arch: req.arch ?? null,
    vendorClass: req.vendorClass ?? null,
    circuitId: req.relay?.circuitId,
    remoteId: req.relay?.remoteId,
    address: giaddr !== '0.0.0.0' ? giaddr : req.packet.ciaddr !== '0.0.0.0' ? req.packet.ciaddr : ep.iface?.ipv4[0]?.address,
  };
}

/** What an ignored request from an unknown MAC tells the "seen but unknown" table. */
function unknownSighting(req: DhcpRequest, at: number): UnknownSighting {
  const giaddr = req.packet.giaddr;
  return {
    mac: req.mac,
    arch: req.arch ?? null,
    vendorClass: req.vendorClass ?? null,
    messageType: messageTypeName(req.type),
    giaddr: giaddr === '0.0.0.0' ? null : giaddr,
    circuitId: req.relay?.circuitId ?? null,
    remoteId: req.relay?.remoteId ?? null,
    uuid: req.uuid ?? null,
    at,
  };
}

/**
 * Whose lease a write is (lease-claim.ts): a decline's row carries `declined:<key>`, but the
 * address is the declining client's until then.
 */
function leaseClaim(l: Lease, req: DhcpRequest, host: HostInfo): LeaseClaim {
  const owner = l.state === 'declined' && l.clientKey.startsWith('declined:') ? l.clientKey.slice('declined:'.length) : l.clientKey;
  return { owner, mac: l.mac, reserved: host.reservedIp !== null && ipToInt(host.reservedIp) === l.ip && l.mac === req.mac };
}

function toRecord(l: Lease, now: number) {
  return {
    ip: intToIp(l.ip),
    mac: l.mac,
    clientId: l.clientKey,
    hostname: l.hostname,
    state: l.state === 'offered' ? ('active' as const) : l.state,
    expiresAt: l.expiresAt,
    updatedAt: now,
  };
}
