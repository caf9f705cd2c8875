import { ROLES } from '../http/access.js';
import type { ApiClient } from './client.js';
import { table } from './format.js';
import { UsageError, need } from './machines.js';

type Values = Record<string, string | boolean | string[] | undefined>;

interface TokenView {
  id: number;
  name: string;
  role: string;
  state: string;
  createdAt: string;
  expiresAt: string | null;
  revokedAt: string | null;
  lastUsedAt: string | null;
}

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 };

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** Seconds in a duration: a plain number of seconds, or a number with s, m, h, d or w (`3600`, `12h`, `30d`). */
export function parseDuration(text: string): number {
  const m = /^\s*([0-9]+)\s*([smhdw]?)\s*$/i.exec(text);
  const n = m ? Number(m[1]) * (UNIT_SECONDS[(m[2] || 's').toLowerCase()] ?? 0) : 0;
  if (!Number.isSafeInteger(n) || n <= 0) {
    throw new UsageError(`bad duration ${JSON.stringify(text)} (seconds, or a number with s, m, h, d or w: 3600, 12h, 30d)`);
  }
  return n;
}

/** `rackboot tokens create|list|revoke`: scoped API tokens (admin only on the server). */
export async function tokensCommand(api: ApiClient, sub: string, args: string[], o: Values): Promise<string> {
  const json = o.json === true;
  switch (sub) {
    case 'create': {
      const role = need(str(o.role), '--role');
      if (!(ROLES as readonly string[]).includes(role)) throw new UsageError(`unknown role ${JSON.stringify(role)} (${ROLES.join('|')})`);
      const ttl = str(o.ttl);
      const body = {
        role,
        ...(str(o.name) ? { name: str(o.name) } : {}),
        ...(ttl !== undefined ? { ttlSeconds: parseDuration(ttl) } : {}),
      };
      const t = await api.request<TokenView & { secret: string }>('POST', '/api/v1/tokens', body);
      if (json) return JSON.stringify(t, null, 2);
      return [
        `created token ${t.name} (id ${t.id}, role ${t.role}, ${t.expiresAt ? `expires ${t.expiresAt}` : 'no expiry'})`,
        t.secret,
        'This secret is shown once; store it now (RACKBOOT_TOKEN=...).',
      ].join('\n');
    }
    case 'list': {
      const { items } = await api.get<{ items: TokenView[] }>('/api/v1/tokens');
      if (json) return JSON.stringify(items, null, 2);
      return table(
        ['ID', 'NAME', 'ROLE', 'STATE', 'CREATED', 'EXPIRES', 'LAST USED'],
        items.map((t) => [t.id, t.name, t.role, t.state, t.createdAt, t.expiresAt, t.lastUsedAt]),
      );
    }
    case 'revoke': {
      const ref = need(args[0], 'NAME or ID');
      const t = await api.request<TokenView>('DELETE', `/api/v1/tokens/${encodeURIComponent(ref)}`);
      return json ? JSON.stringify(t, null, 2) : `revoked ${t.name} (id ${t.id}, since ${t.revokedAt})`;
    }
    default:
      throw new UsageError(`unknown tokens command ${JSON.stringify(sub)} (create|list|revoke)`);
  }
}
