import { inCidr, intToIp, ipToInt } from '../net/ipv4.js';
import { type BootDecision, type DhcpMode, chooseBoot } from './boot-policy.js';
import type { Lease, LeaseClient, LeaseTable } from './lease-table.js';
import { MSG } from './options.js';
import type { DhcpPacket } from './packet.js';
import { type SubnetParams, buildReply } from './reply.js';
import type { DhcpRequest } from './request.js';

/** What the inventory says about the client's MAC. */
export interface HostInfo {
  machineId: number | null;
  /** The machine's fixed address (inventory machines.ipv4). */
  reservedIp: string | null;
  profile: { boot: 'network' | 'disk'; chain: 'ipxe' | 'secureboot' } | null;
  /** An unknown MAC admitted by `unknownMacs: discover` (recorded as a discovered machine). */
  discovered: boolean;
  /** An unknown MAC under `unknownMacs: lease` (a BMC, a switch port): an address, never a boot file. */
  leaseOnly?: boolean;
}

/** A configured subnet at run time: its parameters and its lease table. */
export interface SubnetRuntime {
  params: SubnetParams;
  table: LeaseTable;
}

/** Per-packet context from the server: mode, identity, the chosen subnet and the time. */
export interface HandlerContext {
  mode: DhcpMode;
  /** Option 54 / siaddr. */
  serverId: string;
  /** Arrived on the PXE boot-server port 4011 rather than 67. */
  pxePort: boolean;
  subnet: SubnetRuntime | undefined;
  uefiLoader: 'ipxe.efi' | 'snponly.efi';
  publicUrl: string;
  bootInOffer: boolean;
  now: number;
  offerHoldMs: number;
  declineMs: number;
  /**
   * The shared store (PostgreSQL) cannot be reached (issue #20): nothing new is promised. A
   * client whose stored lease is still running is offered and ACKed that address for the time
   * the stored lease has left (no write, so nothing ACKed can be lost); anyone else is not
   * answered and retransmits until the store is back.
   */
  storeDown?: boolean;
}

/** Event kinds of the boot trace (other subsystems read phases from these names). */
export type DhcpEventKind =
  | 'dhcp.offer'
  | 'dhcp.ack'
  | 'dhcp.nak'
  | 'dhcp.proxy-offer'
  | 'dhcp.decline'
  | 'dhcp.release'
  | 'dhcp.inform';

/** The handler's verdict: what to persist, what to record, what to send. */
export interface Outcome {
  kind: DhcpEventKind | null;
  reply: DhcpPacket | null;
  yiaddr?: string;
  boot?: BootDecision;
  /** A lease change that must be committed before the reply leaves. */
  persist?: Lease;
  /** Why nothing was done (debug log). */
  drop?: string;
}

const dropped = (why: string): Outcome => ({ kind: null, reply: null, drop: why });

function bootFor(req: DhcpRequest, host: HostInfo, ctx: HandlerContext): BootDecision | undefined {
  if (host.leaseOnly) return undefined;
  const r = chooseBoot({
    mode: ctx.mode,
    mac: req.mac,
    isPxe: req.isPxe,
    isHttpBoot: req.isHttpBoot,
    isIpxe: req.isIpxe,
    profile: host.profile,
    uefiLoader: ctx.uefiLoader,
    publicUrl: ctx.publicUrl,
    ...(req.arch !== undefined ? { arch: req.arch } : {}),
  });
  return r.ok ? r.boot : undefined;
}

function leaseClient(req: DhcpRequest, host: HostInfo, sub: SubnetRuntime): LeaseClient {
  const c: LeaseClient = { clientKey: req.clientKey, mac: req.mac, hostname: req.hostname ?? null, machineId: host.machineId };
  if (host.reservedIp) {
    const ip = ipToInt(host.reservedIp);
    if (inCidr(sub.table.cidr, ip)) c.reservedIp = ip;
  }
  return c;
}

