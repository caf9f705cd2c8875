import { existsSync, readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';

/** An API failure as the CLI reports it. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly status = 0,
    readonly code = 'ERROR',
  ) {
    super(message);
  }
}

/**
 * Finds the API URL, token and CA: RACKBOOT_URL / RACKBOOT_TOKEN / RACKBOOT_CA, else the local
 * data dir's admin.token and generated tls/ca.crt. The API's certificate is verified against
 * that CA (never skipped).
 */
export function clientFromEnv(env: NodeJS.ProcessEnv = process.env): ApiClient {
  const url = env.RACKBOOT_URL ?? 'https://127.0.0.1:8443';
  const dataDir = env.RACKBOOT_DATADIR ?? env.RACKBOOT_DATA_DIR ?? './data';
  let token = env.RACKBOOT_TOKEN;
  if (!token) {
    const file = join(dataDir, 'admin.token');
    if (existsSync(file)) token = readFileSync(file, 'utf8').trim();
  }
  const caFile = env.RACKBOOT_CA || join(dataDir, 'tls', 'ca.crt');
  let ca: Buffer | undefined;
  if (existsSync(caFile)) ca = readFileSync(caFile);
  else if (env.RACKBOOT_CA) throw new CliError(`RACKBOOT_CA file not found: ${caFile}`);
  return new ApiClient(url, token, ca);
}

/** One HTTP(S) exchange: status and body text. */
function exchange(url: URL, method: string, headers: Record<string, string>, body: string | undefined, ca: Buffer | undefined): Promise<{ status: number; statusText: string; text: string }> {
  return new Promise((ok, fail) => {
    const opts = { method, headers: body === undefined ? headers : { ...headers, 'content-length': String(Buffer.byteLength(body)) } };
    const req = url.protocol === 'https:' ? httpsRequest(url, { ...opts, ...(ca ? { ca } : {}) }) : httpRequest(url, opts);
    req.setTimeout(120_000, () => req.destroy(new Error('no answer within 120 s')));
    req.on('error', fail);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', fail);
      res.on('end', () => ok({ status: res.statusCode ?? 0, statusText: res.statusMessage ?? '', text: Buffer.concat(chunks).toString('utf8') }));
    });
    req.end(body);
  });
}

/** A small JSON client for /api/v1. */
export class ApiClient {
  constructor(
    readonly baseUrl: string,
    private readonly token: string | undefined,
    private readonly ca?: Buffer,
  ) {}

  async request<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
    let res: { status: number; statusText: string; text: string };
    const headers: Record<string, string> = {
      ...(this.token ? { authorization: `Bearer ${this.token}` } : {}),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    };
    try {
      res = await exchange(new URL(path, this.baseUrl), method, headers, body === undefined ? undefined : JSON.stringify(body), this.ca);
    } catch (e) {
      const hint = /certificate|self.signed|SSL|TLS/i.test((e as Error).message) ? ' (trust its CA: RACKBOOT_CA=<data dir>/tls/ca.crt)' : '';
      throw new CliError(`cannot reach rackboot at ${this.baseUrl}: ${(e as Error).message}${hint}`);
    }
    const text = res.text;
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    if (res.status < 200 || res.status > 299) {
      const err = (json as { error?: { code?: string; message?: string } } | undefined)?.error;
      throw new CliError(`${res.status} ${err?.code ?? res.statusText}: ${err?.message ?? text.slice(0, 200)}`, res.status, err?.code);
    }
    return json as T;
  }

  get<T = unknown>(path: string): Promise<T> {
    return this.request<T>('GET', path);
  }
}
