/**
 * Migration 014: coordination between appliances sharing one database (issue #20).
 *
 * coordination_leases: one row per singleton role (`rollout-runner`, `retention`) and per BMC
 * being operated (`bmc:<machine id>`). A row is taken or renewed with one conditional upsert
 * (src/inventory/coordination.ts): free, expired, or already ours. `epoch` counts changes of
 * holder (a takeover is visible in the row). Times are epoch milliseconds of the appliances'
 * clocks (kept in step by NTP).
 *
 * rollout_machines.pxe_sent_at: the network-boot override is recorded as sent before the BMC
 * call, like the power cycle (cycle_sent_at), so a runner that takes over verifies it instead of
 * sending it again.
 */
export const sql = `
CREATE TABLE coordination_leases (
  name TEXT PRIMARY KEY,
  holder TEXT NOT NULL,
  appliance TEXT NOT NULL,
  expires_at INTEGER NOT NULL,
  acquired_at INTEGER NOT NULL,
  epoch INTEGER NOT NULL DEFAULT 1
);
ALTER TABLE rollout_machines ADD COLUMN pxe_sent_at INTEGER;
`;

/** PostgreSQL: the same table and column (BIGINT milliseconds). */
export const pg = `
CREATE TABLE coordination_leases (
  name TEXT COLLATE "C" PRIMARY KEY,
  holder TEXT COLLATE "C" NOT NULL,
  appliance TEXT COLLATE "C" NOT NULL,
  expires_at BIGINT NOT NULL,
  acquired_at BIGINT NOT NULL,
  epoch BIGINT NOT NULL DEFAULT 1
);
ALTER TABLE rollout_machines ADD COLUMN pxe_sent_at BIGINT;
`;
