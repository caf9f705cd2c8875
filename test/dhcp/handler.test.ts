import { describe, expect, it } from 'vitest';
import { type HandlerContext, type HostInfo, handleRequest } from '../../src/dhcp/handler.js';
import { MSG, OPT } from '../../src/dhcp/options.js';
import { replyDestination } from '../../src/dhcp/reply.js';
import { readRequest } from '../../src/dhcp/request.js';
import { buildSubnets } from '../../src/dhcp/subnets.js';
import { type ClientPacketSpec, clientPacket } from './helpers/packets.js';

const A = '02:00:00:00:00:0a';
const B = '02:00:00:00:00:0b';
const RESERVED = '198.18.0.105';
const ip = (s: string) => s.split('.').map(Number);

function setup(reservations: Record<string, number> = { [RESERVED]: 1 }) {
  const [subnet] = buildSubnets(
    [{ cidr: '198.18.0.0/24', poolStart: '198.18.0.100', poolEnd: '198.18.0.107', dns: ['198.18.0.1'], router: '198.18.0.1', leaseSeconds: 600 }],
    [],
    (a) => reservations[a],
  );
  let now = 1_000_000;
  const ctx = (): HandlerContext => ({
    mode: 'full',
    serverId: '198.18.0.1',
    pxePort: false,
    subnet,
    uefiLoader: 'ipxe.efi',
    publicUrl: 'http://198.18.0.1:8080',
    bootInOffer: true,
    now,
    offerHoldMs: 60_000,
    declineMs: 3_600_000,
  });
  const hostA: HostInfo = { machineId: 1, reservedIp: RESERVED, profile: null, discovered: false };
  const hostB: HostInfo = { machineId: 2, reservedIp: null, profile: null, discovered: false };
  const send = (host: HostInfo, s: ClientPacketSpec) => handleRequest(readRequest(clientPacket(s)), host, ctx());
  return { subnet: subnet!, send, hostA, hostB, advance: (ms: number) => {
      now += ms;
    } };
}

