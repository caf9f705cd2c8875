import { randomBytes } from 'node:crypto';
import { AppError } from '../../errors.js';
import type { Logger } from '../../log.js';
import { AUTH_TYPE, CIPHER_SUITES, type CipherSuiteId, CMD, NETFN, PAYLOAD } from './constants.js';
import { codesEqual, decryptPayload, encryptPayload, integrityCode, type SessionKeys } from './crypto.js';
import { handshake } from './handshake.js';
import { decodeIpmiResponse, encodeIpmiRequest, type IpmiResponse } from './message.js';
import { decodeRmcp, encodeV15, encodeV20, type RmcpPacket } from './rmcp.js';
import type { Datagram, Timers } from './transport.js';
import { encodeCloseSession } from './commands.js';

/** How to reach and log in to one BMC. */
export interface IpmiSessionOptions {
  host: string;
  username: string;
  password: string;
  /** Privilege level to request (PRIV.*). */
  privilege: number;
  /** Suites to try in order (many BMCs accept only one proposal per Open Session). */
  suites: CipherSuiteId[];
  timeoutMs: number;
  retries: number;
  timers: Timers;
  log: Logger;
  kg?: Buffer;
}

/** Established session state (after RAKP 4). */
export interface Established {
  suite: CipherSuiteId;
  consoleSessionId: number;
  bmcSessionId: number;
  keys: SessionKeys;
}

/**
 * One RMCP+ session over one datagram channel: retransmission with timeouts, sequence numbers,
 * integrity and AES-CBC-128 on every message once established. One request at a time (the driver
 * holds a per-BMC lock).
 */
export class IpmiSession {
  private waiter: { match: (p: RmcpPacket) => boolean; done: (p: RmcpPacket | Error) => void } | null = null;
  private state: Established | null = null;
  private seq = 0;
  private rqSeq = 0;
  /** Datagrams dropped because they did not decode or verify (counted, logged at debug). */
  dropped = 0;
  /** Datagrams sent, retransmissions included. */
  sent = 0;
  lastUsed = 0;

  constructor(
    private readonly dgram: Datagram,
    readonly o: IpmiSessionOptions,
  ) {
    dgram.onMessage((b) => this.receive(b));
    dgram.onError((e) => {
      const w = this.waiter;
      if (!w) return;
      this.waiter = null;
      w.done(new AppError('BMC_UNREACHABLE', `BMC ${o.host} unreachable: ${e.code ?? e.message}`, { details: { errno: e.code } }));
    });
  }

  /** The negotiated suite and ids, or null before open(). */
  get established(): Established | null {
    return this.state;
  }

  /** Runs the RMCP+ handshake (auth caps, open session, RAKP 1–4, set privilege). */
  async open(): Promise<void> {
    this.state = await handshake(this);
    this.seq = 0;
    this.lastUsed = this.o.timers.now();
    const r = await this.command(NETFN.APP, CMD.SET_SESSION_PRIVILEGE, Buffer.from([this.o.privilege]));
    if (r.completionCode !== 0) {
      throw new AppError('BMC_PRIVILEGE', `BMC ${this.o.host} refused privilege level ${this.o.privilege}`, {
        details: { completionCode: r.completionCode },
      });
    }
  }

  /** Sends a pre-session (v1.5, auth type none) request and waits for its response. */
  async sessionless(netFn: number, cmd: number, data: Buffer): Promise<IpmiResponse> {
    const rqSeq = this.nextRqSeq();
    const req = encodeIpmiRequest({ netFn, cmd, rqSeq, data });
    let resp: IpmiResponse | undefined;
    await this.exchange(
      () => encodeV15(req),
      (p) => {
        if (p.kind !== 'v15') return false;
        const r = decodeIpmiResponse(p.packet.payload);
        if (r.rqSeq !== rqSeq || r.cmd !== cmd) return false;
        resp = r;
        return true;
      },
    );
    return resp!;
  }

  /** Sends a pre-session RMCP+ payload (open session, RAKP) and returns the matching payload. */
  async handshakeExchange(payloadType: number, payload: Buffer, replyType: number, tag: number, attempts?: number): Promise<Buffer> {
    let out: Buffer | undefined;
    await this.exchange(
      () => encodeV20({ payloadType, encrypted: false, sessionId: 0, seq: 0 }, payload),
      (p) => {
        if (p.kind !== 'v20' || p.packet.payloadType !== replyType || p.packet.payload[0] !== tag) return false;
        out = p.packet.payload;
        return true;
      },
      attempts,
    );
    return out!;
  }

