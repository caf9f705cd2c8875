/**
 * HTTP as iPXE uses it: one kept-alive connection per machine from the machine's own address.
 * A body shorter than its Content-Length (or a reset mid-body) is a failure, never a success;
 * a 503 is retried after its Retry-After (as iPXE does), counted as a retransmission.
 */
import { Agent, request } from 'node:http';

export interface HttpGot {
  status: number;
  body: Buffer | undefined;
  bytes: number;
  retries: number;
}

export class MachineHttp {
  private readonly agent: Agent;
  constructor(private readonly local: string) {
    this.agent = new Agent({ keepAlive: true, maxSockets: 1 });
  }

  close(): void {
    this.agent.destroy();
  }

  /** GET (or POST with `body`); keeps the body only when `keep`. Throws on a short body or a non-2xx. */
  async fetch(url: string, deadline: number, o: { keep?: boolean; body?: string; token?: string } = {}): Promise<HttpGot> {
    let retries = 0;
    for (;;) {
      const r = await this.once(url, deadline, o);
      if (r.status === 503 && r.retryAfter !== undefined && Date.now() + r.retryAfter * 1000 < deadline) {
        retries++;
        await new Promise((res) => setTimeout(res, r.retryAfter! * 1000));
        continue;
      }
      if (r.status < 200 || r.status > 299) throw new Error(`HTTP ${r.status} for ${url}`);
      return { status: r.status, body: r.body, bytes: r.bytes, retries };
    }
  }

  private once(url: string, deadline: number, o: { keep?: boolean; body?: string; token?: string }) {
    return new Promise<{ status: number; body: Buffer | undefined; bytes: number; retryAfter?: number }>((resolve, reject) => {
      const headers: Record<string, string> = { 'user-agent': 'iPXE/1.21.1 (storm)' };
      if (o.token) headers.authorization = `Bearer ${o.token}`;
      if (o.body !== undefined) headers['content-type'] = 'application/json';
      const req = request(url, { agent: this.agent, localAddress: this.local, method: o.body === undefined ? 'GET' : 'POST', headers }, (res) => {
        const chunks: Buffer[] = [];
        let bytes = 0;
        res.on('data', (c: Buffer) => {
          bytes += c.length;
          if (o.keep) chunks.push(c);
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
      req.on('error', reject);
      req.end(o.body);
    });
  }
}
