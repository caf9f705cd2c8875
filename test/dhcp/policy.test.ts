import { IPXE_IDENTITY_QUERY } from '../../src/boot/urls.js';
import { describe, expect, it } from 'vitest';
import { type BootInput, chooseBoot } from '../../src/dhcp/boot-policy.js';
import type { HandlerContext, HostInfo } from '../../src/dhcp/handler.js';
import { handleRequest } from '../../src/dhcp/handler.js';
import { MSG, OPT, readSubOptions } from '../../src/dhcp/options.js';
import { readRequest } from '../../src/dhcp/request.js';
import { buildSubnets } from '../../src/dhcp/subnets.js';
import { type FIRMWARE, clientPacket, firmware } from './helpers/packets.js';

const URL = 'http://198.18.0.1:8080';
const MAC = '52:54:00:00:00:01';
const SCRIPT = `${URL}/boot.ipxe?mac=${MAC}${IPXE_IDENTITY_QUERY}`;

type Kind = keyof typeof FIRMWARE;
const net = { boot: 'network', chain: 'ipxe' } as const;
const secure = { boot: 'network', chain: 'secureboot' } as const;
const disk = { boot: 'disk', chain: 'ipxe' } as const;

function request(kind: Kind, type: number = MSG.DISCOVER, extra: Array<[number, Buffer | string | number[]]> = []) {
  return readRequest(clientPacket({ type, mac: MAC, options: [...firmware(kind), ...extra] }));
}

function context(mode: 'full' | 'proxy', uefiLoader: 'ipxe.efi' | 'snponly.efi', over: Partial<HandlerContext> = {}): HandlerContext {
  const [subnet] = buildSubnets([{ cidr: '198.18.0.0/24', poolStart: '198.18.0.100', poolEnd: '198.18.0.110', dns: [], leaseSeconds: 600 }], [], () => undefined);
  return {
    mode,
    serverId: '198.18.0.1',
    pxePort: false,
    subnet,
    uefiLoader,
    publicUrl: URL,
    bootInOffer: true,
    now: 1_000_000,
    offerHoldMs: 60_000,
    declineMs: 3_600_000,
    ...over,
  };
}

const host = (profile: HostInfo['profile']): HostInfo => ({ machineId: 1, reservedIp: null, profile, discovered: false });

// The firmware × profile table lives with the one boot decision: test/boot/decide.test.ts.
describe('DHCP boot answers on the wire', () => {
  it('never hands an iPXE client a loader, whatever its arch (no chainload loop)', () => {
    for (const arch of [0, 7, 9, 11, 16]) {
      const req = readRequest(clientPacket({ type: MSG.DISCOVER, mac: MAC, options: [[OPT.CLIENT_ARCH, [0, arch]], [OPT.IPXE, [1, 1, 1]]] }));
      const out = handleRequest(req, host(net), context('full', 'ipxe.efi'));
      expect(out.boot?.bootFile).toBe(SCRIPT);
    }
  });

  it('in proxy mode answers only DISCOVER on 67, and REQUEST on 4011 with an ACK carrying the file', () => {
    const ctx = context('proxy', 'ipxe.efi');
    expect(handleRequest(request('uefiX64', MSG.REQUEST, [[OPT.REQUESTED_IP, [198, 18, 0, 50]]]), host(net), ctx).reply).toBeNull();
    const at4011 = handleRequest(request('uefiX64', MSG.REQUEST), host(net), { ...ctx, pxePort: true });
    expect(at4011.reply?.options.get(OPT.MESSAGE_TYPE)?.[0]).toBe(MSG.ACK);
    expect(at4011.reply?.file).toBe('ipxe.efi');
    expect(at4011.reply?.yiaddr).toBe('0.0.0.0');
  });

  it('with proxyBootFileInOffer off, the proxy offer has option 60 but no file (client asks on 4011)', () => {
    const out = handleRequest(request('uefiX64'), host(net), context('proxy', 'ipxe.efi', { bootInOffer: false }));
    expect(out.reply?.file).toBe('');
    expect(out.reply?.options.get(OPT.VENDOR_CLASS)?.toString()).toBe('PXEClient');
    expect(out.reply?.options.has(OPT.VENDOR_SPECIFIC)).toBe(false);
  });

  it('puts the URL in option 67 too when the client asks for it in option 55', () => {
    const out = handleRequest(request('ipxe', MSG.DISCOVER, [[OPT.PARAM_LIST, [1, 3, 67]]]), host(net), context('full', 'ipxe.efi'));
    expect(out.reply?.options.get(OPT.BOOTFILE)?.toString()).toBe(SCRIPT);
  });
});
