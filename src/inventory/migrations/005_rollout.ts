/** Migration 005: reserved for the rollout subsystem (empty until it needs tables). */
export const sql = '';
