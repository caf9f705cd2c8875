import { AppError } from '../errors.js';
import type { SecretBox } from './secrets.js';

/**
 * What every read route shows in place of a sealed value; sent back in a write, it means
 * "keep the stored value" (export → edit → import without the secrets).
 */
export const SEALED = '<sealed>';

/** A path to a secret subtree inside a JSON document, e.g. `['talos', 'secrets']`. */
export type SecretPath = readonly string[];

/** Profile spec subtrees whose every leaf is a secret (Talos cluster CA keys, tokens). */
export const PROFILE_SECRET_PATHS: readonly SecretPath[] = [['talos', 'secrets']];

/** BMC option keys that are secrets (IPMI two-key login Kg). */
export const BMC_SECRET_OPTIONS = ['kgHex'] as const;

/** Secret subtrees taken out of a document, keyed by their dotted path. */
export type SecretParts = Record<string, unknown>;

type Json = unknown;

const isObject = (v: Json): v is Record<string, Json> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The value at `path`, or undefined. */
export function valueAt(doc: Json, path: SecretPath): Json {
  let cur = doc;
  for (const k of path) {
    if (!isObject(cur)) return undefined;
    cur = cur[k];
  }
  return cur;
}

/** A copy of `doc` with `value` at `path` (objects on the way copied, never mutated). */
function withValueAt(doc: Json, path: SecretPath, value: Json): Json {
  const [head, ...rest] = path;
  if (head === undefined) return value;
  const obj = isObject(doc) ? doc : {};
  return { ...obj, [head]: withValueAt(obj[head], rest, value) };
}

/** The same shape with every leaf replaced by SEALED (which fields exist stays visible). */
export function maskLeaves(v: Json): Json {
  if (Array.isArray(v)) return v.map(maskLeaves);
  if (isObject(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, maskLeaves(x)]));
  return v === undefined || v === null ? v : SEALED;
}

/** Every string leaf of a value (the secret strings a rendering may contain). */
export function stringLeaves(v: Json, out: string[] = []): string[] {
  if (typeof v === 'string') out.push(v);
  else if (Array.isArray(v)) for (const x of v) stringLeaves(x, out);
  else if (isObject(v)) for (const x of Object.values(v)) stringLeaves(x, out);
  return out;
}

/** Whether any leaf of `v` is the SEALED placeholder. */
export function hasPlaceholder(v: Json): boolean {
  return stringLeaves(v).includes(SEALED);
}

/**
 * Splits a clear document into its masked form (secrets shown as SEALED) and the secret
 * subtrees; `secrets` is null when the document holds none.
 */
export function splitSecrets<T>(doc: T, paths: readonly SecretPath[]): { masked: T; secrets: SecretParts | null } {
  let masked: Json = doc;
  const secrets: SecretParts = {};
  for (const p of paths) {
    const v = valueAt(doc, p);
    if (v === undefined) continue;
    secrets[p.join('.')] = v;
    masked = withValueAt(masked, p, maskLeaves(v));
  }
  return { masked: masked as T, secrets: Object.keys(secrets).length ? secrets : null };
}

/** Puts secret subtrees back into a masked document (the clear document, for renderers). */
export function joinSecrets<T>(masked: T, secrets: SecretParts | null): T {
  let doc: Json = masked;
  for (const [key, v] of Object.entries(secrets ?? {})) doc = withValueAt(doc, key.split('.'), v);
  return doc as T;
}

/**
 * Replaces each SEALED leaf under the secret paths of `incoming` with the stored value at the
 * same place (a whole subtree given as SEALED keeps the whole stored subtree). A placeholder
 * with nothing stored behind it is BAD_INPUT naming its path: the literal is never stored.
 */
export function fillPlaceholders<T>(incoming: T, stored: Json, paths: readonly SecretPath[], prefix: string): T {
  let doc: Json = incoming;
  for (const p of paths) {
    const v = valueAt(incoming, p);
    if (v === undefined) continue;
    doc = withValueAt(doc, p, fill(v, valueAt(stored, p), `${prefix}.${p.join('.')}`));
  }
  return doc as T;
}

function fill(v: Json, stored: Json, where: string): Json {
  if (v === SEALED) {
    if (stored === undefined || stored === null || hasPlaceholder(stored)) {
      throw new AppError('BAD_INPUT', `${where} is ${SEALED} but no value is stored for it: give the secret itself`, {
        details: [{ path: where, message: 'sealed placeholder without a stored value' }],
      });
    }
    return stored;
  }
  if (Array.isArray(v)) return v.map((x, i) => fill(x, Array.isArray(stored) ? stored[i] : undefined, `${where}[${i}]`));
  if (isObject(v)) {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, fill(x, isObject(stored) ? stored[k] : undefined, `${where}.${k}`)]));
  }
  return v;
}

/** Seals a JSON value (AES-256-GCM with the inventory key). */
export function sealJson(box: SecretBox, value: Json): Buffer {
  return box.seal(JSON.stringify(value));
}

/** Opens a value sealed by sealJson; null in, null out. */
export function openJson<T = Json>(box: SecretBox, sealed: Buffer | null | undefined): T | null {
  return sealed ? (JSON.parse(box.open(sealed)) as T) : null;
}
