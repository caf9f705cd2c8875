// Child process: sends one RRQ from each of `count` sockets bound to `source` (a distinct client
// port each, as a flooder would) and never ACKs. After `settleMs` prints one JSON line: how many
// distinct server transfer sockets answered and how many ERROR packets came back. Keeps the
// sockets open (so no ICMP unreachable ends the transfers) until `holdMs`, then exits.
import { createSocket } from 'node:dgram';
import { encodeRequest } from '../../../src/tftp/packet.js';

const [server, port, source, count, file, settleMs, holdMs] = process.argv.slice(2);
const rrq = encodeRequest({ op: 'rrq', filename: file!, mode: 'octet' });
const transfers = new Set<string>();
let errors = 0;
let data = 0;
const sockets = [];
for (let i = 0; i < Number(count); i++) {
  const s = createSocket('udp4');
  s.on('message', (msg, from) => {
    if (msg.readUInt16BE(0) === 5) errors++;
    else {
      data++;
      transfers.add(`${from.address}:${from.port}`);
    }
  });
  s.on('error', () => {});
  await new Promise<void>((r) => s.bind(0, source, () => r()));
  s.send(rrq, Number(port), server);
  sockets.push(s);
}
setTimeout(() => process.stdout.write(`${JSON.stringify({ sent: sockets.length, transfers: transfers.size, data, errors })}\n`), Number(settleMs));
setTimeout(() => process.exit(0), Number(holdMs));
