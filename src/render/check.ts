import type { z } from 'zod';
import { AppError } from '../errors.js';

/** One validation failure: a dotted JSON path and the reason. */
export interface InvalidPath {
  path: string;
  message: string;
}

/**
 * Parses `value` with a zod schema; failures become INVALID_CONFIG (422) whose details name
 * each failing path, prefixed with where the value lives (e.g. `spec.talos`).
 */
export function parseConfig<S extends z.ZodTypeAny>(schema: S, value: unknown, prefix: string, what: string): z.infer<S> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const details: InvalidPath[] = r.error.issues.map((i) => ({ path: joinPath(prefix, i.path), message: i.message }));
  throw invalidConfig(what, details);
}

/** Builds the INVALID_CONFIG error for a list of failing paths. */
export function invalidConfig(what: string, details: InvalidPath[]): AppError {
  const first = details[0];
  return new AppError('INVALID_CONFIG', `invalid ${what}${first ? `: ${first.path}: ${first.message}` : ''}`, { details });
}

/** Joins a prefix and a zod path into `a.b[2].c`. */
export function joinPath(prefix: string, path: ReadonlyArray<string | number>): string {
  let out = prefix;
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out ? `.${p}` : p;
  return out || '(root)';
}
