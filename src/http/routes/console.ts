import { createReadStream, realpathSync, statSync } from 'node:fs';
import { extname, resolve, sep } from 'node:path';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from '../../log.js';
import { z } from 'zod';
import { ROLES, callerOf } from '../access.js';
import { documented } from './openapi.js';

/** Where `npm run build:ui` writes the console (src/http/routes → dist/http/routes: both three levels below the root). */
export const CONSOLE_DIST = resolve(import.meta.dirname, '../../../ui/dist');

/** What the console routes need (AppDeps has it): a logger, and where the built bundle is (tests point it elsewhere). */
export interface ConsoleDeps {
  log?: Logger;
  uiDir?: string;
}

/** Answer of GET /api/v1/whoami. */
const whoamiSchema = z.object({ name: z.string().nullable(), role: z.enum(ROLES).nullable(), tokenId: z.number().int().nullable() });

/** Content types of the files Vite emits (anything else is served as bytes). */
const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

/**
 * The bundle calls only its own origin: no inline script, no third-party anything, no framing.
 * Inline `style=` attributes are set by Preact through the CSSOM, which style-src does not govern.
 */
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const NOT_BUILT =
  'The rackboot console is not built on this host.\n\n' +
  'Build it with `npm run build:ui` (scripts/setup.sh does it for `npm start` and `npm test` when\n' +
  'ui/ sources are newer than ui/dist/), then reload. The API and the CLI work without it.\n';

/**
 * The web console (issue #18) on the management listener: `/` and `/ui` redirect to `/ui/`,
 * `/ui/*` serves the files of `ui/dist` with access `public-api` (they hold no data; the app then
 * calls the API with the operator's token), and `GET /api/v1/whoami` tells the console its role.
 * Targets reach here normalized by the guard (no dot segments, no encoded separators); the file
 * is still resolved and checked to be inside the bundle, symlinks included.
 */
export function registerConsoleRoutes(app: FastifyInstance, deps: ConsoleDeps = {}): void {
  const root = resolve(deps.uiDir ?? CONSOLE_DIST);
  if (!bundleFile(root, 'index.html')) deps.log?.warn({ uiDir: root }, 'web console not built (npm run build:ui): /ui/ answers 404');
  const publicApi = { config: { access: 'public-api' as const } };
  const toConsole = async (_req: FastifyRequest, reply: FastifyReply) => reply.redirect('/ui/', 302);
  app.get('/', { ...publicApi, ...documented({ summary: 'Redirects to the web console (/ui/)', success: 302 }) }, toConsole);
  app.get('/ui', { ...publicApi, ...documented({ summary: 'Redirects to the web console (/ui/)', success: 302 }) }, toConsole);
  app.get('/ui/*', { ...publicApi, ...documented({ summary: "The web console's static files (ui/dist); they hold no data", produces: '*/*' }) }, async (req, reply) => {
    const rel = (req.params as { '*'?: string })['*'] ?? '';
    return sendBundleFile(reply, root, rel === '' || rel.endsWith('/') ? `${rel}index.html` : rel);
  });
  app.get('/api/v1/whoami', { config: { access: 'read' }, ...documented({ summary: 'The calling token: name and role (the console shows only the actions the role may take)', response: { 200: whoamiSchema } }) }, async (req) => {
    const c = callerOf(req);
    return { name: c?.name ?? null, role: c?.role ?? null, tokenId: c?.tokenId ?? null };
  });
}

/** Sends one file of the bundle with its type and cache policy, or a plain-text 404. */
function sendBundleFile(reply: FastifyReply, root: string, rel: string): FastifyReply {
  const file = bundleFile(root, rel);
  if (!file) {
    const built = bundleFile(root, 'index.html') !== undefined;
    return reply
      .status(404)
      .header('content-type', 'text/plain; charset=utf-8')
      .header('cache-control', 'no-store')
      .send(built ? `No such file in the rackboot console: /ui/${rel}\n` : NOT_BUILT);
  }
  const etag = `W/"${file.size.toString(16)}-${Math.floor(file.mtimeMs).toString(16)}"`;
  void reply
    .header('content-type', CONTENT_TYPES[extname(file.path).toLowerCase()] ?? 'application/octet-stream')
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'no-referrer')
    .header('content-security-policy', CSP)
    .header('x-frame-options', 'DENY')
    .header('etag', etag)
    // Vite names everything under assets/ by its content hash; index.html is revalidated each load.
    .header('cache-control', rel.startsWith('assets/') ? 'public, max-age=31536000, immutable' : 'no-cache');
  if (reply.request.headers['if-none-match'] === etag) return reply.status(304).send();
  return reply.header('content-length', String(file.size)).send(createReadStream(file.path));
}

/** The regular file `rel` names inside `root` (after resolving symlinks), or undefined. */
function bundleFile(root: string, rel: string): { path: string; size: number; mtimeMs: number } | undefined {
  // Hidden names (.DS_Store, .vite/) are never part of what we serve.
  if (rel.split('/').some((seg) => seg === '' || seg.startsWith('.'))) return undefined;
  try {
    const realRoot = realpathSync(root);
    const path = realpathSync(resolve(realRoot, rel));
    if (!path.startsWith(realRoot + sep)) return undefined;
    const st = statSync(path);
    return st.isFile() ? { path, size: st.size, mtimeMs: st.mtimeMs } : undefined;
  } catch {
    return undefined;
  }
}
