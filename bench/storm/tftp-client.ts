/**
 * A TFTP download as edk2 fetches its network boot program: one RRQ with tsize, blksize 1468
 * and windowsize 4 (edk2's Mtftp4 since 2021), ACK per window, retransmitting its last ACK
 * (or the RRQ) after a timeout. The socket is bound to the machine's own address, so servers
 * see one client per machine (per-client caps apply per machine, as on a real rack).
 */
import { createSocket } from 'node:dgram';
import { decodeTftpPacket, encodeAck, encodeRequest } from '../../src/tftp/packet.js';

export interface TftpGot {
  bytes: number;
  retransmits: number;
}

export interface TftpOptions {
  blksize: number;
  windowsize: number;
  timeoutMs: number;
}

export function tftpGet(local: string, server: string, file: string, o: TftpOptions, deadline: number): Promise<TftpGot> {
  const sock = createSocket({ type: 'udp4' });
  return new Promise<TftpGot>((resolve, reject) => {
    let peerPort = 0;
    let blksize = 512;
    let windowsize = 1;
    let tsize: number | undefined;
    let expected = 1;
    let inWindow = 0;
    let bytes = 0;
    let retransmits = 0;
    let last: { buf: Buffer; port: number } | undefined;
    let timer: NodeJS.Timeout | undefined;
    let settled = false;
    const done = (e?: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.close();
      if (e) reject(e);
      else resolve({ bytes, retransmits });
    };
    const rrq = encodeRequest({
      op: 'rrq',
      filename: file,
      mode: 'octet',
      options: { tsize: '0', blksize: String(o.blksize), windowsize: String(o.windowsize) },
    });
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        if (Date.now() >= deadline) return done(new Error(`TFTP ${file}: deadline after ${bytes} bytes`));
        retransmits++;
        if (last) sock.send(last.buf, last.port, server);
        else sock.send(rrq, 69, server);
        arm();
      }, o.timeoutMs);
    };
    const send = (buf: Buffer) => {
      last = { buf, port: peerPort };
      sock.send(buf, peerPort, server);
      arm();
    };
    sock.on('error', (e) => done(e));
    let finishing = false;
    sock.on('message', (msg, rinfo) => {
      if (finishing || rinfo.address !== server) return;
      if (peerPort === 0) peerPort = rinfo.port;
      if (rinfo.port !== peerPort) return;
      let p: ReturnType<typeof decodeTftpPacket>;
      try {
        p = decodeTftpPacket(msg);
      } catch {
        return;
      }
      if (p.op === 'error') return done(new Error(`TFTP ${file}: error ${p.code} ${p.message}`));
      if (p.op === 'oack') {
        if (expected !== 1) return;
        blksize = Number(p.options.blksize ?? 512);
        windowsize = Number(p.options.windowsize ?? 1);
        if (p.options.tsize !== undefined) tsize = Number(p.options.tsize);
        return send(encodeAck(0));
      }
      if (p.op !== 'data') return;
      if (p.block !== (expected & 0xffff)) {
        // Out of order or a duplicate: ACK what we have so the server resends from there.
        if (((expected - 1) & 0xffff) !== p.block) send(encodeAck(expected - 1));
        return;
      }
      bytes += p.data.length;
      expected++;
      inWindow++;
      const final = p.data.length < blksize;
      if (final) {
        if (tsize !== undefined && tsize !== bytes) return done(new Error(`TFTP ${file}: ${bytes} bytes, tsize said ${tsize}`));
        // Close only once the final ACK has left: Node drops a send still pending (its address
        // lookup runs on the next tick) when the socket closes, and the server never hears it.
        finishing = true;
        clearTimeout(timer);
        sock.send(encodeAck(p.block), peerPort, server, () => done());
        return;
      }
      if (inWindow >= windowsize) {
        inWindow = 0;
        send(encodeAck(p.block));
      }
    });
    sock.bind(0, local, () => {
      sock.send(rrq, 69, server);
      arm();
    });
  });
}
