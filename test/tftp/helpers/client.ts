import { decodeTftpPacket, encodeAck, encodeRequest } from '../../../src/tftp/packet.js';
import type { UdpEndpoint, UdpPeer } from '../../../src/tftp/udp.js';
import type { FakeClock } from './fake-clock.js';
import type { MemoryNet } from './memory-net.js';

/** What a simulated client got. */
export interface FetchResult {
  data: Buffer;
  error?: { code: number; message: string };
  oack?: Record<string, string>;
  /** True when the transfer completed (last short block received). */
  complete: boolean;
}

/**
 * A reference TFTP receiver on a MemoryNet: RFC 1350 lock-step, RFC 2347 OACK, RFC 7440
 * windows (ACK at the end of each window, ACK the last in-order block on a gap), and the
 * classic re-ACK of a duplicate block at window 1 (what provokes Sorcerer's Apprentice).
 */
export function fetchOverMemory(
  net: MemoryNet,
  clock: FakeClock,
  local: UdpPeer,
  server: UdpPeer,
  req: { file: string; mode?: string; options?: Record<string, string>; timeoutMs?: number },
): { result: () => FetchResult | undefined } {
  const chunks: Buffer[] = [];
  let result: FetchResult | undefined;
  let tid: UdpPeer | undefined;
  let blksize = 512;
  let windowsize = 1;
  let received = 0; // blocks received in order
  let sinceAck = 0;
  let lastSent: Buffer = encodeRequest({ op: 'rrq', filename: req.file, mode: req.mode ?? 'octet', options: req.options ?? {} });
  let timer: unknown;
  let tries = 0;
  let oack: Record<string, string> | undefined;

  const finish = (r: Omit<FetchResult, 'data'>) => {
    if (result) return;
    result = { data: Buffer.concat(chunks), ...r };
    if (oack) result.oack = oack;
    clock.clearTimeout(timer);
    // Dally after the last block (RFC 1350 §6): re-ACK it if the final ACK was lost.
    if (r.complete) clock.setTimeout(() => ep.close(), 30_000);
    else ep.close();
  };
  const arm = () => {
    clock.clearTimeout(timer);
    timer = clock.setTimeout(() => {
      if (++tries > 12) return finish({ complete: false, error: { code: -1, message: 'client timeout' } });
      ep.send(lastSent, tid ?? server);
      arm();
    }, req.timeoutMs ?? 1500);
  };
  const ack = (block: number) => {
    lastSent = encodeAck(block);
    ep.send(lastSent, tid);
    sinceAck = 0;
  };
  const ep: UdpEndpoint = net.open(local, (packet, from) => {
    if (result) {
      if (result.complete && from.port === tid?.port) ep.send(lastSent, tid);
      return;
    }
    if (!tid) tid = from;
    if (from.port !== tid.port || from.address !== tid.address) return;
    const p = decodeTftpPacket(packet);
    if (p.op === 'error') return finish({ complete: false, error: { code: p.code, message: p.message } });
    if (p.op === 'oack') {
      if (received > 0) return;
      oack = p.options;
      blksize = Number(p.options.blksize ?? 512);
      windowsize = Number(p.options.windowsize ?? 1);
      tries = 0;
      ack(0);
      arm();
      return;
    }
    if (p.op !== 'data') return;
    const expected = (received + 1) & 0xffff;
    if (p.block !== expected) {
      const ahead = ((p.block - expected) & 0xffff) < 0x8000;
      // A gap: say where we are (RFC 7440 §4). An old duplicate at window 1: re-ACK it.
      if (ahead || windowsize === 1) ack(ahead ? received & 0xffff : p.block);
      return;
    }
    chunks.push(Buffer.from(p.data));
    received++;
    sinceAck++;
    tries = 0;
    if (p.data.length < blksize) {
      ack(p.block);
      return finish({ complete: true });
    }
    if (sinceAck >= windowsize) ack(p.block);
    arm();
  });
  ep.send(lastSent, server);
  arm();
  return { result: () => result };
}