describe('authoritative DHCP handler', () => {
  it('DISCOVER → OFFER, REQUEST (selecting) → ACK with lease options and a lease to persist', () => {
    const { send, hostB } = setup();
    const offer = send(hostB, { type: MSG.DISCOVER, mac: B });
    expect(offer.kind).toBe('dhcp.offer');
    expect(offer.yiaddr).toBe('198.18.0.100');
    expect(offer.persist).toBeUndefined(); // offers stay in memory
    const ack = send(hostB, { type: MSG.REQUEST, mac: B, options: [[OPT.SERVER_ID, ip('198.18.0.1')], [OPT.REQUESTED_IP, ip('198.18.0.100')]] });
    expect(ack.kind).toBe('dhcp.ack');
    expect(ack.persist).toMatchObject({ mac: B, state: 'active', expiresAt: 1_000_000 + 600_000 });
    const o = ack.reply!.options;
    expect(o.get(OPT.LEASE_TIME)?.readUInt32BE()).toBe(600);
    expect(o.get(OPT.RENEWAL_T1)?.readUInt32BE()).toBe(300);
    expect(o.get(OPT.REBINDING_T2)?.readUInt32BE()).toBe(525);
    expect(o.get(OPT.SUBNET_MASK)).toEqual(Buffer.from([255, 255, 255, 0]));
    expect(o.get(OPT.ROUTER)).toEqual(Buffer.from([198, 18, 0, 1]));
  });

  it('keeps a reserved address for its machine only', () => {
    const { send, hostA, hostB } = setup();
    // B asks for A's reserved address: it gets another one, and a REQUEST for it is NAKed.
    const offerB = send(hostB, { type: MSG.DISCOVER, mac: B, options: [[OPT.REQUESTED_IP, ip(RESERVED)]] });
    expect(offerB.yiaddr).not.toBe(RESERVED);
    const nak = send(hostB, { type: MSG.REQUEST, mac: B, options: [[OPT.REQUESTED_IP, ip(RESERVED)]] });
    expect(nak.kind).toBe('dhcp.nak');
    expect(nak.reply?.options.get(OPT.MESSAGE)?.toString()).toMatch(/reserved/);
    expect(send(hostA, { type: MSG.DISCOVER, mac: A }).yiaddr).toBe(RESERVED);
    // Walking the whole pool never yields the reserved address.
    const seen = new Set<string>();
    for (let i = 0; i < 7; i++) {
      const mac = `02:00:00:00:01:${i.toString(16).padStart(2, '0')}`;
      const h: HostInfo = { machineId: 10 + i, reservedIp: null, profile: null, discovered: false };
      const o = send(h, { type: MSG.DISCOVER, mac });
      if (o.yiaddr) seen.add(o.yiaddr);
    }
    expect(seen.has(RESERVED)).toBe(false);
  });

  it('gives the reserved address to every boot stage of its machine, whatever client-id each sends', () => {
    const { send, hostA } = setup();
    // The firmware (edk2 sends option 61 with its own identifier) takes the reservation first…
    const fw: [number, number[]][] = [[OPT.CLIENT_ID, [0, 1, 2, 3, 4, 5, 6, 7, 8]]];
    expect(send(hostA, { type: MSG.DISCOVER, mac: A, options: fw }).yiaddr).toBe(RESERVED);
    const ack = send(hostA, { type: MSG.REQUEST, mac: A, options: [...fw, [OPT.SERVER_ID, ip('198.18.0.1')], [OPT.REQUESTED_IP, ip(RESERVED)]] });
    expect(ack.kind).toBe('dhcp.ack');
    // …then iPXE and the OS (no option 61: keyed by MAC) still get it, not a pool address.
    expect(send(hostA, { type: MSG.DISCOVER, mac: A }).yiaddr).toBe(RESERVED);
    const ack2 = send(hostA, { type: MSG.REQUEST, mac: A, options: [[OPT.SERVER_ID, ip('198.18.0.1')], [OPT.REQUESTED_IP, ip(RESERVED)]] });
    expect(ack2.kind).toBe('dhcp.ack');
    expect(ack2.yiaddr).toBe(RESERVED);
  });

  it('ignores a REQUEST for another server and frees the address it had offered', () => {
    const { send, hostB, subnet } = setup();
    const offer = send(hostB, { type: MSG.DISCOVER, mac: B });
    const out = send(hostB, { type: MSG.REQUEST, mac: B, options: [[OPT.SERVER_ID, ip('198.18.0.99')], [OPT.REQUESTED_IP, ip(offer.yiaddr!)]] });
    expect(out.reply).toBeNull();
    expect(out.kind).toBeNull();
    expect(out.drop).toBe('request-for-another-server');
    expect(subnet.table.leaseOf(B)?.state).toBe('released');
  });

  it('INIT-REBOOT: ACK for the own address, NAK for a foreign network or a taken address', () => {
    const { send, hostA, hostB } = setup();
    send(hostB, { type: MSG.DISCOVER, mac: B });
    send(hostB, { type: MSG.REQUEST, mac: B, options: [[OPT.REQUESTED_IP, ip('198.18.0.100')]] });
    expect(send(hostB, { type: MSG.REQUEST, mac: B, options: [[OPT.REQUESTED_IP, ip('198.18.0.100')]] }).kind).toBe('dhcp.ack');
    expect(send(hostB, { type: MSG.REQUEST, mac: B, options: [[OPT.REQUESTED_IP, ip('10.0.0.5')]] }).reply?.options.get(OPT.MESSAGE)?.toString()).toMatch(/outside-subnet/);
    const taken = send(hostA, { type: MSG.REQUEST, mac: A, options: [[OPT.REQUESTED_IP, ip('198.18.0.100')]] });
    expect(taken.kind).toBe('dhcp.nak');
  });

  it('RENEWING extends the lease; REBINDING after the server lost nothing is the same', () => {
    const { send, hostB, advance } = setup();
    send(hostB, { type: MSG.DISCOVER, mac: B });
    send(hostB, { type: MSG.REQUEST, mac: B, options: [[OPT.REQUESTED_IP, ip('198.18.0.100')]] });
    advance(300_000);
    const renew = send(hostB, { type: MSG.REQUEST, mac: B, ciaddr: '198.18.0.100' });
    expect(renew.kind).toBe('dhcp.ack');
    expect(renew.reply?.ciaddr).toBe('198.18.0.100');
    expect(renew.persist?.expiresAt).toBe(1_300_000 + 600_000);
  });

  it('RELEASE frees the address (kept for affinity), DECLINE quarantines it', () => {
    const { send, hostA, hostB, subnet, advance } = setup();
    send(hostB, { type: MSG.DISCOVER, mac: B });
    send(hostB, { type: MSG.REQUEST, mac: B, options: [[OPT.REQUESTED_IP, ip('198.18.0.100')]] });
    const rel = send(hostB, { type: MSG.RELEASE, mac: B, ciaddr: '198.18.0.100', options: [[OPT.SERVER_ID, ip('198.18.0.1')]] });
    expect(rel).toMatchObject({ kind: 'dhcp.release', reply: null, persist: { state: 'released' } });
    // Released: B gets the same address back next time.
    expect(send(hostB, { type: MSG.DISCOVER, mac: B }).yiaddr).toBe('198.18.0.100');
    send(hostB, { type: MSG.REQUEST, mac: B, options: [[OPT.REQUESTED_IP, ip('198.18.0.100')]] });
    const dec = send(hostB, { type: MSG.DECLINE, mac: B, options: [[OPT.SERVER_ID, ip('198.18.0.1')], [OPT.REQUESTED_IP, ip('198.18.0.100')]] });
    expect(dec).toMatchObject({ kind: 'dhcp.decline', persist: { state: 'declined' } });
    // Quarantined: nobody is offered it until the quarantine ends.
    expect(send(hostB, { type: MSG.DISCOVER, mac: B }).yiaddr).not.toBe('198.18.0.100');
    expect(send(hostA, { type: MSG.REQUEST, mac: A, options: [[OPT.REQUESTED_IP, ip('198.18.0.100')]] }).kind).toBe('dhcp.nak');
    advance(3_600_001);
    expect(subnet.table.check({ clientKey: A, mac: A, hostname: null, machineId: 1 }, 0xc6120064, 1_000_000 + 3_600_001 + 1)).toBeNull();
  });

  it('INFORM gets configuration but no address and no lease time', () => {
    const { send, hostB } = setup();
    const out = send(hostB, { type: MSG.INFORM, mac: B, ciaddr: '198.18.0.7' });
    expect(out.kind).toBe('dhcp.inform');
    expect(out.reply?.yiaddr).toBe('0.0.0.0');
    expect(out.reply?.options.has(OPT.LEASE_TIME)).toBe(false);
    expect(out.reply?.options.has(OPT.SUBNET_MASK)).toBe(true);
  });

  it('drops silently when the pool is exhausted', () => {
    const { send } = setup({});
    for (let i = 0; i < 8; i++) {
      const h: HostInfo = { machineId: i, reservedIp: null, profile: null, discovered: false };
      expect(send(h, { type: MSG.DISCOVER, mac: `02:00:00:00:02:0${i}` }).yiaddr).toBeDefined();
    }
    const h: HostInfo = { machineId: 99, reservedIp: null, profile: null, discovered: false };
    expect(send(h, { type: MSG.DISCOVER, mac: '02:00:00:00:03:00' }).drop).toBe('pool-exhausted');
  });

  it('echoes option 82 and the client id back through a relay', () => {
    const { send, hostB } = setup();
    const o82 = Buffer.from([1, 2, 0x10, 0x20]);
    const out = send(hostB, { type: MSG.DISCOVER, mac: B, giaddr: '198.18.0.2', options: [[OPT.RELAY_AGENT, o82], [OPT.CLIENT_ID, [1, 2, 0, 0, 0, 0, 11]]] });
    expect(out.reply?.options.get(OPT.RELAY_AGENT)).toEqual(o82);
    expect(out.reply?.options.get(OPT.CLIENT_ID)).toEqual(Buffer.from([1, 2, 0, 0, 0, 0, 11]));
    expect(out.reply?.giaddr).toBe('198.18.0.2');
  });
});

