/**
 * Migration 013: config tokens by (machine, kind) (issue #21). Every network boot revokes the
 * machine's earlier report tokens (DELETE … WHERE machine_id = ? AND kind = 'report'); with only
 * config_tokens_machine, that walked every token of the machine, and a machine's config tokens
 * pile up until they expire (one per boot), so each boot cost more than the one before. The new
 * index finds the report tokens directly and serves every machine_id lookup the old one did
 * (retention, the cascade of a machine delete), so the old one goes.
 */
export const sql = `
CREATE INDEX config_tokens_machine_kind ON config_tokens(machine_id, kind);
DROP INDEX config_tokens_machine;
`;

/** PostgreSQL: the same statements. */
export const pg = sql;
