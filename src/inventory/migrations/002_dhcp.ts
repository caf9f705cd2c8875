/** Migration 002: reserved for the dhcp subsystem (empty until it needs tables). */
export const sql = '';
