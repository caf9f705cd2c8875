import { createHash } from 'node:crypto';
import { stringify } from 'yaml';
import { z } from 'zod';
import { invalidConfig, parseConfig } from './check.js';
import { CLOUDINIT_REPORT_UNIT, REPORT_PROGRAM, REPORT_UNIT, type ServedImage, cloudInitReportProgram, servedImageOf } from './completion.js';
import type { RenderInput, RenderedConfig } from './types.js';

const strOrList = z.union([z.string(), z.array(z.string())]);

/**
 * Typed checks of the #cloud-config keys operators use most; other keys pass through and
 * are left to `cloud-init schema` (the tests run it on every golden).
 */
export const cloudConfigSchema = z
  .object({
    users: z
      .array(
        z.union([
          z.literal('default'),
          z
            .object({
              name: z.string().min(1),
              groups: strOrList.optional(),
              sudo: z.union([strOrList, z.literal(false)]).optional(),
              shell: z.string().optional(),
              lock_passwd: z.boolean().optional(),
              ssh_authorized_keys: z.array(z.string()).optional(),
            })
            .passthrough(),
        ]),
      )
      .optional(),
    ssh_authorized_keys: z.array(z.string().regex(/^(ssh-|ecdsa-|sk-)/, 'an OpenSSH public key')).optional(),
    write_files: z
      .array(
        z
          .object({
            path: z.string().startsWith('/'),
            content: z.string().optional(),
            permissions: z.string().regex(/^0?[0-7]{3,4}$/, "an octal string like '0644'").optional(),
            owner: z.string().optional(),
            encoding: z.enum(['b64', 'base64', 'gz', 'gzip', 'gz+base64', 'gzip+base64', 'gz+b64', 'gzip+b64', 'text/plain']).optional(),
            append: z.boolean().optional(),
            defer: z.boolean().optional(),
          })
          .strict(),
      )
      .optional(),
    runcmd: z.array(strOrList).optional(),
    bootcmd: z.array(strOrList).optional(),
    packages: z.array(z.union([z.string(), z.array(z.string()).length(2)])).optional(),
    timezone: z.string().optional(),
  })
  .passthrough()
  .superRefine((c, ctx) => {
    for (const key of ['hostname', 'fqdn', 'preserve_hostname'] as const) {
      if (key in c) ctx.addIssue({ code: 'custom', path: [key], message: 'set by rackboot from the machine name' });
    }
  });

/** `spec.cloudInit` of a profile. */
export const cloudInitSpecSchema = z
  .object({
    userData: cloudConfigSchema.default({}),
    /** Add rackboot's completion report (default true): `ready`, or `failed` with cloud-init's own errors. */
    report: z.boolean().default(true),
  })
  .strict();

/** A typed cloud-config document. */
export type CloudConfig = z.infer<typeof cloudConfigSchema>;

/**
 * Adds the completion report: the program and its unit as write_files (init stage), and a first
 * runcmd entry (final stage) that queues the unit without waiting. The unit is ordered after
 * cloud-final, so it runs once cloud-init wrote its result, whatever the profile's runcmd does.
 */
export function withCompletionReport(c: CloudConfig, served: ServedImage | null = null): CloudConfig {
  const files = [
    { path: REPORT_PROGRAM, permissions: '0755', content: cloudInitReportProgram(served) },
    { path: `/etc/systemd/system/${REPORT_UNIT}`, permissions: '0644', content: CLOUDINIT_REPORT_UNIT },
  ];
  const start = ['systemctl', 'start', '--no-block', REPORT_UNIT];
  return { ...c, write_files: [...(c.write_files ?? []), ...files], runcmd: [start, ...(c.runcmd ?? [])] };
}

/** Media type of cloud-config user-data. */
export const CLOUD_CONFIG_CONTENT_TYPE = 'text/cloud-config';

/**
 * Renders NoCloud user-data (#cloud-config with the machine's hostname) and meta-data. The
 * instance-id carries the user-data digest: cloud-init re-runs per-instance modules only
 * when the instance-id changes, so a new config version must change it.
 */
export function renderCloudInit(input: RenderInput): RenderedConfig {
  const spec = parseConfig(cloudInitSpecSchema, input.profile.spec.cloudInit ?? {}, 'spec.cloudInit', 'cloud-init profile');
  const name = input.machine.name;
  const user = spec.report ? withCompletionReport(spec.userData, servedImageOf(input)) : spec.userData;
  const doc = { hostname: name, preserve_hostname: false, ...user };
  let body: string;
  try {
    body = `#cloud-config\n${stringify(doc, { lineWidth: 0, version: '1.1' })}`;
  } catch (e) {
    throw invalidConfig('cloud-init user-data', [{ path: 'spec.cloudInit.userData', message: (e as Error).message }]);
  }
  const digest = createHash('sha256').update(body).digest('hex').slice(0, 12);
  const metaData = stringify({ 'instance-id': `rackboot-${name}-${digest}`, 'local-hostname': name }, { version: '1.1' });
  return { format: 'cloudinit', contentType: CLOUD_CONFIG_CONTENT_TYPE, body, meta: { 'meta-data': metaData, 'vendor-data': '' } };
}