describe('reply addressing (RFC 2131 §4.1)', () => {
  const ports = { server: 67, client: 68 };
  const req = (s: Partial<ClientPacketSpec>) => readRequest(clientPacket({ type: MSG.REQUEST, mac: B, ...s }));
  it.each([
    ['relayed → giaddr:67', { giaddr: '198.18.9.1' }, MSG.ACK, { address: '198.18.9.1', port: 67, broadcast: false }],
    ['relayed NAK → giaddr:67', { giaddr: '198.18.9.1' }, MSG.NAK, { address: '198.18.9.1', port: 67, broadcast: false }],
    ['NAK → broadcast', { ciaddr: '198.18.0.5' }, MSG.NAK, { address: '255.255.255.255', port: 68, broadcast: true }],
    ['ciaddr → unicast', { ciaddr: '198.18.0.5' }, MSG.ACK, { address: '198.18.0.5', port: 68, broadcast: false }],
    ['broadcast flag → broadcast', { flags: 0x8000 }, MSG.OFFER, { address: '255.255.255.255', port: 68, broadcast: true }],
    ['no address yet → broadcast', {}, MSG.OFFER, { address: '255.255.255.255', port: 68, broadcast: true }],
  ])('%s', (_n, spec, type, dest) => {
    expect(replyDestination(req(spec), type, ports)).toEqual(dest);
  });
});

