import type { z } from 'zod';
import { AppError } from '../errors.js';

/** Parses API input with zod; failures become BAD_INPUT with field-level details. */
export function parseBody<S extends z.ZodTypeAny>(schema: S, body: unknown, what = 'body'): z.infer<S> {
  const r = schema.safeParse(body);
  if (!r.success) {
    const details = r.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
    const first = details[0];
    throw new AppError('BAD_INPUT', `invalid ${what}${first ? `: ${first.path || '(root)'}: ${first.message}` : ''}`, {
      details,
    });
  }
  return r.data;
}
