import http from 'node:http';
import https from 'node:https';
import { AppError } from '../../errors.js';

/** One HTTP answer from a Redfish service. */
export interface HttpResult {
  status: number;
  headers: http.IncomingHttpHeaders;
  json: unknown;
}

/** Sends one request; tests and the client swap this for a fake. */
export type HttpSend = (method: string, url: URL, headers: Record<string, string>, body?: string) => Promise<HttpResult>;

/** Options of the node:http(s) transport. */
export interface HttpOptions {
  timeoutMs: number;
  /** Accept self-signed BMC certificates: only when the operator set `insecureTls` for this BMC. */
  insecureTls: boolean;
}

const MAX_BODY = 4 * 1024 * 1024;

/** A keep-alive HTTP(S) transport; certificate checks stay on unless `insecureTls`. */
export function nodeHttp(o: HttpOptions): { send: HttpSend; close: () => void } {
  const agent = new https.Agent({ keepAlive: true, maxSockets: 4, rejectUnauthorized: !o.insecureTls });
  const plain = new http.Agent({ keepAlive: true, maxSockets: 4 });
  const send: HttpSend = (method, url, headers, body) =>
    new Promise((resolve, reject) => {
      const mod = url.protocol === 'https:' ? https : http;
      const req = mod.request(
        url,
        { method, headers: { ...headers, ...(body !== undefined ? { 'content-length': String(Buffer.byteLength(body)) } : {}) }, agent: url.protocol === 'https:' ? agent : plain, timeout: o.timeoutMs },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (c: Buffer) => {
            size += c.length;
            if (size > MAX_BODY) req.destroy(new AppError('BMC_ERROR', `Redfish response larger than ${MAX_BODY} bytes`));
            else chunks.push(c);
          });
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let json: unknown;
            try {
              json = text ? JSON.parse(text) : undefined;
            } catch {
              json = undefined;
            }
            resolve({ status: res.statusCode ?? 0, headers: res.headers, json });
          });
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new AppError('BMC_TIMEOUT', `${method} ${url.pathname} timed out after ${o.timeoutMs} ms`)));
      req.on('error', (e: NodeJS.ErrnoException) => reject(e instanceof AppError ? e : toAppError(e, url)));
      if (body !== undefined) req.write(body);
      req.end();
    });
  return {
    send,
    close: () => {
      agent.destroy();
      plain.destroy();
    },
  };
}

function toAppError(e: NodeJS.ErrnoException, url: URL): AppError {
  const tls = typeof e.code === 'string' && (e.code.includes('CERT') || e.code.includes('SELF_SIGNED') || e.code.startsWith('ERR_TLS'));
  const msg = tls
    ? `TLS check of ${url.host} failed (${e.code}); set the BMC option insecureTls only if you trust this network`
    : `BMC ${url.host} unreachable: ${e.code ?? e.message}`;
  return new AppError('BMC_UNREACHABLE', msg, { details: { errno: e.code ?? null }, cause: e });
}
