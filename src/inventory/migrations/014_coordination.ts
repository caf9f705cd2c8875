/** Migration 014: coordination between appliances sharing one database (issue #20): reserved, filled by the change that adds it. */
export const sql = '';
export const pg = '';
