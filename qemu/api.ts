import { execFile } from 'node:child_process';

/** An API error as the lab sees it (status and rackboot's error code). */
export class LabApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code: string,
  ) {
    super(message);
  }
}

/**
 * rackboot's REST API as seen from the lab namespace. The lab command runs in the root
 * namespace, which has no route to the lab (by design), so each call is one `curl` run
 * inside the namespace.
 */
export class LabApi {
  constructor(
    readonly ns: string,
    readonly baseUrl: string,
    private readonly token: string,
    /** CA file that signs the API's certificate (rackboot's data/tls/ca.crt). */
    readonly caFile?: string,
  ) {}

  /** One JSON request; a non-2xx answer is a LabApiError with rackboot's code. */
  async request<T = unknown>(method: string, path: string, body?: unknown, timeoutMs = 60_000): Promise<T> {
    const args = ['netns', 'exec', this.ns, 'curl', '-sS', '-X', method, '-H', `authorization: Bearer ${this.token}`, '-w', '\n%{http_code}', '--max-time', String(Math.ceil(timeoutMs / 1000))];
    if (this.caFile) args.push('--cacert', this.caFile);
    if (body !== undefined) args.push('-H', 'content-type: application/json', '--data-binary', '@-');
    args.push(`${this.baseUrl}${path}`);
    const out = await new Promise<string>((resolve, reject) => {
      const child = execFile('ip', args, { timeout: timeoutMs + 5000, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
        if (err) reject(new LabApiError(`${method} ${path}: ${stderr.trim() || err.message}`, 0, 'UNREACHABLE'));
        else resolve(stdout);
      });
      if (body !== undefined) child.stdin?.end(JSON.stringify(body));
    });
    const cut = out.lastIndexOf('\n');
    const status = Number(out.slice(cut + 1));
    const text = out.slice(0, cut);
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = text;
    }
    if (status < 200 || status > 299) {
      const e = (json as { error?: { code?: string; message?: string } } | undefined)?.error;
      throw new LabApiError(`${method} ${path}: ${status} ${e?.code ?? ''} ${e?.message ?? text.slice(0, 200)}`.trim(), status, e?.code ?? 'HTTP');
    }
    return json as T;
  }

  /** True once rackboot answers /healthz. */
  async healthy(): Promise<boolean> {
    try {
      await this.request('GET', '/healthz', undefined, 5000);
      return true;
    } catch {
      return false;
    }
  }
}
