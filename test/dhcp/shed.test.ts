import { describe, expect, it } from 'vitest';
import { MSG, OPT } from '../../src/dhcp/options.js';
import { HEADER_LEN } from '../../src/dhcp/packet.js';
import { peekMessageType, shedsDiscover } from '../../src/dhcp/shed.js';
import { clientBytes } from './helpers/packets.js';

const MAC = '52:54:00:00:00:01';

/** A header, the cookie, then these raw option bytes (no END unless given). */
function raw(options: number[]): Buffer {
  const b = Buffer.alloc(HEADER_LEN + 4 + options.length);
  b[0] = 1;
  b.writeUInt32BE(0x63825363, HEADER_LEN);
  Buffer.from(options).copy(b, HEADER_LEN + 4);
  return b;
}

describe('peekMessageType (option 53 without decoding)', () => {
  it.each([
    ['a DISCOVER', clientBytes({ type: MSG.DISCOVER, mac: MAC }), MSG.DISCOVER],
    ['a REQUEST', clientBytes({ type: MSG.REQUEST, mac: MAC, options: [[OPT.REQUESTED_IP, [198, 18, 1, 1]]] }), MSG.REQUEST],
    ['option 53 after others and PADs', raw([OPT.PAD, OPT.CLIENT_ARCH, 2, 0, 7, OPT.PAD, OPT.MESSAGE_TYPE, 1, MSG.DISCOVER, OPT.END]), MSG.DISCOVER],
    ['no option 53', raw([OPT.CLIENT_ARCH, 2, 0, 7, OPT.END]), undefined],
    ['option 53 after END', raw([OPT.END, OPT.MESSAGE_TYPE, 1, MSG.DISCOVER]), undefined],
    ['option 53 of length 2', raw([OPT.MESSAGE_TYPE, 2, 1, 1, OPT.END]), undefined],
    ['option 53 cut off before its value', raw([OPT.MESSAGE_TYPE, 1]), undefined],
    ['option 53 with no length byte', raw([OPT.MESSAGE_TYPE]), undefined],
    ['an option claiming more bytes than remain', raw([OPT.CLIENT_ARCH, 200, 0]), undefined],
    ['no END and nothing else', raw([]), undefined],
    ['shorter than the header', Buffer.alloc(100), undefined],
    ['a bad cookie', Buffer.alloc(HEADER_LEN + 8), undefined],
  ])('%s → %s', (_what, buf, want) => {
    expect(peekMessageType(buf)).toBe(want);
  });
});

describe('shedsDiscover (DISCOVERs first above saturation)', () => {
  const discover = clientBytes({ type: MSG.DISCOVER, mac: MAC });
  const request = clientBytes({ type: MSG.REQUEST, mac: MAC });
  it.each([
    // packet, waited ms, shedDiscoverMs, shed?
    ['discover', discover, 201, 200, true],
    ['discover', discover, 200, 200, false],
    ['discover', discover, 5, 200, false],
    ['discover', discover, 10_000, 0, false],
    ['discover', discover, undefined, 200, false],
    ['request', request, 10_000, 200, false],
    ['malformed', Buffer.alloc(50), 10_000, 200, false],
  ])('%s that waited %s ms, threshold %i → %s', (_what, buf, waited, threshold, want) => {
    expect(shedsDiscover(buf, waited, threshold)).toBe(want);
  });
});
