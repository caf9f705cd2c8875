/**
 * Migration 002: DHCP. Lease times are Unix milliseconds; reclaiming expired leases scans
 * by expiry, and reservations are looked up by address on every allocation.
 */
export const sql = `
CREATE INDEX leases_expires ON leases(expires_at);
CREATE INDEX machines_ipv4 ON machines(ipv4) WHERE ipv4 IS NOT NULL;
`;

/** PostgreSQL: the same statements. */
export const pg = sql;
