/**
 * Migration 017: where PostgreSQL's config token ids come from. Migration 016 let each process
 * count ids on from the largest stored one, which holds for SQLite (one process behind the data
 * dir's lock) but not for several appliances on one PostgreSQL inventory: each counted from the
 * same maximum, so they handed out the same ids and every boot whose insert came second failed.
 * ConfigRepo.nextTokenId takes a block of TOKEN_ID_BLOCK ids per nextval here instead (one round
 * trip per block, ids unique across appliances). The increment must equal TOKEN_ID_BLOCK.
 */
/** SQLite: nothing to change (one process writes; ConfigRepo counts ids in memory), said in SQL so the step is not mistaken for a missing one. */
export const sql = `
-- Nothing for SQLite: config token ids are counted by the one process behind the data dir's lock.
`;

/** PostgreSQL: the sequence, starting after every stored id. */
export const pg = `
CREATE SEQUENCE config_token_ids AS BIGINT INCREMENT BY 64 MINVALUE 1;
SELECT setval('config_token_ids', (SELECT coalesce(max(id), 0) + 1 FROM config_tokens), false);
`;