describe('unknownMacs: lease — an address, never a boot file', () => {
  const leaseOnly: HostInfo = { machineId: null, reservedIp: null, profile: null, discovered: false, leaseOnly: true };
  it.each<[string, Array<[number, Buffer | string | number[]]>]>([
    ['a BMC (no PXE options)', []],
    ['a PXE ROM', [[OPT.VENDOR_CLASS, 'PXEClient:Arch:00000:UNDI:002001'], [OPT.CLIENT_ARCH, [0, 0]]]],
    ['UEFI x64 PXE', [[OPT.VENDOR_CLASS, 'PXEClient:Arch:00007:UNDI:003000'], [OPT.CLIENT_ARCH, [0, 7]]]],
    ['UEFI HTTP boot', [[OPT.VENDOR_CLASS, 'HTTPClient:Arch:00016:UNDI:003001'], [OPT.CLIENT_ARCH, [0, 16]]]],
    ['iPXE', [[OPT.USER_CLASS, 'iPXE']]],
  ])('%s: OFFER and ACK carry an address and no boot file', (_, options) => {
    const { send } = setup();
    const offer = send(leaseOnly, { type: MSG.DISCOVER, mac: B, options });
    expect(offer.kind).toBe('dhcp.offer');
    expect(offer.yiaddr).toBe('198.18.0.100');
    expect(offer.boot).toBeUndefined();
    expect(offer.reply!.file).toBe('');
    expect(offer.reply!.options.has(OPT.BOOTFILE)).toBe(false);
    const ack = send(leaseOnly, { type: MSG.REQUEST, mac: B, options: [...options, [OPT.SERVER_ID, ip('198.18.0.1')], [OPT.REQUESTED_IP, ip('198.18.0.100')]] });
    expect(ack.kind).toBe('dhcp.ack');
    expect(ack.boot).toBeUndefined();
    expect(ack.persist).toMatchObject({ mac: B, state: 'active' });
  });

  it('is never answered in proxy mode (ProxyDHCP gives no addresses)', () => {
    const { subnet } = setup();
    const ctx: HandlerContext = { mode: 'proxy', serverId: '198.18.0.1', pxePort: false, subnet, uefiLoader: 'ipxe.efi', publicUrl: 'http://198.18.0.1:8080', bootInOffer: true, now: 1, offerHoldMs: 1, declineMs: 1 };
    const out = handleRequest(readRequest(clientPacket({ type: MSG.DISCOVER, mac: B, options: [[OPT.VENDOR_CLASS, 'PXEClient:Arch:00007:UNDI:003000']] })), leaseOnly, ctx);
    expect(out).toMatchObject({ kind: null, reply: null, drop: 'lease-only-in-proxy-mode' });
  });
});
