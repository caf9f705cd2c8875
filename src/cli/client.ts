import { existsSync, readFileSync } from 'node:fs';
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

/** Finds the API URL and token: RACKBOOT_URL / RACKBOOT_TOKEN, else the local data dir. */
export function clientFromEnv(env: NodeJS.ProcessEnv = process.env): ApiClient {
  const url = env.RACKBOOT_URL ?? 'http://127.0.0.1:8080';
  let token = env.RACKBOOT_TOKEN;
  if (!token) {
    const file = join(env.RACKBOOT_DATADIR ?? env.RACKBOOT_DATA_DIR ?? './data', 'admin.token');
    if (existsSync(file)) token = readFileSync(file, 'utf8').trim();
  }
  return new ApiClient(url, token);
}

/** A small JSON client for /api/v1. */
export class ApiClient {
  constructor(
    readonly baseUrl: string,
    private readonly token: string | undefined,
  ) {}

  async request<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
    let res: Response;
    try {
      res = await fetch(new URL(path, this.baseUrl), {
        method,
        headers: {
          ...(this.token ? { authorization: `Bearer ${this.token}` } : {}),
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (e) {
      throw new CliError(`cannot reach rackboot at ${this.baseUrl}: ${(e as Error).cause ?? (e as Error).message}`);
    }
    const text = await res.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    if (!res.ok) {
      const err = (json as { error?: { code?: string; message?: string } } | undefined)?.error;
      throw new CliError(`${res.status} ${err?.code ?? res.statusText}: ${err?.message ?? text.slice(0, 200)}`, res.status, err?.code);
    }
    return json as T;
  }

  get<T = unknown>(path: string): Promise<T> {
    return this.request<T>('GET', path);
  }
}
