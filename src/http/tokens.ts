import { apiTokenState, hashTokenSecret } from '../inventory/api-tokens.js';
import type { ApiTokenRepo } from '../inventory/api-tokens.js';
import type { Logger } from '../log.js';
import type { Caller, TokenVerifier } from './access.js';
import { tokenMatches } from './auth.js';

/** How stale a token's last_used_at may get: one write per token per minute, not one per request. */
export const LAST_USED_RESOLUTION_MS = 60_000;

/** The caller of the first-start admin token file (data/admin.token). */
export const BOOTSTRAP_CALLER: Readonly<Caller> = Object.freeze({ role: 'admin', tokenId: null, name: 'bootstrap' });

/** Options of the verifier: where a failed last-use write is reported; the resolution is for tests. */
export interface TokenVerifierOptions {
  log?: Pick<Logger, 'warn'>;
  lastUsedResolutionMs?: number;
}

/**
 * The TokenVerifier over the inventory: the admin token file stays valid as role admin (compared in
 * constant time), inventory tokens resolve to their role unless revoked or expired at `nowMs`.
 * Every call reads the token's row, so a revocation counts from the next request.
 */
export function createTokenVerifier(
  store: { readonly apiTokens: ApiTokenRepo },
  adminToken: string | undefined,
  options: TokenVerifierOptions = {},
): TokenVerifier {
  const resolution = options.lastUsedResolutionMs ?? LAST_USED_RESOLUTION_MS;
  return {
    verify(bearer: string, nowMs: number): Caller | undefined {
      if (!bearer) return undefined;
      if (adminToken && tokenMatches(bearer, adminToken)) return { ...BOOTSTRAP_CALLER };
      const t = store.apiTokens.findByHash(hashTokenSecret(bearer));
      if (!t || apiTokenState(t, nowMs) !== 'active') return undefined;
      if (t.lastUsedAtMs === null || nowMs - t.lastUsedAtMs >= resolution) {
        // Bookkeeping only: a busy or read-only database must not turn a valid token away.
        try {
          store.apiTokens.touch(t.id, nowMs, nowMs - resolution + 1);
        } catch (err) {
          options.log?.warn({ err, tokenId: t.id }, 'api token last-use not recorded');
        }
      }
      return { role: t.role, tokenId: t.id, name: t.name };
    },
  };
}
