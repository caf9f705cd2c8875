/** Migration 004: reserved for the bmc subsystem (empty until it needs tables). */
export const sql = '';

/** PostgreSQL: nothing either. */
export const pg = '';
