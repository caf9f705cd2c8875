/** Migration 003: reserved for the config subsystem (empty until it needs tables). */
export const sql = '';
