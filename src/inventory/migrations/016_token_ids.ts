/** Migration 016: time-ordered config token ids (issue #21): reserved, filled by the change that adds it. */
export const sql = '';
export const pg = '';
