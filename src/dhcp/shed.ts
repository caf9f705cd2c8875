import { MSG, OPT } from './options.js';
import { HEADER_LEN } from './packet.js';

/**
 * The message type (option 53) of a raw DHCP packet, read without decoding it: the options
 * area only (option overload is ignored: no client puts option 53 in sname/file). Undefined
 * when the packet is too short, the cookie is missing or option 53 is absent or malformed; the
 * full decoder then decides what the packet is.
 */
export function peekMessageType(buf: Buffer): number | undefined {
  if (buf.length < HEADER_LEN + 4 || buf.readUInt32BE(HEADER_LEN) !== 0x63825363) return undefined;
  let i = HEADER_LEN + 4;
  while (i < buf.length) {
    const code = buf[i]!;
    if (code === OPT.PAD) {
      i++;
      continue;
    }
    if (code === OPT.END || i + 1 >= buf.length) return undefined;
    const len = buf[i + 1]!;
    if (code === OPT.MESSAGE_TYPE) return len === 1 && i + 2 < buf.length ? buf[i + 2] : undefined;
    i += 2 + len;
  }
  return undefined;
}

/**
 * Overload shedding by message type: a DISCOVER that waited in the socket longer than
 * `shedDiscoverMs` is dropped unanswered, while REQUESTs (and the rest) are kept up to
 * `maxQueueMs` (udp-native drops those). A REQUEST finishes an exchange whose OFFER was already
 * paid for; a DISCOVER starts a new one. Above saturation the server thus spends its time
 * completing exchanges instead of starting ones it cannot finish, and the queue delay settles
 * near `shedDiscoverMs`. 0 disables it; unknown queue times (dgram sockets) never shed.
 */
export function shedsDiscover(buf: Buffer, queuedMs: number | undefined, shedDiscoverMs: number): boolean {
  if (shedDiscoverMs <= 0 || queuedMs === undefined || queuedMs <= shedDiscoverMs) return false;
  return peekMessageType(buf) === MSG.DISCOVER;
}
