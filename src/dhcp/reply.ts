import type { BootDecision, DhcpMode } from './boot-policy.js';
import { MSG, OPT, PXE_SUBOPT, ipListOption, ipOption, u32Option, writeSubOptions } from './options.js';
import { BOOTREPLY, type DhcpPacket, FLAG_BROADCAST } from './packet.js';
import type { DhcpRequest } from './request.js';

/** Network parameters of the subnet a reply is for. */
export interface SubnetParams {
  mask: string;
  broadcast: string;
  router?: string;
  dns: string[];
  domain?: string;
  leaseSeconds: number;
}

/** What the handler decided to answer. */
export interface ReplySpec {
  type: number;
  serverId: string;
  mode: DhcpMode;
  yiaddr?: string;
  /** Lease length; omitted for INFORM and proxy replies (RFC 2131 §4.3.5). */
  leaseSeconds?: number;
  subnet?: SubnetParams;
  boot?: BootDecision;
  /** Proxy offers: put file and PXE_DISCOVERY_CONTROL in the offer (see settings.proxyBootFileInOffer). */
  bootInOffer?: boolean;
  message?: string;
}

const ZERO = '0.0.0.0';

/**
 * PXE spec 2.1 §2.4.1 sub-option 6 bit 3: "boot file name in the offer, skip boot server
 * discovery". Without it edk2 files the offer as BINL and asks again on UDP 4011.
 */
const PXE_DISCOVERY_USE_FILE = writeSubOptions([[PXE_SUBOPT.DISCOVERY_CONTROL, Buffer.from([8])]], true);

/**
 * Option values that repeat in every reply (server id, subnet options, lease times), encoded
 * once. The encoder only copies from them; nothing writes into a reply's option values.
 */
const encoded = new Map<string, Buffer>();
function once(key: string, make: () => Buffer): Buffer {
  let b = encoded.get(key);
  if (!b) {
    if (encoded.size >= 4096) encoded.clear();
    b = make();
    encoded.set(key, b);
  }
  return b;
}
const ipOnce = (ip: string) => once(`ip:${ip}`, () => ipOption(ip));
const u32Once = (n: number) => once(`u32:${n}`, () => u32Option(n));
const textOnce = (t: string) => once(`txt:${t}`, () => Buffer.from(t, 'latin1'));

function addSubnetOptions(o: Map<number, Buffer>, s: SubnetParams): void {
  o.set(OPT.SUBNET_MASK, ipOnce(s.mask));
  if (s.router) o.set(OPT.ROUTER, ipOnce(s.router));
  if (s.dns.length) o.set(OPT.DNS, once(`ips:${s.dns.join(',')}`, () => ipListOption(s.dns)));
  if (s.domain) o.set(OPT.DOMAIN, textOnce(s.domain));
  o.set(OPT.BROADCAST, ipOnce(s.broadcast));
}

function addBootOptions(o: Map<number, Buffer>, req: DhcpRequest, boot: BootDecision): void {
  o.set(OPT.VENDOR_CLASS, textOnce(boot.vendorClass));
  // Plain PXE ROMs (not iPXE, not HTTP boot) get the discovery-control hint in option 43.
  if (boot.vendorClass === 'PXEClient' && !req.isIpxe) o.set(OPT.VENDOR_SPECIFIC, PXE_DISCOVERY_USE_FILE);
  const asked = req.packet.options.get(OPT.PARAM_LIST);
  // Option 67 only on request or when the name does not fit the 128-byte file field (RFC 2132 §9.5).
  if (boot.bootFile.length > 127 || asked?.includes(OPT.BOOTFILE)) o.set(OPT.BOOTFILE, Buffer.from(boot.bootFile, 'latin1'));
}

/** Builds the reply packet (RFC 2131 §4.3.1 table 3 for the header fields). */
export function buildReply(req: DhcpRequest, spec: ReplySpec): DhcpPacket {
  const p = req.packet;
  const o = new Map<number, Buffer>();
  o.set(OPT.MESSAGE_TYPE, once(`msg:${spec.type}`, () => Buffer.from([spec.type])));
  o.set(OPT.SERVER_ID, ipOnce(spec.serverId));
  if (spec.message) o.set(OPT.MESSAGE, Buffer.from(spec.message, 'latin1'));
  const nak = spec.type === MSG.NAK;
  if (spec.leaseSeconds !== undefined) {
    o.set(OPT.LEASE_TIME, u32Once(spec.leaseSeconds));
    o.set(OPT.RENEWAL_T1, u32Once(Math.floor(spec.leaseSeconds / 2)));
    o.set(OPT.REBINDING_T2, u32Once(Math.floor((spec.leaseSeconds * 7) / 8)));
  }
  if (spec.subnet && !nak) addSubnetOptions(o, spec.subnet);
  const bootVisible = spec.boot && (spec.mode === 'full' || spec.bootInOffer !== false);
  if (spec.boot && bootVisible) addBootOptions(o, req, spec.boot);
  // ProxyDHCP without the file in the offer: option 60 alone sends the client to port 4011.
  else if (spec.boot) o.set(OPT.VENDOR_CLASS, textOnce(spec.boot.vendorClass));
  // RFC 6842: echo the client identifier; RFC 3046 §2.2: echo the relay agent option.
  const cid = p.options.get(OPT.CLIENT_ID);
  if (cid) o.set(OPT.CLIENT_ID, cid);
  const relay = p.options.get(OPT.RELAY_AGENT);
  if (relay && p.giaddr !== ZERO) o.set(OPT.RELAY_AGENT, relay);
  return {
    op: BOOTREPLY,
    htype: p.htype,
    hlen: p.hlen,
    hops: 0,
    xid: p.xid,
    secs: 0,
    // RFC 2131 §4.3.2: a NAK through a relay asks it to broadcast to the client.
    flags: nak && p.giaddr !== ZERO ? p.flags | FLAG_BROADCAST : p.flags,
    ciaddr: spec.type === MSG.ACK ? p.ciaddr : ZERO,
    yiaddr: spec.yiaddr ?? ZERO,
    // next-server: the TFTP (and HTTP) host for boot clients.
    siaddr: spec.boot ? spec.serverId : ZERO,
    giaddr: p.giaddr,
    chaddr: p.chaddr,
    sname: '',
    file: bootVisible && spec.boot && spec.boot.bootFile.length <= 127 ? spec.boot.bootFile : '',
    options: o,
  };
}

/** Where a reply goes. */
export interface Destination {
  address: string;
  port: number;
  broadcast: boolean;
}

/**
 * Reply addressing of RFC 2131 §4.1: relayed → giaddr:67; NAK → broadcast; ciaddr set →
 * unicast there; else broadcast (a unicast to yiaddr before the client has the address needs
 * an ARP entry we cannot write from user space, and §4.1 allows broadcast instead).
 */
export function replyDestination(req: DhcpRequest, replyType: number, ports: { server: number; client: number }): Destination {
  const p = req.packet;
  if (p.giaddr !== ZERO) return { address: p.giaddr, port: ports.server, broadcast: false };
  if (replyType === MSG.NAK) return { address: '255.255.255.255', port: ports.client, broadcast: true };
  if (p.ciaddr !== ZERO) return { address: p.ciaddr, port: ports.client, broadcast: false };
  return { address: '255.255.255.255', port: ports.client, broadcast: true };
}
