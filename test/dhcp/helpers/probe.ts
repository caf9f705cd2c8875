/**
 * A scripted DHCP client for tests, run inside the client namespace:
 *   node --import tsx probe.ts '<json>'
 * JSON: { iface, send: [hex...], fuzz?: { count, seed }, listenMs, port? }.
 * Binds 0.0.0.0:68 on `iface` (SO_BINDTOIFINDEX), broadcasts the packets to port 67 and prints
 * { replies: [{ from, hex }] } as JSON on stdout.
 */
import { describeInterface } from '../../../src/net/interfaces.js';
import { openUdp } from '../../../src/net/udp.js';
import { mutate, prng } from './fuzz.js';

interface ProbeSpec {
  iface: string;
  send: string[];
  fuzz?: { count: number; seed: number };
  listenMs: number;
  to?: string;
}

const spec = JSON.parse(process.argv[2] ?? '{}') as ProbeSpec;
const replies: Array<{ from: string; hex: string }> = [];
const ep = await openUdp({
  host: '0.0.0.0',
  port: 68,
  iface: describeInterface(spec.iface),
  broadcast: true,
  onMessage: (d) => replies.push({ from: d.from.address, hex: d.data.toString('hex') }),
});
const to = spec.to ?? '255.255.255.255';
if (spec.fuzz) {
  const rnd = prng(spec.fuzz.seed);
  const base = Buffer.from(spec.send[0] ?? '', 'hex');
  for (let i = 0; i < spec.fuzz.count; i++) {
    ep.send(mutate(base, rnd), to, 67);
    // Pace in bursts so the socket buffers never overflow (bounded: count is fixed).
    if (i % 50 === 49) await new Promise((r) => setTimeout(r, 2));
  }
  await new Promise((r) => setTimeout(r, 300));
  replies.length = 0;
}
for (const hex of spec.send) ep.send(Buffer.from(hex, 'hex'), to, 67);
await new Promise((r) => setTimeout(r, spec.listenMs));
await ep.close();
process.stdout.write(`${JSON.stringify({ replies })}\n`);
