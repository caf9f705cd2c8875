/**
 * Migration 015: which appliance wrote each event (issue #20: several appliances, one inventory;
 * a machine's trace shows which one served each step). Nullable and without an index: rows
 * from before carry NULL, and the DHCP path's batched inserts pay one short text per row.
 */
export const sql = `
ALTER TABLE events ADD COLUMN appliance TEXT;
`;

/** PostgreSQL: the same column. */
export const pg = `
ALTER TABLE events ADD COLUMN appliance TEXT COLLATE "C";
`;
