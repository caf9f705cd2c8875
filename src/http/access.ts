import type { FastifyRequest } from 'fastify';
import { ROLES, type Role } from '../model/roles.js';

/**
 * Who may call a route. Every route declares one in its options (`config: { access }`); a route
 * without one stops start-up (deny by default).
 * - `public-boot`: anything on the boot network (scripts, assets, health): holds no secret.
 * - `public-api`: the management listener's files that hold no data (the console's static
 *   bundle, which then calls the API with a token).
 * - `machine`: a machine proving itself with a per-boot token (config, report).
 * - `read` | `operate` | `admin`: the management API, by the role of the caller's API token.
 */
export const ACCESS_LEVELS = ['public-boot', 'public-api', 'machine', 'read', 'operate', 'admin'] as const;
export type Access = (typeof ACCESS_LEVELS)[number];

export { ROLES, type Role } from '../model/roles.js';

/** The authenticated caller of a management route. */
export interface Caller {
  role: Role;
  /** Token id in the inventory; null for the first-start admin token file. */
  tokenId: number | null;
  /** Token name, for the audit trail. */
  name: string;
}

/** Resolves a presented bearer token to its caller, or undefined (unknown, revoked, expired). */
export interface TokenVerifier {
  verify(bearer: string, nowMs: number): Caller | undefined;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: Access;
    /** Answered on both listeners (health checks only). */
    everywhere?: boolean;
  }
  interface FastifyRequest {
    caller?: Caller;
  }
}

/** Whether a role may call a route of this access level (management levels only). */
export function roleAllows(role: Role, access: Access): boolean {
  if (access === 'public-boot' || access === 'public-api' || access === 'machine') return true;
  return ROLES.indexOf(role) >= ROLES.indexOf(access);
}

/** The management caller of a request (set by the auth hook); undefined on boot routes. */
export function callerOf(req: FastifyRequest): Caller | undefined {
  return req.caller;
}

/** Whether this request may see sealed secrets (admin only, and only where a route offers it). */
export function mayUnseal(req: FastifyRequest): boolean {
  return req.caller?.role === 'admin';
}

/** Which listener serves a route of this access level. */
export function listenerOf(access: Access): 'boot' | 'api' {
  return access === 'public-boot' || access === 'machine' ? 'boot' : 'api';
}
