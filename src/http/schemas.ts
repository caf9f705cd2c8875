import { z } from 'zod';
import { profileSpecSchema } from '../model/profile-spec.js';
import { groupSchema } from '../model/group.js';

const ipv4 = z.string().regex(/^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/, 'an IPv4 address');
const name = z
  .string()
  .min(1)
  .max(63)
  .regex(/^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/, 'lower-case letters, digits, . and - (a DNS label)');
const labels = z.record(z.string().max(63)).default({});

/** Body of POST /machines. */
export const machineCreateSchema = z
  .object({
    name,
    macs: z.array(z.string().min(1)).min(1, 'at least one MAC'),
    labels,
    profile: z.string().min(1).nullable().optional(),
    uuid: z.string().max(64).nullable().optional(),
    serial: z.string().max(128).nullable().optional(),
    ipv4: ipv4.nullable().optional(),
  })
  .strict();

/** Body of PATCH /machines/:ref. */
export const machinePatchSchema = z
  .object({
    name: name.optional(),
    macs: z.array(z.string().min(1)).min(1).optional(),
    labels: z.record(z.string().max(63)).optional(),
    profile: z.string().min(1).nullable().optional(),
    uuid: z.string().max(64).nullable().optional(),
    serial: z.string().max(128).nullable().optional(),
    ipv4: ipv4.nullable().optional(),
    state: z
      .enum(['registered', 'discovered', 'booting', 'configured', 'installing', 'installed', 'ready', 'drifted', 'failed'])
      .optional(),
  })
  .strict();

/**
 * Body of PUT /machines/:ref/bmc. A password left out (or `<sealed>`) keeps the stored one, but
 * only while type, address and port stay the same (else 400): no credential follows an edit.
 */
export const bmcSchema = z
  .object({
    type: z.enum(['ipmi', 'redfish']),
    address: z.string().min(1).max(255),
    port: z.number().int().min(1).max(65535).nullable().optional(),
    username: z.string().min(1).max(64),
    password: z.string().min(1).max(256).optional(),
    options: z.record(z.unknown()).default({}),
  })
  .strict();

/** Body of POST /profiles. */
export const profileCreateSchema = z.object({ name, spec: profileSpecSchema }).strict();

/** Body of PUT /profiles/:name. */
export const profileUpdateSchema = z.object({ spec: profileSpecSchema }).strict();

/** One machine in an inventory file; a BMC without password keeps the stored one. */
export const inventoryMachineSchema = machineCreateSchema.extend({
  bmc: bmcSchema.extend({ password: z.string().min(1).max(256).optional() }).optional(),
});

/** An inventory file (inventory/*.yaml): profiles, groups (issue #19) and machines. */
export const inventoryFileSchema = z
  .object({
    profiles: z.array(profileCreateSchema).default([]),
    groups: z.array(groupSchema).default([]),
    machines: z.array(inventoryMachineSchema).default([]),
  })
  .strict();

export type InventoryFile = z.infer<typeof inventoryFileSchema>;
