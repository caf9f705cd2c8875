import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import { NOCLOUD_FILES, type ServedConfig, configVersionFor, fetchConfig, machineConfigs } from '../../config/index.js';
import { mayUnseal } from '../access.js';
import type { AppDeps } from '../app.js';
import { parseBody } from '../validate.js';
import { documented } from './openapi.js';

const tokenParams = z.object({ token: z.string().min(1).max(128) });
const fileParams = tokenParams.extend({ file: z.enum(NOCLOUD_FILES) });
const fetchQuery = z.object({ mac: z.string().max(64).optional() });
const refParams = z.object({ ref: z.string().min(1).max(128) });
const idParams = z.object({ id: z.coerce.number().int().min(1) });

/**
 * Sends stored bytes unchanged, with the digest as ETag; token URLs are never cached. A
 * redacted body (secrets shown as <sealed>) keeps the version's digest but not its ETag.
 */
function sendVersionBytes(reply: FastifyReply, s: Pick<ServedConfig, 'body' | 'contentType' | 'sha256'>, versionId: number, redacted = false): FastifyReply {
  if (redacted) void reply.header('x-config-redacted', 'secrets');
  return reply
    .header('content-type', s.contentType)
    .header('etag', `"sha256:${s.sha256}${redacted ? '+redacted' : ''}"`)
    .header('x-config-sha256', s.sha256)
    .header('x-config-version', String(versionId))
    .header('cache-control', 'no-store')
    .send(s.body);
}

/** Config delivery (/config/:token…) and the config-version admin API. */
export function registerConfigRoutes(app: FastifyInstance, deps: AppDeps): void {
  // No HEAD twin: a HEAD would spend a one-use token.
  app.get('/config/:token', { exposeHeadRoute: false, config: { access: 'machine' }, ...documented({ summary: "A machine's config document (per-boot token in the path, from the machine's address; optional ?mac=)", params: tokenParams, querystring: fetchQuery, produces: '*/*' }) }, async (req, reply) => {
    const { token } = parseBody(tokenParams, req.params, 'path');
    const { mac } = parseBody(fetchQuery, req.query, 'query');
    const served = fetchConfig(deps, token, mac === undefined ? { source: req.ip } : { source: req.ip, mac });
    return sendVersionBytes(reply, served, served.version.id);
  });
  app.get('/config/:token/:file', { exposeHeadRoute: false, config: { access: 'machine' }, ...documented({ summary: 'NoCloud-net seed files: user-data, meta-data, vendor-data', params: fileParams, querystring: fetchQuery, produces: 'text/plain' }) }, async (req, reply) => {
    const { token, file } = parseBody(fileParams, req.params, 'path');
    const { mac } = parseBody(fetchQuery, req.query, 'query');
    const served = fetchConfig(deps, token, mac === undefined ? { source: req.ip, file } : { source: req.ip, file, mac });
    return sendVersionBytes(reply, served, served.version.id);
  });

  app.get('/api/v1/machines/:ref/configs', { config: { access: 'read' }, ...documented({ summary: "A machine's desired config version and all its versions", params: refParams }) }, async (req) => {
    const { ref } = parseBody(refParams, req.params, 'path');
    return machineConfigs(deps, deps.store.machines.get(ref).id);
  });
  app.get('/api/v1/configs/:id', { config: { access: 'read' }, ...documented({ summary: 'The bytes of any config version (rollback, audit); secrets shown as <sealed> unless the caller is admin', params: idParams, produces: '*/*' }) }, async (req, reply) => {
    const { id } = parseBody(idParams, req.params, 'path');
    // Only an admin gets the exact bytes; anyone else gets them with every secret shown as <sealed>.
    const v = configVersionFor(deps, id, mayUnseal(req));
    return sendVersionBytes(reply, v, v.id, v.redacted);
  });
}
