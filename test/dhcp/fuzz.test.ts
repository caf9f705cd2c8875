import { describe, expect, it } from 'vitest';
import { type HandlerContext, handleRequest } from '../../src/dhcp/handler.js';
import { MSG } from '../../src/dhcp/options.js';
import { decodeDhcpPacket, encodeDhcpPacket } from '../../src/dhcp/packet.js';
import { readRequest } from '../../src/dhcp/request.js';
import { buildSubnets } from '../../src/dhcp/subnets.js';
import { isAppError } from '../../src/errors.js';
import { mutate, prng } from './helpers/fuzz.js';
import { clientBytes, firmware } from './helpers/packets.js';

describe('DHCP decoder and handler under random and mutated input', () => {
  it('100,000 packets: only PROTOCOL errors, never a crash; decoded packets re-encode', () => {
    const [subnet] = buildSubnets([{ cidr: '198.18.0.0/24', poolStart: '198.18.0.10', poolEnd: '198.18.0.250', dns: [], leaseSeconds: 600 }], [], () => undefined);
    const bases = [
      clientBytes({ type: MSG.DISCOVER, mac: '52:54:00:00:00:01', options: firmware('uefiX64') }),
      clientBytes({ type: MSG.REQUEST, mac: '52:54:00:00:00:02', options: [...firmware('ipxe'), [50, [198, 18, 0, 20]], [54, [198, 18, 0, 1]]] }),
      clientBytes({ type: MSG.DISCOVER, mac: '52:54:00:00:00:03', giaddr: '198.18.0.2', options: [[82, [1, 2, 3, 4]], ...firmware('httpBoot')] }),
    ];
    const rnd = prng(20240601);
    const counts = { decoded: 0, handled: 0, protocol: 0 };
    const deadline = Date.now() + 120_000;
    for (let i = 0; i < 100_000 && Date.now() < deadline; i++) {
      const pkt = mutate(bases[i % bases.length]!, rnd);
      try {
        const p = decodeDhcpPacket(pkt);
        counts.decoded++;
        const req = readRequest(p);
        encodeDhcpPacket(p);
        const ctx: HandlerContext = {
          mode: i % 2 ? 'full' : 'proxy',
          serverId: '198.18.0.1',
          pxePort: i % 7 === 0,
          subnet,
          uefiLoader: 'ipxe.efi',
          publicUrl: 'http://198.18.0.1:8080',
          bootInOffer: true,
          now: 1_000_000 + i,
          offerHoldMs: 1000,
          declineMs: 1000,
        };
        const out = handleRequest(req, { machineId: 1, reservedIp: null, profile: null, discovered: false }, ctx);
        if (out.reply) encodeDhcpPacket(out.reply);
        counts.handled++;
      } catch (e) {
        if (!isAppError(e, 'PROTOCOL')) throw new Error(`packet ${i} (${pkt.toString('hex')}) threw ${String(e)}`);
        counts.protocol++;
      }
    }
    expect(counts.handled + counts.protocol).toBe(100_000);
    // The mix must exercise both paths, not only reject.
    expect(counts.handled).toBeGreaterThan(5_000);
    expect(counts.protocol).toBeGreaterThan(5_000);
  }, 180_000);
});