/** ProxyDHCP (PXE spec 2.1 §2.2.3): boot information only, yiaddr 0, never an address. */
function proxy(req: DhcpRequest, host: HostInfo, ctx: HandlerContext): Outcome {
  if (host.leaseOnly) return dropped('lease-only-in-proxy-mode');
  const wantsBoot = ctx.pxePort ? req.type === MSG.REQUEST || req.type === MSG.INFORM : req.type === MSG.DISCOVER;
  if (!wantsBoot) return dropped(ctx.pxePort ? 'not-a-boot-request' : 'proxy-answers-discover-only');
  const boot = bootFor(req, host, ctx);
  if (!boot) return dropped('no-boot-file');
  // On 4011 the client asks for its boot file explicitly: always put it in the ACK.
  const type = ctx.pxePort ? MSG.ACK : MSG.OFFER;
  const bootInOffer = ctx.pxePort || ctx.bootInOffer;
  const reply = buildReply(req, { type, serverId: ctx.serverId, mode: 'proxy', boot, bootInOffer });
  return { kind: 'dhcp.proxy-offer', reply, boot };
}

/** An OFFER or ACK carrying an address with the subnet's options and the boot decision. */
function addressReply(req: DhcpRequest, host: HostInfo, ctx: HandlerContext, sub: SubnetRuntime, type: number, ip: number, leaseSeconds = sub.params.leaseSeconds) {
  const boot = bootFor(req, host, ctx);
  const yiaddr = intToIp(ip);
  const reply = buildReply(req, {
    type,
    serverId: ctx.serverId,
    mode: 'full',
    yiaddr,
    leaseSeconds,
    subnet: sub.params,
    ...(boot ? { boot } : {}),
  });
  return { reply, yiaddr, boot };
}

function discover(req: DhcpRequest, host: HostInfo, ctx: HandlerContext, sub: SubnetRuntime): Outcome {
  const c = leaseClient(req, host, sub);
  const ip = sub.table.pick(c, req.requestedIp ? ipToInt(req.requestedIp) : undefined, ctx.now);
  if (ip === undefined) return dropped('pool-exhausted');
  if (ctx.storeDown && storedSeconds(sub, c, ip, ctx.now) === undefined) return dropped(STORE_DOWN);
  sub.table.hold(c, ip, ctx.now, ctx.offerHoldMs);
  const { reply, yiaddr, boot } = addressReply(req, host, ctx, sub, MSG.OFFER, ip);
  return { kind: 'dhcp.offer', reply, yiaddr, ...(boot ? { boot } : {}) };
}

/** Why a request is not answered while the store is unreachable. */
export const STORE_DOWN = 'store-unavailable: no new address until it is back';

/** Whole seconds the client's stored lease on `ip` has left (at least one), if it has one. */
function storedSeconds(sub: SubnetRuntime, c: LeaseClient, ip: number, now: number): number | undefined {
  const until = sub.table.committedFor(c, ip, now);
  const s = until === undefined ? 0 : Math.floor((until - now) / 1000);
  return s >= 1 ? s : undefined;
}

/** A NAK naming why (also sent by the server when another appliance's ACK won the address). */
export function nakOutcome(req: DhcpRequest, serverId: string, why: string): Outcome {
  return { kind: 'dhcp.nak', reply: buildReply(req, { type: MSG.NAK, serverId, mode: 'full', message: why }), drop: why };
}

const nak = (req: DhcpRequest, ctx: HandlerContext, why: string): Outcome => nakOutcome(req, ctx.serverId, why);

