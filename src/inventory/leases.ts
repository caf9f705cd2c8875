import type { Db } from './db.js';

/** DHCP leases (owned by the DHCP subsystem; filled in with its server). */
export class LeaseRepo {
  constructor(readonly db: Db) {}
}
