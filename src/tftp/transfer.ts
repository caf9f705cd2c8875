import { isAppError } from '../errors.js';
import { TFTP_ERROR, ackBlockOf, decodeTftpPacket, encodeData, encodeError } from './packet.js';
import type { BlockSource } from './source.js';

/** Time functions a transfer uses, injected so tests drive retransmission without sleeping. */
export interface TransferClock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** The real clock. */
export const systemClock: TransferClock = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

/** Negotiated parameters of one transfer. */
export interface TransferConfig {
  blksize: number;
  windowsize: number;
  /** First retransmit timeout; doubled on every retry up to maxTimeoutMs. */
  timeoutMs: number;
  maxTimeoutMs: number;
  /** Retransmissions of the same window before giving up. */
  retries: number;
  /** Encoded OACK to send first (RFC 2347), or undefined to start with DATA 1. */
  oack?: Buffer | undefined;
}

/** How a transfer ended. */
export type TransferOutcome = 'sent' | 'timeout' | 'client-error' | 'options-declined' | 'source-error' | 'closed';

/** The result of a finished transfer (bytes counts what the client acknowledged). */
export interface TransferResult {
  result: TransferOutcome;
  bytes: number;
  blocks: number;
  retransmits: number;
  ms: number;
  error?: string;
}

/** A transfer in progress, TS or native: the server can abort it and await its result. */
export interface ActiveTransfer {
  readonly done: Promise<TransferResult>;
  /** Ends the transfer as 'closed' with `reason` (sent to the client in an ERROR packet). */
  abort(reason: string): void;
}

/**
 * One read transfer as a state machine (RFC 1350 + RFC 2347 OACK + RFC 7440 windows).
 * It never sends on a duplicate or late ACK: only a timer retransmits, so a delayed packet
 * cannot start a Sorcerer's Apprentice storm (RFC 1123 §4.2.3.1). Block indexes grow without
 * bound; on the wire they roll over from 65535 to 0, as tftp-hpa, atftp, curl and iPXE expect.
 */
export class Transfer implements ActiveTransfer {
  readonly done: Promise<TransferResult>;
  private resolveDone!: (r: TransferResult) => void;
  private phase: 'oack' | 'data' | 'done' = 'oack';
  /** Highest block the client acknowledged (0 = none, or the OACK). */
  private acked = 0;
  /** Highest block sent so far. */
  private sent = 0;
  /** Index of the final (short) block once seen. */
  private last = Number.POSITIVE_INFINITY;
  private lastLength = 0;
  private waitingFor = 0;
  private timer: unknown;
  private deadline = 0;
  private timerAt = 0;
  private timeoutMs: number;
  private retriesLeft: number;
  private retransmits = 0;
  private readonly startedAt: number;

  constructor(
    private readonly source: BlockSource,
    private readonly cfg: TransferConfig,
    private readonly send: (packet: Buffer) => void,
    private readonly clock: TransferClock = systemClock,
    /** Sends a window's packets at once (UDP GSO); without it they go one by one. */
    private readonly sendBurst?: (packets: Buffer[]) => void,
  ) {
    this.done = new Promise((r) => {
      this.resolveDone = r;
    });
    this.timeoutMs = cfg.timeoutMs;
    this.retriesLeft = cfg.retries;
    this.startedAt = clock.now();
  }

  /** Sends the OACK or the first window. */
  start(): void {
    if (this.cfg.oack) {
      this.send(this.cfg.oack);
      this.arm();
    } else {
      this.phase = 'data';
      this.sendWindow(1);
    }
  }

  /** Handles one datagram from the client's transfer ID. */
  receive(packet: Buffer): void {
    if (this.phase === 'done') return;
    const block = ackBlockOf(packet);
    if (block !== undefined) {
      this.onAck(block);
      return;
    }
    try {
      const p = decodeTftpPacket(packet);
      if (p.op === 'error') {
        const declined = this.phase === 'oack' && p.code === TFTP_ERROR.OPTION_REFUSED;
        this.finish(declined ? 'options-declined' : 'client-error', `client error ${p.code}: ${p.message}`);
      }
      // Anything else on a read transfer (DATA, requests) is ignored, not fatal.
    } catch (e) {
      if (!isAppError(e, 'PROTOCOL')) throw e;
    }
  }

