import { realpathSync } from 'node:fs';
import type { Logger } from '../log.js';
import { type ContentOrigins, type OpenedContent, openContent } from './content.js';
import { type TftpClient, TftpHandlerRegistry } from './handlers.js';
import { nativeTftp, startNativeTransfer } from './native.js';
import { type NegotiatedOptions, negotiateOptions } from './options.js';
import { OPCODE, TFTP_ERROR, type TftpRequest, decodeTftpPacket, encodeError, encodeOack } from './packet.js';
import { normalizeTftpPath } from './paths.js';
import type { TftpSettings } from './settings.js';
import { ChunkedSource, netasciiChunks } from './source.js';
import {
  type ActiveTransfer,
  Transfer,
  type TransferClock,
  type TransferConfig,
  type TransferOutcome,
  systemClock,
} from './transfer.js';
import { type TftpTransport, type UdpEndpoint, type UdpPeer, dgramTransport } from './udp.js';

/** What one request came to: a finished transfer or a refusal (for the boot trace). */
export interface TransferRecord {
  file: string;
  client: TftpClient;
  result: TransferOutcome | 'refused' | 'busy';
  bytes: number;
  ms: number;
  blksize: number;
  windowsize: number;
  retransmits?: number;
  error?: string;
}

/** Everything a TFTP server needs; transport and clock are injectable for tests. */
export interface TftpServerOptions {
  settings: TftpSettings;
  root: string;
  log: Logger;
  handlers?: TftpHandlerRegistry;
  transport?: TftpTransport;
  clock?: TransferClock;
  /** MAC of a client IP (from the DHCP leases) when known. */
  lookupMac?: (ip: string) => string | undefined;
  onTransfer?: (record: TransferRecord) => void;
}

/** Counters for what the server dropped or refused. */
export interface TftpStats {
  malformed: number;
  duplicates: number;
  refused: number;
  busy: number;
  /** Requests dropped because their client address already had maxTransfersPerClient running. */
  clientLimited: number;
}

/** A read-only TFTP server: request sockets per local address, one socket per transfer. */
export class TftpServer {
  readonly stats: TftpStats = { malformed: 0, duplicates: 0, refused: 0, busy: 0, clientLimited: 0 };
  private readonly listeners = new Map<string, UdpEndpoint>();
  /** Active transfers by client "ip:port" (a retransmitted RRQ must not start a second one). */
  private readonly active = new Map<string, ActiveTransfer | null>();
  /** Transfers in progress per client address (all its ports). */
  private readonly perClient = new Map<string, number>();
  private readonly transport: TftpTransport;
  /** The native data path for files, when built, enabled and the sockets are the real ones. */
  private readonly native: typeof nativeTftp;
  private readonly clock: TransferClock;
  private readonly origins: ContentOrigins;
  private closed = false;

  constructor(private readonly o: TftpServerOptions) {
    this.transport = o.transport ?? dgramTransport;
    this.clock = o.clock ?? systemClock;
    // Tests that inject a transport or clock simulate the network: those transfers stay in TS.
    const real = this.transport === dgramTransport && o.clock === undefined;
    this.native = real && o.settings.nativeTransfers ? nativeTftp : undefined;
    const ahead = o.settings.readAheadBytes;
    this.origins = {
      realRoot: realpathSync(o.root),
      handlers: o.handlers ?? new TftpHandlerRegistry(),
      chunkSize: (blksize) => Math.max(1, Math.floor(Math.min(ahead / 2, 256 * 1024) / blksize)) * blksize,
      maxBufferedBytes: o.settings.maxBufferedHandlerBytes,
    };
  }

  /** Transfers in progress. */
  get activeTransfers(): number {
    return this.active.size;
  }

  /** Local addresses listened on, with their bound ports. */
  addresses(): UdpPeer[] {
    return [...this.listeners.values()].map((l) => l.local);
  }

  /** Starts answering requests sent to `address` (idempotent per address). */
  async listen(address: string, port: number): Promise<UdpPeer> {
    const existing = this.listeners.get(address);
    if (existing) return existing.local;
    const bound: { endpoint?: UdpEndpoint } = {};
    const endpoint = await this.transport.listen(address, port, (packet, from) => {
      if (bound.endpoint) this.onRequest(packet, from, bound.endpoint);
    });
    bound.endpoint = endpoint;
    this.listeners.set(address, endpoint);
    return endpoint.local;
  }

