import { hostname } from 'node:os';
import { z } from 'zod';

/**
 * Which appliance this is, and how appliances sharing one inventory hand roles over. The name
 * is stamped on every trace row this appliance writes and on the leases it holds: `name`, else
 * `<site>/<rack>` when both are set, else the host name.
 */
/** A site or rack: its name is `<site>/<rack>`, held to the same characters as a given name (no `/`, no `#`, no spaces). */
const namePart = z.string().min(1).max(32).regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'letters, digits, . _ - (starting with a letter or digit)');

export const applianceSettingsSchema = z
  .object({
    name: z.string().min(1).max(64).regex(/^[A-Za-z0-9][A-Za-z0-9._/-]*$/, 'letters, digits, . _ / - (starting with a letter or digit)').optional(),
    site: namePart.optional(),
    rack: namePart.optional(),
    /**
     * Leader lease time to live (rollout runner, retention), renewed every third of it. A dead
     * holder's role is taken over within leaseMs + leaseMs/3 (≤ 12 s at the default).
     */
    leaseMs: z.number().int().min(300).max(300_000).default(9_000),
    /** Lock of a BMC while this appliance operates it, renewed every third of it and released after. */
    bmcLockMs: z.number().int().min(300).max(600_000).default(30_000),
  })
  .strict()
  .default({});

/** The appliance settings with defaults applied. */
export type ApplianceSettings = z.infer<typeof applianceSettingsSchema>;

/** The name trace rows and leases carry. */
export function applianceName(s: ApplianceSettings, host: () => string = hostname): string {
  if (s.name) return s.name;
  if (s.site && s.rack) return `${s.site}/${s.rack}`;
  return host() || 'rackboot';
}