  /** Ends the transfer from outside (server closing). */
  abort(reason: string): void {
    this.finish('closed', reason);
  }

  private onAck(wire: number): void {
    if (this.phase === 'oack') {
      if (wire !== 0) return;
      this.phase = 'data';
      this.resetBackoff();
      this.sendWindow(1);
      return;
    }
    // Map the 16-bit number onto the blocks in flight; anything else is a duplicate or stale.
    const delta = (wire - this.acked) & 0xffff;
    if (delta === 0 || this.acked + delta > this.sent) return;
    this.acked += delta;
    this.source.release(this.acked + 1);
    this.resetBackoff();
    if (this.acked >= this.last) {
      this.finish('sent');
      return;
    }
    // A mid-window ACK means the client missed a block: resend from the one after it (RFC 7440 §4).
    this.sendWindow(this.acked + 1);
  }

  /** Sends blocks from `from` to the end of the window that starts after the last ACK. */
  private sendWindow(from: number): void {
    const until = Math.min(this.acked + this.cfg.windowsize, this.last);
    const burst: Buffer[] | undefined = this.sendBurst && until > from ? [] : undefined;
    for (let i = from; i <= until; i++) {
      const data = this.source.block(i);
      if (data === undefined) {
        this.waitForSource(i);
        break;
      }
      if (burst) burst.push(encodeData(i, data));
      else this.send(encodeData(i, data));
      if (i > this.sent) this.sent = i;
      if (data.length < this.cfg.blksize) {
        this.last = i;
        this.lastLength = data.length;
        break;
      }
    }
    if (burst && burst.length > 0) this.sendBurst!(burst);
    this.arm();
  }

  private waitForSource(index: number): void {
    if (this.waitingFor !== 0) return;
    this.waitingFor = index;
    this.source.wait(index).then(
      () => {
        this.waitingFor = 0;
        if (this.phase === 'data' && index > this.acked && index <= this.acked + this.cfg.windowsize) this.sendWindow(index);
      },
      (e: unknown) => this.finish('source-error', e instanceof Error ? e.message : String(e)),
    );
  }

  private resetBackoff(): void {
    this.timeoutMs = this.cfg.timeoutMs;
    this.retriesLeft = this.cfg.retries;
  }

  /** Pushes the retransmit deadline out; one lazy timer serves every deadline. */
  private arm(): void {
    this.deadline = this.clock.now() + this.timeoutMs;
    // Deadlines normally only move later, so the pending timer stays; after a backoff reset
    // the new deadline is earlier than the timer and it must be set again.
    if (this.timer !== undefined && this.timerAt > this.deadline) {
      this.clock.clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.timer === undefined) this.setTimer(this.timeoutMs);
  }

  private setTimer(ms: number): void {
    this.timerAt = this.clock.now() + ms;
    this.timer = this.clock.setTimeout(() => this.onTimer(), ms);
  }

  private onTimer(): void {
    this.timer = undefined;
    if (this.phase === 'done') return;
    const left = this.deadline - this.clock.now();
    if (left > 0) {
      this.setTimer(left);
      return;
    }
    if (this.retriesLeft === 0) {
      this.finish('timeout', `no ACK after ${this.cfg.retries} retransmissions`);
      return;
    }
    this.retriesLeft--;
    this.retransmits++;
    this.timeoutMs = Math.min(this.timeoutMs * 2, this.cfg.maxTimeoutMs);
    if (this.phase === 'oack') {
      this.send(this.cfg.oack!);
      this.arm();
    } else {
      this.sendWindow(this.acked + 1);
    }
  }

  private finish(result: TransferOutcome, error?: string): void {
    if (this.phase === 'done') return;
    this.phase = 'done';
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.source.close();
    // The client is still listening when we give up on our side: tell it why (RFC 1350 §7).
    if (result === 'source-error' || result === 'closed') this.send(encodeError(TFTP_ERROR.NOT_DEFINED, error ?? result));
    const blocks = result === 'sent' ? this.last : this.acked;
    const bytes = result === 'sent' ? (this.last - 1) * this.cfg.blksize + this.lastLength : this.acked * this.cfg.blksize;
    const r: TransferResult = { result, bytes, blocks, retransmits: this.retransmits, ms: Math.round(this.clock.now() - this.startedAt) };
    if (error !== undefined) r.error = error;
    this.resolveDone(r);
  }
}
