import { AppError } from '../errors.js';
import { macFromBytes } from '../model/mac.js';
import { BOOTREQUEST, type DhcpPacket } from './packet.js';
import {
  MSG,
  type MessageType,
  OPT,
  RELAY_SUBOPT,
  readArch,
  readClientUuid,
  readIp,
  readNicId,
  readSubOptions,
  readUserClasses,
} from './options.js';

/** Option 82 as the relay agent sent it: sub-options for facts, raw bytes to echo back. */
export interface RelayAgentInfo {
  circuitId?: string;
  remoteId?: string;
  raw: Buffer;
}

/** What a client asked for, read out of its packet once (the policy and handler work on this). */
export interface DhcpRequest {
  packet: DhcpPacket;
  type: MessageType;
  mac: string;
  /** Lease key: option 61 as hex, or the MAC (RFC 2131 §4.2). */
  clientKey: string;
  requestedIp?: string;
  serverId?: string;
  /** Option 93 (first entry). */
  arch?: number;
  vendorClass?: string;
  userClasses: string[];
  /** The client is iPXE already (user class `iPXE` or option 175 present). */
  isIpxe: boolean;
  /** Option 60 starts with PXEClient. */
  isPxe: boolean;
  /** Option 60 starts with HTTPClient (UEFI HTTP boot). */
  isHttpBoot: boolean;
  uuid?: string;
  nicId?: string;
  hostname?: string;
  relay?: RelayAgentInfo;
}

const typeNames: Record<number, string> = {
  [MSG.DISCOVER]: 'discover',
  [MSG.REQUEST]: 'request',
  [MSG.DECLINE]: 'decline',
  [MSG.RELEASE]: 'release',
  [MSG.INFORM]: 'inform',
};

/** Relay agent information (RFC 3046 §2.0): circuit-id and remote-id as hex, raw for the echo. */
export function readRelayAgent(v: Buffer | undefined): RelayAgentInfo | undefined {
  if (!v) return undefined;
  const subs = readSubOptions(v);
  const info: RelayAgentInfo = { raw: v };
  const circuit = subs.get(RELAY_SUBOPT.CIRCUIT_ID);
  const remote = subs.get(RELAY_SUBOPT.REMOTE_ID);
  if (circuit) info.circuitId = circuit.toString('hex');
  if (remote) info.remoteId = remote.toString('hex');
  return info;
}

/**
 * Reads a client packet into a DhcpRequest. Replies, unknown message types and non-Ethernet
 * hardware addresses are PROTOCOL errors (counted and dropped by the server).
 */
export function readRequest(p: DhcpPacket): DhcpRequest {
  if (p.op !== BOOTREQUEST) throw new AppError('PROTOCOL', `op ${p.op} is not BOOTREQUEST`);
  const typeByte = p.options.get(OPT.MESSAGE_TYPE);
  const type = typeByte?.length === 1 ? typeByte[0]! : 0;
  if (!typeNames[type]) throw new AppError('PROTOCOL', `message type ${type} is not one a server accepts`);
  // Ethernet only: the MAC is our machine key (RFC 1700 htype 1, hlen 6).
  if (p.htype !== 1 || p.hlen !== 6) throw new AppError('PROTOCOL', `hardware type ${p.htype}/${p.hlen} is not Ethernet`);
  const mac = macFromBytes(p.chaddr);
  const clientId = p.options.get(OPT.CLIENT_ID);
  const vendor = p.options.get(OPT.VENDOR_CLASS)?.toString('latin1');
  const userClasses = readUserClasses(p.options.get(OPT.USER_CLASS));
  const req: DhcpRequest = {
    packet: p,
    type: type as MessageType,
    mac,
    clientKey: clientId && clientId.length > 0 ? clientId.toString('hex') : mac,
    userClasses,
    isIpxe: userClasses.includes('iPXE') || p.options.has(OPT.IPXE),
    isPxe: vendor?.startsWith('PXEClient') ?? false,
    isHttpBoot: vendor?.startsWith('HTTPClient') ?? false,
  };
  const requestedIp = readIp(p.options.get(OPT.REQUESTED_IP));
  if (requestedIp) req.requestedIp = requestedIp;
  const serverId = readIp(p.options.get(OPT.SERVER_ID));
  if (serverId) req.serverId = serverId;
  const arch = readArch(p.options.get(OPT.CLIENT_ARCH)) ?? archFromVendorClass(vendor);
  if (arch !== undefined) req.arch = arch;
  if (vendor !== undefined) req.vendorClass = vendor;
  const uuid = readClientUuid(p.options.get(OPT.CLIENT_UUID));
  if (uuid) req.uuid = uuid;
  const nic = readNicId(p.options.get(OPT.CLIENT_NDI));
  if (nic) req.nicId = nic;
  const host = p.options.get(OPT.HOSTNAME);
  if (host) req.hostname = host.toString('latin1').replace(/[^\x21-\x7e]/g, '').slice(0, 63);
  const relay = readRelayAgent(p.options.get(OPT.RELAY_AGENT));
  if (relay) req.relay = relay;
  return req;
}

/**
 * `PXEClient:Arch:00007:UNDI:003016` carries the architecture too (PXE spec 2.1 §2.4); some
 * firmware sends it only there, without option 93.
 */
function archFromVendorClass(vendor: string | undefined): number | undefined {
  const m = vendor ? /^(?:PXE|HTTP)Client:Arch:(\d{5})/.exec(vendor) : null;
  return m ? Number(m[1]) : undefined;
}

/** Lower-case name of a client message type (for logs and events). */
export function messageTypeName(type: number): string {
  return typeNames[type] ?? `type-${type}`;
}
