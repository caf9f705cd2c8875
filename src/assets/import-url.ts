import { lookup as dnsLookup } from 'node:dns/promises';
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { type Readable, Transform, pipeline } from 'node:stream';
import { AppError } from '../errors.js';
import type { ImportStream } from './import-local.js';
import { type AddressRefusal, REDIRECT_STATUSES, type UrlDecision, checkImportAddress, checkImportUrl } from './import-policy.js';
import { parseIp } from './ip-address.js';

/** Resolves a host name to all of its addresses (dns.lookup semantics: /etc/hosts, then DNS). */
export type ResolveHost = (hostname: string) => Promise<Array<{ address: string; family: number }>>;

/** Arms a one-shot timer and returns the function that cancels it. */
export type SetTimer = (ms: number, fire: () => void) => () => void;

/** The system resolver, every address in the order the system gives them. */
export const systemResolve: ResolveHost = (hostname) => dnsLookup(hostname, { all: true, verbatim: true });

/** Real timers. */
export const systemTimer: SetTimer = (ms, fire) => {
  const t = setTimeout(fire, ms);
  return () => clearTimeout(t);
};

/** What a URL import may reach and how long it may stall. */
export interface UrlImportOptions {
  allowHosts: readonly string[];
  maxBytes: number;
  timeoutMs: number;
  maxRedirects: number;
  resolve?: ResolveHost;
  setTimer?: SetTimer;
}

interface Target {
  address: string;
  family: number;
}

const REFUSAL_TEXT: Record<AddressRefusal, string> = {
  loopback: 'a loopback address',
  'link-local': 'a link-local address',
  metadata: 'a cloud metadata address',
  unspecified: 'an unspecified address',
  multicast: 'a multicast address',
  reserved: 'a reserved address',
  invalid: 'not an IP address',
};

/** Resolves the URL's host and checks every address; the first one is the only one we connect to. */
async function checkedTarget(url: URL, o: UrlImportOptions): Promise<Target> {
  const hostname = url.hostname.replace(/^\[|\]$/g, '');
  const literal = parseIp(hostname);
  let addrs: Target[];
  try {
    addrs = literal ? [{ address: hostname, family: literal.family }] : await (o.resolve ?? systemResolve)(hostname);
  } catch (e) {
    throw new AppError('BAD_INPUT', `cannot resolve ${hostname}: ${(e as Error).message}`, { cause: e });
  }
  if (addrs.length === 0) throw new AppError('BAD_INPUT', `cannot resolve ${hostname}: no addresses`);
  for (const a of addrs) {
    const d = checkImportAddress(a.address, hostname, o.allowHosts);
    if (!d.ok) {
      const hint = d.reason === 'loopback' || d.reason === 'link-local' ? ' (list the host in assets.allowHosts to allow it)' : '';
      throw new AppError('FORBIDDEN', `refusing to fetch from ${url.host}: ${a.address} is ${REFUSAL_TEXT[d.reason]}${hint}`, {
        details: [{ path: 'url', message: `${d.reason} address refused` }],
      });
    }
  }
  return addrs[0] as Target;
}

/** One GET to the checked address (DNS is not asked again: the lookup is pinned), up to the response head. */
function requestOnce(url: URL, target: Target, o: UrlImportOptions): Promise<IncomingMessage> {
  const lookup = ((_host, opts, cb) => {
    if (opts.all) cb(null, [{ address: target.address, family: target.family }]);
    else cb(null, target.address, target.family);
  }) as LookupFunction;
  return new Promise((resolve, reject) => {
    const req = (url.protocol === 'https:' ? https : http).request({
      protocol: url.protocol,
      hostname: url.hostname.replace(/^\[|\]$/g, ''),
      port: url.port === '' ? undefined : Number(url.port),
      path: `${url.pathname}${url.search}`,
      method: 'GET',
      headers: { 'user-agent': 'rackboot', accept: '*/*' },
      agent: false, // no pooled socket from an earlier, differently resolved connection
      lookup,
    });
    const cancel = (o.setTimer ?? systemTimer)(o.timeoutMs, () =>
      req.destroy(new AppError('BAD_INPUT', `fetching ${url.href} timed out after ${o.timeoutMs} ms (assets.fetchTimeoutMs)`)),
    );
    req.once('response', (res) => {
      cancel();
      resolve(res);
    });
    req.once('error', (e) => {
      cancel();
      reject(e instanceof AppError ? e : new AppError('BAD_INPUT', `cannot fetch ${url.href}: ${e.message}`, { cause: e }));
    });
    req.end();
  });
}

/** The response body with an inactivity timeout: no chunk for timeoutMs aborts the download. */
function watchBody(res: IncomingMessage, url: URL, o: UrlImportOptions): Readable {
  const setTimer = o.setTimer ?? systemTimer;
  const stalled = () => out.destroy(new AppError('BAD_INPUT', `fetching ${url.href} stalled for ${o.timeoutMs} ms (assets.fetchTimeoutMs)`));
  let cancel = setTimer(o.timeoutMs, stalled);
  const out = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      cancel();
      cancel = setTimer(o.timeoutMs, stalled);
      cb(null, chunk);
    },
    flush(cb) {
      cancel();
      cb();
    },
  });
  pipeline(res, out, () => cancel());
  return out;
}

const refusedUrl = (d: Extract<UrlDecision, { ok: false }>, from?: URL) =>
  new AppError(from ? 'FORBIDDEN' : 'BAD_INPUT', from ? `redirect from ${from.href} refused: ${d.reason}` : `url: ${d.reason}`, {
    details: [{ path: 'url', message: d.reason }],
  });

/**
 * Opens an http(s) URL for import. Each hop's host is resolved and every address checked
 * (checkImportAddress) before connecting, the connection goes to the checked address, and
 * redirects are followed by hand, at most maxRedirects, each target checked the same way.
 * A Content-Length above maxBytes is refused before any body byte is read.
 */
export async function openUrlImport(raw: string, o: UrlImportOptions): Promise<ImportStream> {
  let decision = checkImportUrl(raw);
  let from: URL | undefined;
  for (let hop = 0; ; hop++) {
    if (!decision.ok) throw refusedUrl(decision, from);
    const url = decision.url;
    const res = await requestOnce(url, await checkedTarget(url, o), o);
    const status = res.statusCode ?? 0;
    if (REDIRECT_STATUSES.has(status)) {
      res.destroy();
      const location = res.headers.location;
      if (!location) throw new AppError('BAD_INPUT', `fetching ${url.href} answered HTTP ${status} without a Location`);
      if (hop >= o.maxRedirects) throw new AppError('BAD_INPUT', `fetching ${raw}: more than ${o.maxRedirects} redirects (assets.maxRedirects)`);
      decision = checkImportUrl(location, url);
      from = url;
      continue;
    }
    if (status !== 200) {
      res.destroy();
      throw new AppError('BAD_INPUT', `fetching ${url.href} answered HTTP ${status}`);
    }
    const length = res.headers['content-length'] === undefined ? undefined : Number(res.headers['content-length']);
    if (length !== undefined && length > o.maxBytes) {
      res.destroy();
      throw new AppError('BAD_INPUT', `artifact at ${url.href} is ${length} bytes, more than assets.maxImportBytes (${o.maxBytes})`);
    }
    return { stream: watchBody(res, url, o), size: length };
  }
}
