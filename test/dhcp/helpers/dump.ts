import { macFromBytes } from '../../../src/model/mac.js';
import type { DhcpPacket } from '../../../src/dhcp/packet.js';

const printable = (b: Buffer) => /^[\x20-\x7e]*$/.test(b.toString('latin1'));

/** A stable text dump of a packet (golden files compare these). */
export function dumpPacket(p: DhcpPacket): string {
  const lines = [
    `op=${p.op} htype=${p.htype} hlen=${p.hlen} hops=${p.hops} xid=0x${p.xid.toString(16).padStart(8, '0')} secs=${p.secs} flags=0x${p.flags.toString(16)}`,
    `ciaddr=${p.ciaddr} yiaddr=${p.yiaddr} siaddr=${p.siaddr} giaddr=${p.giaddr}`,
    `chaddr=${macFromBytes(p.chaddr)} sname=${JSON.stringify(p.sname)} file=${JSON.stringify(p.file)}`,
  ];
  for (const [code, v] of p.options) {
    lines.push(`option ${code} len=${v.length} ${printable(v) && v.length > 0 ? JSON.stringify(v.toString('latin1')) : v.toString('hex')}`);
  }
  return `${lines.join('\n')}\n`;
}
