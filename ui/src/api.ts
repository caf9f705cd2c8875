/** The console's only way to the API: same origin, bearer token from sessionStorage, typed errors. */

const TOKEN_KEY = 'rackboot.token';
const ROLE_KEY = 'rackboot.role';

/** Roles of API tokens, weakest first (src/http/access.ts). */
export type Role = 'read' | 'operate' | 'admin';

/** An error answer of the API (`{ error: { code, message } }`) or a network failure (status 0). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
  /** The route does not exist on this rackboot (an older build): the panel using it hides itself. */
  get missingRoute(): boolean {
    return this.status === 404 && this.message.startsWith('no route');
  }
}

/** The session token (tab-scoped: sessionStorage, gone when the tab closes). */
export function getToken(): string | null {
  return sessionStorage.getItem(TOKEN_KEY);
}

/** Stores the token and the role learned for it. */
export function setSession(token: string, role: Role): void {
  sessionStorage.setItem(TOKEN_KEY, token);
  sessionStorage.setItem(ROLE_KEY, role);
}

/** The role learned at login, if any. */
export function getRole(): Role | null {
  const r = sessionStorage.getItem(ROLE_KEY);
  return r === 'read' || r === 'operate' || r === 'admin' ? r : null;
}

/** Forgets the token (logout, or a 401). */
export function clearSession(): void {
  sessionStorage.removeItem(TOKEN_KEY);
  sessionStorage.removeItem(ROLE_KEY);
}

/** Called on every 401: the app goes back to the login form. */
let onUnauthorized: () => void = () => {};
export function setUnauthorizedHandler(fn: () => void): void {
  onUnauthorized = fn;
}

/** The token was refused: forget it and go back to the login form. */
export function signalUnauthorized(): void {
  clearSession();
  onUnauthorized();
}

/** Whether `role` may do what `need` requires. */
export function roleAtLeast(role: Role | null, need: Role): boolean {
  const order: Role[] = ['read', 'operate', 'admin'];
  return role !== null && order.indexOf(role) >= order.indexOf(need);
}

/** Low-level call: sends the token, maps error answers to ApiError, 401 to the login form. */
export async function request(method: string, path: string, body?: unknown, token = getToken()): Promise<Response> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  let res: Response;
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store' });
  } catch (e) {
    throw new ApiError(0, 'NETWORK', `rackboot did not answer (${(e as Error).message})`);
  }
  if (res.ok) return res;
  let code = `HTTP_${res.status}`;
  let message = res.statusText || `HTTP ${res.status}`;
  try {
    const j = (await res.json()) as { error?: { code?: string; message?: string } };
    code = j.error?.code ?? code;
    message = j.error?.message ?? message;
  } catch {
    // Not JSON (a proxy's page): keep the status text.
  }
  if (res.status === 401 && token === getToken()) signalUnauthorized();
  throw new ApiError(res.status, code, message);
}

/** GET/POST/PUT returning JSON. */
export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await request(method, path, body);
  return (res.status === 204 ? null : await res.json()) as T;
}

/** GET returning text (config bodies). */
export async function apiText(path: string): Promise<string> {
  return (await request('GET', path)).text();
}

/** Encodes one path segment (machine names, MACs). */
export const seg = (s: string | number): string => encodeURIComponent(String(s));

/**
 * Learns a token's role: `GET /api/v1/whoami`, or on an older rackboot without it, probes that
 * change nothing (an admin-only list; an operate route with an invalid id, refused 403 by the
 * guard before it would be refused 400 by the handler).
 */
export async function learnRole(token: string): Promise<Role> {
  try {
    const who = (await (await request('GET', '/api/v1/whoami', undefined, token)).json()) as { role?: Role };
    if (who.role) return who.role;
  } catch (e) {
    if (!(e instanceof ApiError) || !e.missingRoute) throw e;
  }
  const refused = async (method: string, path: string) => {
    try {
      await request(method, path, method === 'GET' ? undefined : {}, token);
      return false;
    } catch (e) {
      if (e instanceof ApiError && e.status === 403) return true;
      if (e instanceof ApiError && e.status === 401) throw e;
      return false;
    }
  };
  if (!(await refused('GET', '/api/v1/tokens'))) return 'admin';
  if (!(await refused('POST', '/api/v1/rollouts/0/pause'))) return 'operate';
  return 'read';
}
