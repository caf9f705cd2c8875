/**
 * Migration 006: cheaper DHCP writes. Every DHCP exchange adds trace rows and a lease, and an
 * index keyed by a random value (a MAC, a machine id) costs one more B-tree page written to the
 * WAL per row. DHCP's trace rows are reached by their MAC (events_mac), so the per-machine index
 * now covers only the other sources; a machine's trace is its MACs' events plus those (see
 * EventRepo.list). No code path looks leases up by MAC on the hot path, so leases_mac goes.
 */
export const sql = `
DROP INDEX events_machine;
CREATE INDEX events_machine ON events(machine_id, id) WHERE source <> 'dhcp';
DROP INDEX leases_mac;
`;

/** PostgreSQL: the same statements. */
export const pg = sql;
