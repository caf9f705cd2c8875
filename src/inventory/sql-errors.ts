/**
 * A unique constraint as each dialect names it in its error: SQLite by its columns
 * ("UNIQUE constraint failed: api_tokens.name"), PostgreSQL by the constraint or index
 * (`duplicate key value violates unique constraint "api_tokens_name_key"`).
 */
export interface UniqueTarget {
  /** `table.column` as SQLite's message lists it. */
  columns: string;
  /** The PostgreSQL constraint or unique index name. */
  constraint: string;
}

/**
 * Whether a statement failed on a unique constraint (SQLite's SQLITE_CONSTRAINT_UNIQUE, not its
 * PRIMARYKEY code; PostgreSQL's SQLSTATE 23505, which covers primary keys too, so a target is
 * needed to tell them apart), on `target` when given.
 */
export function isUniqueViolation(err: unknown, target?: UniqueTarget): boolean {
  const e = err as { code?: unknown; message?: unknown; constraint?: unknown } | null;
  const message = typeof e?.message === 'string' ? e.message : '';
  if (e?.code === 'SQLITE_CONSTRAINT_UNIQUE') return !target || message.includes(target.columns);
  if (e?.code === '23505') return !target || e.constraint === target.constraint || message.includes(`"${target.constraint}"`);
  return false;
}
