/**
 * Request-target hygiene (RFC 9112 §3.2, RFC 3986 §6.2.2): rackboot answers only origin-form
 * targets whose path is already normalized, so the path a decision is made on and the path the
 * router matched can never differ. Anything else is refused with 400 before any route runs.
 */

/** RFC 3986 §2.3 unreserved characters: percent-encoding them is never needed. */
const UNRESERVED = /[A-Za-z0-9\-._~]/;

/** Why a raw request target is refused, or null when it is a normalized origin-form target. */
export function targetProblem(rawUrl: string): string | null {
  if (!rawUrl.startsWith('/')) return 'absolute-form or authority-form request target';
  const q = rawUrl.indexOf('?');
  const path = q < 0 ? rawUrl : rawUrl.slice(0, q);
  if (path.startsWith('//') || path.includes('//')) return 'empty path segment (//)';
  if (path.includes('\\')) return 'backslash in path';
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i);
    if (c < 0x21 || c === 0x7f) return 'control character or space in path';
    if (path[i] !== '%') continue;
    const hex = path.slice(i + 1, i + 3);
    if (!/^[0-9A-Fa-f]{2}$/.test(hex)) return 'malformed percent-encoding';
    const ch = String.fromCharCode(Number.parseInt(hex, 16));
    if (UNRESERVED.test(ch)) return `percent-encoded unreserved character (%${hex})`;
    if (ch === '/' || ch === '\\' || ch === '\0') return `percent-encoded separator (%${hex})`;
  }
  for (const seg of path.split('/')) {
    if (seg === '.' || seg === '..') return 'dot segment in path';
  }
  return null;
}