  /** Stops answering on one address (transfers in progress continue). */
  unlisten(address: string): void {
    this.listeners.get(address)?.close();
    this.listeners.delete(address);
  }

  /** Closes the request sockets and aborts transfers in progress. */
  async close(): Promise<void> {
    this.closed = true;
    for (const address of [...this.listeners.keys()]) this.unlisten(address);
    const running = [...this.active.values()].filter((t): t is ActiveTransfer => t !== null);
    for (const t of running) t.abort('server shutting down');
    await Promise.all(running.map((t) => t.done));
  }

  private onRequest(packet: Buffer, from: UdpPeer, listener: UdpEndpoint): void {
    // Only RRQ/WRQ belong on the request port; drop the rest before decoding (floods stay cheap).
    if (packet.length < 2 || packet[0] !== 0 || (packet[1] !== OPCODE.RRQ && packet[1] !== OPCODE.WRQ)) {
      this.stats.malformed++;
      return;
    }
    let req: ReturnType<typeof decodeTftpPacket>;
    try {
      req = decodeTftpPacket(packet);
    } catch (e) {
      this.stats.malformed++;
      this.o.log.debug({ client: from.address, port: from.port, err: (e as Error).message }, 'tftp malformed request');
      return;
    }
    if (req.op === 'wrq') {
      this.refuse(listener, from, req, TFTP_ERROR.ACCESS_VIOLATION, 'read-only server: write requests are refused');
      return;
    }
    if (req.op !== 'rrq') return;
    const key = `${from.address}:${from.port}`;
    if (this.active.has(key)) {
      this.stats.duplicates++;
      return;
    }
    const running = this.perClient.get(from.address) ?? 0;
    if (running >= this.o.settings.maxTransfersPerClient) {
      // Dropped, not answered: an ERROR per flood packet costs as much as the flood, and a real
      // client whose slots are held by dead transfers simply retransmits its RRQ later.
      if (this.stats.clientLimited++ % 1000 === 0) {
        this.o.log.debug({ client: from.address, running, dropped: this.stats.clientLimited }, 'tftp per-client transfer limit: request dropped');
      }
      return;
    }
    if (this.active.size >= this.o.settings.maxTransfers || this.closed) {
      this.stats.busy++;
      const message = `server busy: ${this.active.size} transfers in progress (limit ${this.o.settings.maxTransfers}), retry later`;
      this.refuse(listener, from, req, TFTP_ERROR.NOT_DEFINED, message, 'busy');
      return;
    }
    if (req.mode !== 'octet' && req.mode !== 'netascii') {
      this.refuse(listener, from, req, TFTP_ERROR.ILLEGAL_OPERATION, `unsupported transfer mode '${req.mode}'`);
      return;
    }
    const path = normalizeTftpPath(req.filename);
    if (!path.ok) {
      this.refuse(listener, from, req, path.code, path.message);
      return;
    }
    this.active.set(key, null);
    this.perClient.set(from.address, running + 1);
    this.serve(req, path.path, from, listener)
      .catch((e: unknown) => {
        // A handler that throws (or a socket that cannot be opened) fails this request only.
        const error = e instanceof Error ? e.message : String(e);
        this.o.log.error({ err: e, client: from.address, file: path.path }, 'tftp request failed');
        listener.send(encodeError(TFTP_ERROR.NOT_DEFINED, 'internal error'), from);
        const client = { address: from.address, port: from.port };
        this.o.onTransfer?.({ file: path.path, client, result: 'source-error', bytes: 0, ms: 0, blksize: 0, windowsize: 0, error });
      })
      .finally(() => {
        this.active.delete(key);
        const left = (this.perClient.get(from.address) ?? 1) - 1;
        if (left > 0) this.perClient.set(from.address, left);
        else this.perClient.delete(from.address);
      });
  }

