/** Migration 015: which appliance served each step (issue #20): reserved, filled by the change that adds it. */
export const sql = '';
export const pg = '';