  /** Sends an IPMI command inside the session (encrypted, with integrity trailer). */
  async command(netFn: number, cmd: number, data: Buffer, attempts?: number): Promise<IpmiResponse> {
    const st = this.state;
    if (!st) throw new AppError('INTERNAL', 'IPMI session not established');
    const suite = CIPHER_SUITES[st.suite];
    const rqSeq = this.nextRqSeq();
    const plain = encodeIpmiRequest({ netFn, cmd, rqSeq, data });
    let resp: IpmiResponse | undefined;
    await this.exchange(
      () => {
        // A new session sequence number per datagram, retransmissions included (§6.12.13).
        this.seq = (this.seq + 1) >>> 0 || 1;
        return encodeV20({ payloadType: PAYLOAD.IPMI, encrypted: true, sessionId: st.bmcSessionId, seq: this.seq }, encryptPayload(st.keys.k2, plain), (c) =>
          integrityCode(st.suite, st.keys.k1, c),
        );
      },
      (p) => {
        if (p.kind !== 'v20' || p.packet.payloadType !== PAYLOAD.IPMI || p.packet.sessionId !== st.consoleSessionId) return false;
        const { authCode, covered } = p.packet;
        if (!authCode || !covered || authCode.length !== suite.icvLen || !codesEqual(authCode, integrityCode(st.suite, st.keys.k1, covered))) {
          throw new AppError('PROTOCOL', 'integrity check failed');
        }
        const r = decodeIpmiResponse(p.packet.encrypted ? decryptPayload(st.keys.k2, p.packet.payload) : p.packet.payload);
        if (r.rqSeq !== rqSeq || r.cmd !== cmd) return false;
        resp = r;
        return true;
      },
      attempts,
    );
    this.lastUsed = this.o.timers.now();
    return resp!;
  }

  /** Closes the session on the BMC (one best-effort attempt) and the channel. */
  async close(): Promise<void> {
    const st = this.state;
    if (st) await this.command(NETFN.APP, CMD.CLOSE_SESSION, encodeCloseSession(st.bmcSessionId), 1).catch(() => {});
    this.state = null;
    this.dgram.close();
  }

  /** Releases the channel without talking to the BMC (after a failure). */
  abandon(): void {
    this.state = null;
    this.dgram.close();
  }

  /** A random non-zero 32-bit session id. */
  static randomSessionId(): number {
    return randomBytes(4).readUInt32LE() || 1;
  }

  private nextRqSeq(): number {
    this.rqSeq = (this.rqSeq + 1) & 0x3f;
    return this.rqSeq;
  }

  /** Send, wait up to timeoutMs for a match, retransmit up to `retries` times. */
  private async exchange(build: () => Buffer, match: (p: RmcpPacket) => boolean, attempts = this.o.retries + 1): Promise<void> {
    const { timers } = this.o;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      const got = await new Promise<RmcpPacket | Error | null>((resolve) => {
        const t = timers.setTimeout(() => {
          this.waiter = null;
          resolve(null);
        }, this.o.timeoutMs);
        this.waiter = {
          match,
          done: (p) => {
            timers.clearTimeout(t);
            resolve(p);
          },
        };
        this.sent++;
        this.dgram.send(build());
      });
      if (got instanceof Error) throw got;
      if (got) return;
      this.o.log.debug({ bmc: this.o.host, attempt }, 'ipmi no answer, retrying');
    }
    throw new AppError('BMC_TIMEOUT', `BMC ${this.o.host} did not answer (${attempts} × ${this.o.timeoutMs} ms)`, {
      details: { attempts, timeoutMs: this.o.timeoutMs },
    });
  }

  private receive(b: Buffer): void {
    const w = this.waiter;
    try {
      const authLen = this.state ? CIPHER_SUITES[this.state.suite].icvLen : 0;
      const p = decodeRmcp(b, b[4] === AUTH_TYPE.RMCP_PLUS && (b[5]! & 0x40) !== 0 ? authLen : 0);
      if (w?.match(p)) {
        this.waiter = null;
        w.done(p);
      }
    } catch (e) {
      this.dropped++;
      this.o.log.debug({ bmc: this.o.host, err: (e as Error).message, bytes: b.length }, 'ipmi datagram dropped');
    }
  }
}
