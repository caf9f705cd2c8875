import { z } from 'zod';
import { parseButane, butaneToIgnition } from './butane.js';
import { parseConfig } from './check.js';
import { IGNITION_REPORT_UNIT, REPORT_PROGRAM, REPORT_UNIT, type ServedImage, ignitionReportProgram, servedImageOf } from './completion.js';
import { IGNITION_VERSIONS, type IgnitionConfig, dataUrl, ignitionConfigSchema } from './ignition-schema.js';
import type { RenderInput, RenderedConfig } from './types.js';

/** Media type Ignition configs are served with. */
export const IGNITION_CONTENT_TYPE = 'application/vnd.coreos.ignition+json';

/**
 * `spec.ignition` of a profile: a full config, or a pointer config (RHCOS: the Machine
 * Config Server serves the rest), plus the target spec version. `spec.butane` is the
 * alternative YAML input.
 */
export const ignitionSpecSchema = z
  .object({
    /** Overrides the spec version (3.3.0 for Ignition < 2.15, e.g. Debian bookworm's). */
    version: z.enum(IGNITION_VERSIONS).optional(),
    config: z.record(z.unknown()).optional(),
    pointer: z
      .object({
        source: z.string().regex(/^https?:\/\//, 'an http(s) URL'),
        hash: z.string().regex(/^sha512-[0-9a-f]{128}$/, 'sha512-<hex>').optional(),
        /** PEM CA bundle trusted for the pointer's HTTPS source. */
        ca: z.string().includes('-----BEGIN CERTIFICATE-----', { message: 'a PEM certificate' }).optional(),
      })
      .strict()
      .optional(),
    /** Write /etc/hostname from the inventory (default true; skipped for pointer configs). */
    hostname: z.boolean().default(true),
    /**
     * Add rackboot's completion unit (default true): it reports `ready` with the SHA-512 Ignition
     * logged for this config. Off for images whose own agent reports (rackboot's test OS does).
     */
    report: z.boolean().default(true),
  })
  .strict()
  .refine((s) => !(s.pointer && s.config), { message: 'config and pointer are mutually exclusive', path: ['pointer'] });

/** Ignition spec as parsed from a profile. */
export type IgnitionSpec = z.infer<typeof ignitionSpecSchema>;

/** A pointer config: Ignition merges the config fetched from `source` (RHCOS worker/master pointer). */
export function pointerConfig(p: NonNullable<IgnitionSpec['pointer']>, version: IgnitionConfig['ignition']['version']): IgnitionConfig {
  return {
    ignition: {
      version,
      config: { merge: [{ source: p.source, ...(p.hash ? { verification: { hash: p.hash } } : {}) }] },
      ...(p.ca ? { security: { tls: { certificateAuthorities: [{ source: dataUrl(p.ca) }] } } } : {}),
    },
  };
}

/** Renders the machine's Ignition config from spec.butane or spec.ignition, adding its hostname. */
export function renderIgnition(input: RenderInput): RenderedConfig {
  const { spec } = input.profile;
  const ign = parseConfig(ignitionSpecSchema, spec.ignition ?? {}, 'spec.ignition', 'Ignition profile');
  let config: IgnitionConfig;
  if (ign.pointer) {
    config = pointerConfig(ign.pointer, ign.version ?? '3.4.0');
  } else {
    if (spec.butane !== undefined) config = butaneToIgnition(parseButane(spec.butane));
    else if (ign.config) config = parseConfig(ignitionConfigSchema, ign.config, 'spec.ignition.config', 'Ignition config');
    else config = { ignition: { version: '3.4.0' } };
    if (ign.version) config = { ...config, ignition: { ...config.ignition, version: ign.version } };
    if (ign.hostname) config = withHostname(config, input.machine.name);
  }
  if (ign.report) config = withCompletionReport(config, servedImageOf(input));
  const ordered = order(config);
  parseConfig(ignitionConfigSchema, ordered, '', 'Ignition config');
  return { format: 'ignition', contentType: IGNITION_CONTENT_TYPE, body: `${JSON.stringify(ordered, null, 2)}\n`, meta: {} };
}

/** Adds /etc/hostname unless the profile already writes it. */
function withHostname(c: IgnitionConfig, hostname: string): IgnitionConfig {
  const files = c.storage?.files ?? [];
  if (files.some((f) => f.path === '/etc/hostname')) return c;
  const file = { path: '/etc/hostname', mode: 0o644, overwrite: true, contents: { source: dataUrl(`${hostname}\n`) } };
  return { ...c, storage: { ...c.storage, files: [file, ...files] } };
}

/** Adds the completion report program and its enabled oneshot unit (profile entries of the same path/name win). */
export function withCompletionReport(c: IgnitionConfig, served: ServedImage | null = null): IgnitionConfig {
  const files = c.storage?.files ?? [];
  const units = c.systemd?.units ?? [];
  const file = { path: REPORT_PROGRAM, mode: 0o755, overwrite: true, contents: { source: dataUrl(ignitionReportProgram(served)) } };
  const unit = { name: REPORT_UNIT, enabled: true, contents: IGNITION_REPORT_UNIT };
  return {
    ...c,
    storage: { ...c.storage, files: files.some((f) => f.path === REPORT_PROGRAM) ? files : [...files, file] },
    systemd: { ...c.systemd, units: units.some((u) => u.name === REPORT_UNIT) ? units : [...units, unit] },
  };
}

/** Fixed top-level key order, so equal configs serialise to equal bytes. */
function order(c: IgnitionConfig): IgnitionConfig {
  const out: IgnitionConfig = { ignition: c.ignition };
  if (c.kernelArguments) out.kernelArguments = c.kernelArguments;
  if (c.passwd) out.passwd = c.passwd;
  if (c.storage) out.storage = c.storage;
  if (c.systemd) out.systemd = c.systemd;
  return out;
}
