/**
 * HTTP as iPXE uses it: one kept-alive connection per machine from the machine's own address.
 * A body shorter than its Content-Length (or a reset mid-body) is a failure, never a success;
 * a 503 is retried after its Retry-After (as iPXE does), counted as a retransmission.
 *
 * A reused (kept-alive) connection that closes before any byte of the response is reopened once
 * and the request sent again, as iPXE does (httpconn.c: a recycled pooled connection that has
 * received nothing since it was pooled is "reopenable") and as RFC 9112 §9.3.1 allows for an
 * idempotent request: a GET, never the report's POST (a POST that may have been processed is not
 * sent twice; its failure fails the machine). Each reopen is counted, with how long the connection had been idle on the
 * client's side, so a server that closes connections its clients still use shows up.
 */
import { Agent, request } from 'node:http';

/**
 * Read coalescing: after a read shorter than COALESCE_BYTES the connection's socket stops
 * reading for COALESCE_MS, so the next read takes what arrived meanwhile (pausing the response
 * alone would not: its socket goes on reading until 16 KiB are buffered). Without it, 1,000 downloads at
 * ~1 Mbit/s each made ~1 KB reads (about 100,000 a second), and the client's one core, not the
 * server, bounded the storm (91 s of CPU in a 104 s run, event-loop stalls past 10 s). The
 * kernel acknowledges on arrival either way; at ~1 Mbit/s per connection 50 ms is ~6 KB, far
 * inside the receive window, and a read of COALESCE_BYTES or more (a fast connection) is never
 * paused, so the pause does not throttle a download.
 */
const COALESCE_BYTES = 32 * 1024;
const COALESCE_MS = 50;

export interface HttpGot {
  status: number;
  body: Buffer | undefined;
  bytes: number;
  retries: number;
  /** Reused connections that closed before a response byte (iPXE reopens them). */
  reopens: number;
  /** For each reopen: ms between the previous response's end and this request, client side. */
  reopenIdleMs: number[];
}

/** A kept-alive connection closed before any response byte (the request may be resent). */
class ClosedBeforeResponse extends Error {}

export class MachineHttp {
  private readonly agent: Agent;
  /** When the previous response on this machine's connection ended (performance.now()). */
  private lastEnd: number | undefined;
  constructor(private readonly local: string) {
    this.agent = new Agent({ keepAlive: true, maxSockets: 1 });
  }

  close(): void {
    this.agent.destroy();
  }

  /** GET (or POST with `body`); keeps the body only when `keep`. Throws on a short body or a non-2xx. */
  async fetch(url: string, deadline: number, o: { keep?: boolean; body?: string; token?: string } = {}): Promise<HttpGot> {
    let retries = 0;
    const reopenIdleMs: number[] = [];
    for (;;) {
      const idle = this.lastEnd === undefined ? undefined : performance.now() - this.lastEnd;
      let r: Awaited<ReturnType<MachineHttp['once']>>;
      try {
        r = await this.once(url, deadline, o);
      } catch (e) {
        // iPXE reopens a recycled connection once; the fresh one is not reopenable again.
        if (e instanceof ClosedBeforeResponse && o.body === undefined && idle !== undefined && reopenIdleMs.length === 0) {
          reopenIdleMs.push(idle);
          this.lastEnd = undefined;
          continue;
        }
        throw e;
      }
      this.lastEnd = performance.now();
      if (r.status === 503 && r.retryAfter !== undefined && Date.now() + r.retryAfter * 1000 < deadline) {
        retries++;
        await new Promise((res) => setTimeout(res, r.retryAfter! * 1000));
        continue;
      }
      if (r.status < 200 || r.status > 299) throw new Error(`HTTP ${r.status} for ${url}`);
      return { status: r.status, body: r.body, bytes: r.bytes, retries, reopens: reopenIdleMs.length, reopenIdleMs };
    }
  }

  private once(url: string, deadline: number, o: { keep?: boolean; body?: string; token?: string }) {
    return new Promise<{ status: number; body: Buffer | undefined; bytes: number; retryAfter?: number }>((resolve, reject) => {
      const headers: Record<string, string> = { 'user-agent': 'iPXE/1.21.1 (storm)' };
      if (o.token) headers.authorization = `Bearer ${o.token}`;
      if (o.body !== undefined) headers['content-type'] = 'application/json';
      let responded = false;
      const req = request(url, { agent: this.agent, localAddress: this.local, method: o.body === undefined ? 'GET' : 'POST', headers }, (res) => {
        responded = true;
        const chunks: Buffer[] = [];
        let bytes = 0;
        const length = Number(res.headers['content-length'] ?? Number.POSITIVE_INFINITY);
        let resting = false;
        // Kept here: res.socket is null once the response is done (the agent takes the socket back).
        const sock = res.socket;
        res.on('data', (c: Buffer) => {
          bytes += c.length;
          if (o.keep) chunks.push(c);
          if (c.length < COALESCE_BYTES && bytes < length && !resting) {
            resting = true;
            sock.pause();
            setTimeout(() => {
              resting = false;
              if (!sock.destroyed) sock.resume();
            }, COALESCE_MS);
          }
        });
        res.on('error', reject);
        res.on('aborted', () => reject(new Error(`${url}: connection closed after ${bytes} bytes`)));
        res.on('end', () => {
          const want = res.headers['content-length'];
          if (!res.complete || (want !== undefined && Number(want) !== bytes)) {
            reject(new Error(`${url}: ${bytes} of ${want ?? '?'} bytes (half-sent body)`));
            return;
          }
          const ra = Number(res.headers['retry-after']);
          resolve({ status: res.statusCode ?? 0, body: o.keep ? Buffer.concat(chunks) : undefined, bytes, ...(Number.isFinite(ra) ? { retryAfter: ra } : {}) });
        });
      });
      req.setTimeout(Math.max(1, deadline - Date.now()), () => req.destroy(new Error(`${url}: deadline`)));
      req.on('error', (e) => {
        if (!responded && req.reusedSocket && Date.now() < deadline) reject(new ClosedBeforeResponse(`${e.message} (reused connection, no response byte)`));
        else reject(new Error(`${e.message}${req.reusedSocket ? ' (reused connection)' : ' (new connection)'}`));
      });
      req.end(o.body);
    });
  }
}
