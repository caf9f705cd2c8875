/**
 * DHCP for the storm, as a relay agent sends it: every simulated machine's DISCOVER/REQUEST goes
 * unicast from the relay address (giaddr, port 67) to the server, which answers the relay. One
 * socket serves every machine; replies are matched by xid. The machines' own addresses are then
 * local in the client namespace (a `local` route over the pool), so no per-machine L2 is needed.
 */
import { type Socket, createSocket } from 'node:dgram';
import { BOOTREPLY, BOOTREQUEST, type DhcpPacket, decodeDhcpPacket, encodeDhcpPacket } from '../../src/dhcp/packet.js';
import { MSG, OPT, ipOption, readIp } from '../../src/dhcp/options.js';

/** What a DORA gave a machine. */
export interface Lease {
  ip: string;
  serverId: string;
  /** Boot file name (option 67, else the file field) and where to fetch it from. */
  file: string;
  nextServer: string;
  retransmits: number;
}

/** Who the client says it is: PXE firmware (arch 7, EFI x64) or iPXE (user class "iPXE"). */
export type ClientKind = 'firmware' | 'ipxe';

export class RelayDhcp {
  private readonly waiting = new Map<number, (p: DhcpPacket) => void>();
  private xid = (Math.random() * 0x7fffffff) >>> 0;

  private constructor(
    private readonly sock: Socket,
    private readonly relay: string,
    private readonly server: string,
  ) {
    sock.on('message', (msg) => {
      let p: DhcpPacket;
      try {
        p = decodeDhcpPacket(msg);
      } catch {
        return;
      }
      if (p.op === BOOTREPLY) this.waiting.get(p.xid)?.(p);
    });
  }

  /** Binds relay:67 (the relay's own port: servers answer relays there). */
  static async open(relay: string, server: string): Promise<RelayDhcp> {
    const sock = createSocket({ type: 'udp4' });
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      sock.bind(67, relay, () => resolve());
    });
    sock.setRecvBufferSize(8 * 1024 * 1024);
    return new RelayDhcp(sock, relay, server);
  }

  close(): void {
    this.sock.close();
  }

  /** DISCOVER → OFFER → REQUEST → ACK, with retransmissions (timeouts 2, 4, 8, 8 s). */
  async dora(mac: string, kind: ClientKind, deadline: number): Promise<Lease> {
    const chaddr = Buffer.from(mac.replaceAll(':', ''), 'hex');
    const xid = this.nextXid();
    let retransmits = 0;
    const exchange = async (msg: Buffer, want: number): Promise<DhcpPacket> => {
      for (let attempt = 0, wait = 2000; ; attempt++, wait = Math.min(wait * 2, 8000)) {
        if (Date.now() >= deadline) throw new Error(`no ${want === MSG.OFFER ? 'OFFER' : 'ACK'} before the deadline`);
        if (attempt > 0) retransmits++;
        this.sock.send(msg, 67, this.server);
        const got = await this.await(xid, Math.min(wait, deadline - Date.now()), want);
        if (got) return got;
      }
    };
    const offer = await exchange(this.request(xid, chaddr, kind, MSG.DISCOVER), MSG.OFFER);
    const serverId = readIp(offer.options.get(OPT.SERVER_ID)) ?? this.server;
    const extra = new Map<number, Buffer>([
      [OPT.REQUESTED_IP, ipOption(offer.yiaddr)],
      [OPT.SERVER_ID, ipOption(serverId)],
    ]);
    const ack = await exchange(this.request(xid, chaddr, kind, MSG.REQUEST, extra), MSG.ACK);
    const bootfile = ack.options.get(OPT.BOOTFILE)?.toString('latin1').replace(/\0+$/, '') || ack.file;
    const tftp = ack.options.get(OPT.TFTP_SERVER)?.toString('latin1').replace(/\0+$/, '');
    const nextServer = tftp || (ack.siaddr !== '0.0.0.0' ? ack.siaddr : serverId);
    return { ip: ack.yiaddr, serverId, file: bootfile, nextServer, retransmits };
  }

  private nextXid(): number {
    this.xid = (this.xid + 1) >>> 0;
    return this.xid;
  }

  /** Resolves with the first reply of type `want` for xid, or undefined after `ms` (a NAK throws). */
  private await(xid: number, ms: number, want: number): Promise<DhcpPacket | undefined> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(xid);
        resolve(undefined);
      }, Math.max(1, ms));
      this.waiting.set(xid, (p) => {
        const type = p.options.get(OPT.MESSAGE_TYPE)?.[0];
        if (type === MSG.NAK) {
          clearTimeout(timer);
          this.waiting.delete(xid);
          reject(new Error('NAK'));
        } else if (type === want) {
          clearTimeout(timer);
          this.waiting.delete(xid);
          resolve(p);
        }
      });
    });
  }

  private request(xid: number, chaddr: Buffer, kind: ClientKind, type: number, extra?: Map<number, Buffer>): Buffer {
    const options = new Map<number, Buffer>([[OPT.MESSAGE_TYPE, Buffer.from([type])]]);
    for (const [k, v] of extra ?? []) options.set(k, v);
    options.set(OPT.PARAM_LIST, Buffer.from([1, 3, 6, 15, 66, 67, 43, 60, 97, 175]));
    options.set(OPT.MAX_SIZE, Buffer.from([0x05, 0xc0]));
    options.set(OPT.CLIENT_ARCH, Buffer.from([0, 7]));
    options.set(OPT.CLIENT_NDI, Buffer.from([1, 3, 16]));
    options.set(OPT.VENDOR_CLASS, Buffer.from('PXEClient:Arch:00007:UNDI:003016'));
    if (kind === 'ipxe') {
      options.set(OPT.USER_CLASS, Buffer.from('iPXE'));
      options.set(OPT.IPXE, Buffer.from([0xeb, 3, 1, 0, 0]));
    }
    const p: DhcpPacket = {
      op: BOOTREQUEST,
      htype: 1,
      hlen: 6,
      hops: 1,
      xid,
      secs: 4,
      flags: 0,
      ciaddr: '0.0.0.0',
      yiaddr: '0.0.0.0',
      siaddr: '0.0.0.0',
      giaddr: this.relay,
      chaddr,
      sname: '',
      file: '',
      options,
    };
    return encodeDhcpPacket(p);
  }
}
