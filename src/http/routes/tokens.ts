import { randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { type ApiTokenInfo, type ApiTokenState, apiTokenState } from '../../inventory/api-tokens.js';
import type { Store } from '../../inventory/store.js';
import type { Logger } from '../../log.js';
import { ROLES, callerOf } from '../access.js';
import { parseBody } from '../validate.js';
import { documented } from './openapi.js';
import { EVENT } from '../../lifecycle/event-kinds.js';

/** Ten years: a longer lifetime is a token that should have no expiry. */
const MAX_TTL_SECONDS = 10 * 365 * 86_400;

/** A token name: letters, digits, `.`, `_`, `-`; never all digits (a decimal reference is an id). */
export const tokenNameSchema = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'letters, digits, ".", "_" or "-", starting with a letter or digit')
  .refine((s) => !/^[0-9]+$/.test(s), 'a name cannot be all digits (those refer to token ids)');

/** Body of POST /api/v1/tokens; without a name one is made up from the role. */
export const tokenCreateSchema = z
  .object({
    name: tokenNameSchema.optional(),
    role: z.enum(ROLES),
    ttlSeconds: z.number().int().positive().max(MAX_TTL_SECONDS).optional(),
  })
  .strict();

const refParams = z.object({ ref: z.string().min(1).max(64) });

/** What the token routes need. `now` is the clock (tests). */
export interface TokenRouteDeps {
  store: Pick<Store, 'apiTokens' | 'events'>;
  log: Logger;
  now?: () => number;
}

/** A token with whether it can be used now (the table keeps revoked and expired ones). */
export type ApiTokenView = ApiTokenInfo & { state: ApiTokenState };

/** Who did it, for the event trail. */
function actorOf(req: FastifyRequest): { by: string | null; byTokenId: number | null } {
  const c = callerOf(req);
  return { by: c?.name ?? null, byTokenId: c?.tokenId ?? null };
}

/** The state of a shown token at `nowMs`. */
export function viewToken(t: ApiTokenInfo, nowMs: number): ApiTokenView {
  const ms = (s: string | null) => (s === null ? null : Date.parse(s));
  return { ...t, state: apiTokenState({ revokedAtMs: ms(t.revokedAt), expiresAtMs: ms(t.expiresAt) }, nowMs) };
}

/** POST/GET /api/v1/tokens and DELETE /api/v1/tokens/:ref, all admin-only; create and revoke go to the event trail. */
export function registerTokenRoutes(app: FastifyInstance, deps: TokenRouteDeps): void {
  const now = deps.now ?? Date.now;
  const log = deps.log.child({ subsys: 'auth' });
  const admin = { config: { access: 'admin' as const } };

  app.post('/api/v1/tokens', { ...admin, ...documented({ summary: 'Create an API token; the secret is in this answer only', body: tokenCreateSchema, success: 201 }) }, async (req, reply) => {
    const body = parseBody(tokenCreateSchema, req.body, 'token');
    const name = body.name ?? `${body.role}-${randomBytes(3).toString('hex')}`;
    const { token, secret } = deps.store.apiTokens.create({ name, role: body.role, ttlSeconds: body.ttlSeconds }, now());
    const actor = actorOf(req);
    deps.store.events.add({
      source: 'auth',
      kind: EVENT.tokenCreated,
      detail: { tokenId: token.id, name: token.name, role: token.role, expiresAt: token.expiresAt, ...actor },
    });
    log.info({ tokenId: token.id, name: token.name, role: token.role, expiresAt: token.expiresAt, by: actor.by }, 'api token created');
    void reply.code(201);
    return { ...viewToken(token, now()), secret };
  });

  app.get('/api/v1/tokens', { ...admin, ...documented({ summary: 'List API tokens: names, roles, times; never secrets' }) }, async () => {
    const at = now();
    return { items: deps.store.apiTokens.list().map((t) => viewToken(t, at)) };
  });

  app.delete('/api/v1/tokens/:ref', { ...admin, ...documented({ summary: 'Revoke an API token by id or name; it stays listed', params: refParams }) }, async (req) => {
    const { ref } = parseBody(refParams, req.params, 'path');
    const { token, revoked } = deps.store.apiTokens.revoke(ref, now());
    if (revoked) {
      const actor = actorOf(req);
      deps.store.events.add({
        source: 'auth',
        kind: EVENT.tokenRevoked,
        detail: { tokenId: token.id, name: token.name, role: token.role, ...actor },
      });
      log.info({ tokenId: token.id, name: token.name, by: actor.by }, 'api token revoked');
    }
    return viewToken(token, now());
  });
}