/** REQUEST in its four states (RFC 2131 §4.3.2): selecting, init-reboot, renewing, rebinding. */
function request(req: DhcpRequest, host: HostInfo, ctx: HandlerContext, sub: SubnetRuntime): Outcome {
  const c = leaseClient(req, host, sub);
  const p = req.packet;
  let ip: number;
  if (req.serverId !== undefined) {
    if (req.serverId !== ctx.serverId) {
      // SELECTING another server's offer: forget ours and stay silent.
      const held = sub.table.leaseOf(c.clientKey);
      if (held?.state === 'offered') sub.table.release(c, held.ip, ctx.now);
      return dropped('request-for-another-server');
    }
    if (!req.requestedIp) return dropped('selecting-without-requested-ip');
    ip = ipToInt(req.requestedIp);
  } else if (req.requestedIp) {
    ip = ipToInt(req.requestedIp); // INIT-REBOOT
  } else if (p.ciaddr !== '0.0.0.0') {
    ip = ipToInt(p.ciaddr); // RENEWING (unicast) or REBINDING (broadcast)
  } else {
    return dropped('request-without-address');
  }
  const refusal = sub.table.check(c, ip, ctx.now);
  if (refusal) return nak(req, ctx, `address ${intToIp(ip)} refused: ${refusal}`);
  if (ctx.storeDown) {
    // Renewed from memory for what the stored lease has left: nothing is written or promised beyond it.
    const left = storedSeconds(sub, c, ip, ctx.now);
    if (left === undefined) return dropped(STORE_DOWN);
    const { reply, yiaddr, boot } = addressReply(req, host, ctx, sub, MSG.ACK, ip, left);
    return { kind: 'dhcp.ack', reply, yiaddr, ...(boot ? { boot } : {}) };
  }
  const lease = sub.table.commit(c, ip, ctx.now + sub.params.leaseSeconds * 1000);
  const { reply, yiaddr, boot } = addressReply(req, host, ctx, sub, MSG.ACK, ip);
  return { kind: 'dhcp.ack', reply, yiaddr, persist: lease, ...(boot ? { boot } : {}) };
}

function otherServer(req: DhcpRequest, ctx: HandlerContext): boolean {
  return req.serverId !== undefined && req.serverId !== ctx.serverId;
}

/** Authoritative mode. */
function full(req: DhcpRequest, host: HostInfo, ctx: HandlerContext): Outcome {
  const sub = ctx.subnet;
  if (!sub) return dropped('no-subnet-for-client');
  const c = () => leaseClient(req, host, sub);
  switch (req.type) {
    case MSG.DISCOVER:
      return discover(req, host, ctx, sub);
    case MSG.REQUEST:
      return request(req, host, ctx, sub);
    case MSG.DECLINE: {
      if (otherServer(req, ctx) || !req.requestedIp) return dropped('decline-not-for-us');
      const q = sub.table.decline(c(), ipToInt(req.requestedIp), ctx.now + ctx.declineMs);
      return q ? { kind: 'dhcp.decline', reply: null, yiaddr: req.requestedIp, persist: q } : dropped('decline-unknown-lease');
    }
    case MSG.RELEASE: {
      if (otherServer(req, ctx)) return dropped('release-not-for-us');
      const l = sub.table.release(c(), ipToInt(req.packet.ciaddr), ctx.now);
      return l ? { kind: 'dhcp.release', reply: null, yiaddr: req.packet.ciaddr, persist: l } : dropped('release-unknown-lease');
    }
    case MSG.INFORM: {
      // RFC 2131 §4.3.5: configuration only, no yiaddr and no lease time.
      const boot = bootFor(req, host, ctx);
      const reply = buildReply(req, { type: MSG.ACK, serverId: ctx.serverId, mode: 'full', subnet: sub.params, ...(boot ? { boot } : {}) });
      return { kind: 'dhcp.inform', reply, ...(boot ? { boot } : {}) };
    }
    default:
      return dropped('unexpected-message-type');
  }
}

/** Decides what to do with one client message. Pure apart from the in-memory lease table. */
export function handleRequest(req: DhcpRequest, host: HostInfo, ctx: HandlerContext): Outcome {
  if (ctx.mode === 'proxy' || ctx.pxePort) return proxy(req, host, ctx);
  return full(req, host, ctx);
}
