/**
 * Whether a number can name a row: a safe integer. PostgreSQL refuses a BIGINT parameter past
 * 2^63 with an error where SQLite finds nothing, and a JS number past 2^53 is not exact anyway,
 * so a repository answers "no such row" for any other number without asking the database.
 */
export function isRowId(n: number): boolean {
  return Number.isSafeInteger(n);
}

/**
 * A bound for `id > ?` that both stores take and that selects the same rows as `n` would:
 * whole (ids are integers) and within the safe range (no id lies beyond it).
 */
export function rowIdBound(n: number): number {
  return Math.min(Math.max(Math.floor(n), -Number.MAX_SAFE_INTEGER), Number.MAX_SAFE_INTEGER);
}
