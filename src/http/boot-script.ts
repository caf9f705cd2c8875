/**
 * The iPXE script route's lean path (issue #21). A boot script is a small template fill; on a
 * boot storm fastify's per-request machinery (hooks, child logger, router, reply pipeline) cost
 * more than the boot itself. The boot listener's raw handler therefore answers exactly the
 * script requests it can answer byte for byte as the fastify route would, with the same
 * handler (routes/boot.ts) and the same access rule, error answer and metrics, and hands every
 * other request (other routes and methods, a target the guard refuses, an unusual query, the
 * API listener, a closing app) to fastify unchanged.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parse as parseQuery } from 'node:querystring';
import { BOOT_PATHS } from '../boot/urls.js';
import type { Logger } from '../log.js';
import { targetProblem } from './path-policy.js';

/** One boot-script request, whichever path received it. */
export interface ScriptRequest {
  /** The MAC as requested (`?mac=` or `<mac>.ipxe`), not yet normalized. */
  rawMac: string | undefined;
  /** The parsed query (an unknown MAC's identity claim reads uuid and serial from it). */
  query: unknown;
  /** The request's source address (the socket's peer). */
  ip: string;
  /** The connection's local end (the base URL's fallback while no public URL is fixed). */
  socket: { localAddress?: string | undefined; localPort?: number | undefined };
}

/** A boot-script answer: always text/plain and never cached. */
export interface ScriptAnswer {
  status: number;
  body: string;
}

/** Answers one boot-script request (registerBootRoutes builds it; both paths call it). */
export type BootScriptHandler = (r: ScriptRequest) => ScriptAnswer | Promise<ScriptAnswer>;

/** The headers of every boot-script answer, in the order fastify writes them. */
export const SCRIPT_HEADERS = { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' } as const;

/** The MAC part of `/boot/<mac>.ipxe` (undefined: not a `.ipxe` name). */
export function scriptFileMac(file: string): string | undefined {
  return file.endsWith('.ipxe') ? file.slice(0, -'.ipxe'.length) : undefined;
}

/** A script request the lean path takes, with the route and the arguments the route would see. */
export interface LeanScriptTarget {
  /** The route it stands for (the metrics label). */
  route: string;
  rawMac: string | undefined;
  query: Record<string, unknown>;
}

/** Path and query characters whose parsing cannot differ between the router's parser and node's. */
const PLAIN_PATH = /^\/[A-Za-z0-9._:-]+(\/[A-Za-z0-9._:-]+)?$/;
const PLAIN_QUERY = /^[A-Za-z0-9._~:=&-]*$/;
const FILE_PREFIX = BOOT_PATHS.scriptByPath.slice(0, BOOT_PATHS.scriptByPath.indexOf(':'));
/** `/boot.ipxe?mac=<one plain value of at most 64 characters>`: the common script request. */
const SCRIPT_MAC_URL = new RegExp(`^${BOOT_PATHS.script.replaceAll('.', '\\.')}\\?mac=([A-Za-z0-9._:-]{1,64})$`);

/**
 * The lean path's routing (pure): a GET of the script or its path form with a target the guard
 * accepts, a plain query (no percent-encoding or `+`: the two query parsers agree on it) and at
 * most one `mac` of at most 64 characters; undefined for anything else (fastify answers it).
 */
export function leanScriptTarget(method: string | undefined, url: string | undefined): LeanScriptTarget | undefined {
  if (method !== 'GET' || !url) return undefined;
  // What iPXE asks for (`?mac=${net0/mac}`), without the general parse: the answer it would give.
  const plain = SCRIPT_MAC_URL.exec(url);
  if (plain) {
    const mac = plain[1] as string;
    return { route: BOOT_PATHS.script, rawMac: mac, query: { mac } };
  }
  if (targetProblem(url) !== null) return undefined;
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  const rawQuery = q < 0 ? '' : url.slice(q + 1);
  if (!PLAIN_PATH.test(path) || !PLAIN_QUERY.test(rawQuery)) return undefined;
  const query = { ...parseQuery(rawQuery) } as Record<string, unknown>;
  if (path === BOOT_PATHS.script) {
    const mac = query.mac;
    if (mac !== undefined && (typeof mac !== 'string' || mac.length > 64)) return undefined;
    return { route: BOOT_PATHS.script, rawMac: mac, query };
  }
  if (path.startsWith(FILE_PREFIX)) {
    const file = path.slice(FILE_PREFIX.length);
    if (file.length === 0 || file.length > 64 || file.includes('/')) return undefined;
    return { route: BOOT_PATHS.scriptByPath, rawMac: scriptFileMac(file), query };
  }
  return undefined;
}

/** What the lean path needs beyond the script handler. */
export interface LeanPathDeps {
  script: BootScriptHandler;
  /** True when the raw request arrived on the listener that serves boot routes. */
  onBootListener(req: IncomingMessage): boolean;
  /** The same error answer the app's error handler gives (status and JSON body). */
  errorAnswer(err: unknown): { status: number; body: string };
  /** Logs a failed request as the error handler does. */
  log: Pick<Logger, 'error'>;
  /** The request metrics the app's onResponse hook records. */
  observe?: ((route: string, method: string, status: number, seconds: number) => void) | undefined;
}

/** A raw request handler that answers lean script requests and returns false for every other request. */
export function leanScriptPath(deps: LeanPathDeps): (req: IncomingMessage, res: ServerResponse) => boolean {
  return (req, res) => {
    const target = leanScriptTarget(req.method, req.url);
    if (!target || !deps.onBootListener(req)) return false;
    const started = process.hrtime.bigint();
    // Headers as a flat list (no object to build per answer), in the order fastify writes them.
    const finish = (status: number, contentType: string, body: string) => {
      res.writeHead(status, ['content-type', contentType, 'cache-control', SCRIPT_HEADERS['cache-control'], 'content-length', String(Buffer.byteLength(body))]);
      res.end(body);
      deps.observe?.(target.route, 'GET', status, Number(process.hrtime.bigint() - started) / 1e9);
    };
    const fail = (err: unknown) => {
      const e = deps.errorAnswer(err);
      if (e.status >= 500) deps.log.error({ err }, 'request failed');
      finish(e.status, 'application/json; charset=utf-8', e.body);
    };
    try {
      const answer = deps.script({ rawMac: target.rawMac, query: target.query, ip: req.socket.remoteAddress ?? '', socket: req.socket });
      if (answer instanceof Promise) answer.then((a) => finish(a.status, SCRIPT_HEADERS['content-type'], a.body), fail);
      else finish(answer.status, SCRIPT_HEADERS['content-type'], answer.body);
    } catch (err) {
      fail(err);
    }
    return true;
  };
}
