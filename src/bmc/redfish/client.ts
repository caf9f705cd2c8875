import { AppError } from '../../errors.js';
import type { Logger } from '../../log.js';
import type { Timers } from '../ipmi/transport.js';
import type { HttpResult, HttpSend } from './http.js';

/** Where a Redfish service is and how to log in. */
export interface RedfishTarget {
  /** https://host[:port] (or http:// for lab endpoints). */
  baseUrl: string;
  username: string;
  password: string;
}

/** Client knobs. */
export interface RedfishClientOptions {
  retries: number;
  taskTimeoutMs: number;
  timers: Timers;
  log: Logger;
}

const sleep = (t: Timers, ms: number) => new Promise<void>((r) => t.setTimeout(r, ms));
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const obj = (v: unknown): Record<string, unknown> => (v && typeof v === 'object' ? (v as Record<string, unknown>) : {});

/**
 * A Redfish session: service root discovery, SessionService login (X-Auth-Token, DELETE on close)
 * with HTTP Basic as fallback, re-login on 401, error mapping to BMC_* codes, TaskMonitor polling.
 */
export class RedfishClient {
  private token: string | null = null;
  private sessionUri: string | null = null;
  private basic = false;
  private root: Record<string, unknown> | null = null;
  /** Requests sent (tests). */
  requests = 0;

  constructor(
    readonly target: RedfishTarget,
    private readonly send: HttpSend,
    private readonly o: RedfishClientOptions,
  ) {}

  /** GET /redfish/v1 (unauthenticated per DSP0266 §13.1) and log in. */
  async connect(): Promise<Record<string, unknown>> {
    if (this.root && (this.token || this.basic)) return this.root;
    const r = await this.raw('GET', '/redfish/v1/', undefined, {});
    if (r.status !== 200) throw httpError('GET /redfish/v1', r);
    this.root = obj(r.json);
    await this.login();
    return this.root;
  }

  private async login(): Promise<void> {
    const root = this.root ?? {};
    const sessions = str(obj(obj(root.Links).Sessions)['@odata.id']) ?? '/redfish/v1/SessionService/Sessions';
    const r = await this.raw('POST', sessions, JSON.stringify({ UserName: this.target.username, Password: this.target.password }), {});
    const token = r.headers['x-auth-token'];
    if ((r.status === 201 || r.status === 200) && typeof token === 'string') {
      this.token = token;
      this.sessionUri = typeof r.headers.location === 'string' ? new URL(r.headers.location, this.target.baseUrl).pathname : str(obj(r.json)['@odata.id']) ?? null;
      this.basic = false;
      return;
    }
    if (r.status === 401 || r.status === 403) throw authError(this.target.baseUrl, r);
    // No SessionService (or it is disabled): fall back to Basic on every request.
    this.o.log.debug({ bmc: this.target.baseUrl, status: r.status }, 'redfish session login unavailable, using Basic auth');
    this.basic = true;
  }

  /** An authenticated request; a 401 with a session token triggers one re-login. */
  async request(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<HttpResult> {
    await this.connect();
    const text = body === undefined ? undefined : JSON.stringify(body);
    let r = await this.authed(method, path, text, headers);
    if (r.status === 401 && this.token) {
      this.token = null;
      await this.login();
      r = await this.authed(method, path, text, headers);
    }
    if (r.status === 401) throw authError(this.target.baseUrl, r);
    if (r.status === 403) throw new AppError('BMC_PRIVILEGE', `${method} ${path}: forbidden`, { details: { httpStatus: 403, message: extendedMessage(r.json) } });
    return r;
  }

  /** GET with retries of transient failures; non-200 becomes BMC_ERROR. */
  async get(path: string): Promise<{ json: Record<string, unknown>; etag: string | undefined }> {
    for (let attempt = 0; ; attempt++) {
      try {
        const r = await this.request('GET', path);
        if (r.status === 200) {
          const json = obj(r.json);
          return { json, etag: typeof r.headers.etag === 'string' ? r.headers.etag : str(json['@odata.etag']) };
        }
        if (r.status < 500 || attempt >= this.o.retries) throw httpError(`GET ${path}`, r);
      } catch (e) {
        if (!(e instanceof AppError) || !['BMC_TIMEOUT', 'BMC_ERROR'].includes(e.code) || attempt >= this.o.retries) throw e;
      }
      await sleep(this.o.timers, 200 * (attempt + 1));
    }
  }

  /** Polls a TaskMonitor until it stops answering 202 (DSP0266 §13.2.7), bounded by taskTimeoutMs. */
  async waitTask(monitor: string): Promise<HttpResult> {
    const end = this.o.timers.now() + this.o.taskTimeoutMs;
    for (;;) {
      const r = await this.request('GET', monitor);
      const state = str(obj(r.json).TaskState);
      if (r.status !== 202 && !(r.status === 200 && (state === 'Running' || state === 'New' || state === 'Pending' || state === 'Starting'))) {
        if (r.status >= 400 || state === 'Exception' || state === 'Killed' || state === 'Cancelled') throw httpError(`task ${monitor}`, r);
        return r;
      }
      if (this.o.timers.now() >= end) throw new AppError('BMC_TIMEOUT', `task ${monitor} still running after ${this.o.taskTimeoutMs} ms`);
      const after = Number(r.headers['retry-after']);
      await sleep(this.o.timers, Number.isFinite(after) && after > 0 ? Math.min(after * 1000, 5000) : 500);
    }
  }

  /** Deletes the session (logout); errors are ignored. */
  async close(): Promise<void> {
    if (this.token && this.sessionUri) await this.authed('DELETE', this.sessionUri, undefined, {}).catch(() => {});
    this.token = null;
    this.sessionUri = null;
    this.root = null;
  }

  /** True when logged in with a session token (tests). */
  get hasSession(): boolean {
    return this.token !== null;
  }

  private authed(method: string, path: string, body: string | undefined, headers: Record<string, string>): Promise<HttpResult> {
    const auth: Record<string, string> = this.token
      ? { 'x-auth-token': this.token }
      : { authorization: `Basic ${Buffer.from(`${this.target.username}:${this.target.password}`).toString('base64')}` };
    return this.raw(method, path, body, { ...auth, ...headers });
  }

  private raw(method: string, path: string, body: string | undefined, headers: Record<string, string>): Promise<HttpResult> {
    this.requests++;
    const h: Record<string, string> = { accept: 'application/json', 'odata-version': '4.0', ...headers };
    if (body !== undefined) h['content-type'] = 'application/json';
    return this.send(method, new URL(path, this.target.baseUrl), h, body);
  }
}

/** The first @Message.ExtendedInfo message of a Redfish error body. */
export function extendedMessage(json: unknown): string | undefined {
  const err = obj(obj(json).error);
  const info = err['@Message.ExtendedInfo'];
  const first = Array.isArray(info) ? obj(info[0]) : {};
  return str(first.Message) ?? str(err.message);
}

/** A non-success HTTP answer as BMC_ERROR with the status kept in details. */
export function httpError(what: string, r: HttpResult): AppError {
  const message = extendedMessage(r.json);
  return new AppError('BMC_ERROR', `${what}: HTTP ${r.status}${message ? ` (${message})` : ''}`, { details: { httpStatus: r.status, message: message ?? null } });
}

function authError(base: string, r: HttpResult): AppError {
  return new AppError('BMC_AUTH_FAILED', `Redfish login to ${base} failed: HTTP ${r.status}`, { details: { httpStatus: r.status } });
}
