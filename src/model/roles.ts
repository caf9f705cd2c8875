/** Roles of API tokens, weakest first: read sees (no secrets), operate acts, admin manages. */
export const ROLES = ['read', 'operate', 'admin'] as const;
/** One API token role. */
export type Role = (typeof ROLES)[number];