  private async serve(req: TftpRequest, file: string, from: UdpPeer, listener: UdpEndpoint): Promise<void> {
    const mac = this.o.lookupMac?.(from.address);
    const client: TftpClient = mac ? { address: from.address, port: from.port, mac } : { address: from.address, port: from.port };
    const mode = req.mode as 'octet' | 'netascii';
    const limits = {
      maxBlksize: this.o.settings.maxBlksize,
      maxWindowsize: this.o.settings.maxWindowsize,
      defaultTimeoutSeconds: this.o.settings.timeoutSeconds,
    };
    const hint = negotiateOptions(req.options, { size: undefined, mode }, limits).blksize;
    const content = await openContent(file, client, this.origins, { wantSize: 'tsize' in req.options, blksizeHint: hint });
    if (!content.ok) return this.refuse(listener, from, req, content.code, content.message, 'refused', client);
    const neg = negotiateOptions(req.options, { size: content.size, mode }, limits);
    const log = this.o.log.child({ client: from.address, mac, file });
    const oack = Object.keys(neg.oack).length > 0 ? encodeOack(neg.oack) : undefined;
    const cfg: TransferConfig = {
      blksize: neg.blksize,
      windowsize: neg.windowsize,
      timeoutMs: neg.timeoutMs,
      maxTimeoutMs: Math.max(neg.timeoutMs, this.o.settings.maxTimeoutSeconds * 1000),
      retries: this.o.settings.retries,
      oack,
    };
    // Files in octet mode go to the native loop; handlers and netascii stream through TS.
    const opened = mode === 'octet' ? content.file : undefined;
    const native = this.native !== undefined && opened !== undefined;
    let transfer: ActiveTransfer;
    let closeSocket = () => {};
    if (this.native && opened) {
      const addresses = { localAddress: listener.local.address, peerAddress: from.address, peerPort: from.port };
      transfer = startNativeTransfer(this.native, { ...cfg, ...opened, ...addresses });
    } else {
      const started = await this.startTransfer(content, mode, neg, cfg, listener, from, log);
      transfer = started.transfer;
      closeSocket = started.close;
    }
    this.active.set(`${from.address}:${from.port}`, transfer);
    log.debug({ options: neg.oack, origin: content.origin, native }, 'tftp transfer started');
    const r = await transfer.done;
    closeSocket();
    content.close();
    const level = r.result === 'sent' ? 'info' : 'warn';
    log[level]({ result: r.result, bytes: r.bytes, ms: r.ms, retransmits: r.retransmits, error: r.error }, `tftp ${r.result}`);
    this.o.onTransfer?.({ file, client, blksize: neg.blksize, windowsize: neg.windowsize, ...r });
  }

  /** The TS data path: a connected node:dgram socket and a Transfer reading through a ChunkedSource. */
  private async startTransfer(
    content: OpenedContent,
    mode: 'octet' | 'netascii',
    neg: NegotiatedOptions,
    cfg: TransferConfig,
    listener: UdpEndpoint,
    from: UdpPeer,
    log: Logger,
  ): Promise<{ transfer: Transfer; close: () => void }> {
    const chunks = mode === 'netascii' ? netasciiChunks(content.chunks) : content.chunks;
    const ahead = Math.max(this.o.settings.readAheadBytes, 2 * neg.windowsize * neg.blksize);
    const source = new ChunkedSource(chunks, neg.blksize, ahead);
    // The socket exists before the transfer that uses it: its callbacks find it here.
    const current: { transfer?: Transfer } = {};
    const endpoint = await this.transport
      .connect(
        listener.local.address,
        from,
        (packet) => current.transfer?.receive(packet),
        (err) => {
          // ICMP port unreachable: the client has gone away; stop instead of retrying for seconds.
          if ((err as NodeJS.ErrnoException).code === 'ECONNREFUSED') current.transfer?.abort('client port unreachable');
          else log.debug({ err: err.message }, 'tftp transfer socket error');
        },
      )
      .catch((e: unknown) => {
        source.close();
        content.close();
        throw e;
      });
    const transfer = new Transfer(source, cfg, (packet) => endpoint.send(packet), this.clock, endpoint.sendBurst);
    current.transfer = transfer;
    transfer.start();
    return { transfer, close: () => endpoint.close() };
  }

  private refuse(
    listener: UdpEndpoint,
    to: UdpPeer,
    req: TftpRequest,
    code: number,
    message: string,
    result: 'refused' | 'busy' = 'refused',
    client: TftpClient = { address: to.address, port: to.port },
  ): void {
    if (result === 'refused') this.stats.refused++;
    listener.send(encodeError(code, message), to);
    this.o.log.info({ client: to.address, file: req.filename, code, reason: message }, `tftp ${result}`);
    this.o.onTransfer?.({ file: req.filename.slice(0, 300), client, result, bytes: 0, ms: 0, blksize: 0, windowsize: 0, error: message });
  }
}
