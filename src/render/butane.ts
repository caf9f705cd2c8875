import { type ScalarTag, parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { invalidConfig, parseConfig } from './check.js';
import { type IgnitionConfig, type IgnitionVersion, dataUrl } from './ignition-schema.js';

/** Butane variant/version → the Ignition spec version it produces (as the Butane tool maps them). */
const BUTANE_TARGETS: Record<string, Record<string, IgnitionVersion>> = {
  flatcar: { '1.0.0': '3.3.0', '1.1.0': '3.4.0' },
  fcos: { '1.4.0': '3.3.0', '1.5.0': '3.4.0' },
};

const owner = z.object({ id: z.number().int().min(0).optional(), name: z.string().min(1).optional() }).strict();
const node = { path: z.string().startsWith('/'), overwrite: z.boolean().optional(), user: owner.optional(), group: owner.optional() };
const mode = z.number().int().min(0).max(0o7777).optional();
const resource = z
  .object({
    inline: z.string().optional(),
    source: z.string().min(1).optional(),
    compression: z.enum(['gzip']).optional(),
    verification: z.object({ hash: z.string().min(1) }).strict().optional(),
  })
  .strict()
  .refine((r) => !(r.inline !== undefined && r.source !== undefined), 'inline and source are mutually exclusive');

/** The common Butane subset rackboot converts: files with inline contents, units, users. */
export const butaneSchema = z
  .object({
    variant: z.enum(['flatcar', 'fcos']),
    version: z.string(),
    passwd: z
      .object({
        users: z
          .array(
            z
              .object({
                name: z.string().min(1),
                password_hash: z.string().optional(),
                ssh_authorized_keys: z.array(z.string()).optional(),
                uid: z.number().int().min(0).optional(),
                gecos: z.string().optional(),
                home_dir: z.string().optional(),
                no_create_home: z.boolean().optional(),
                primary_group: z.string().optional(),
                groups: z.array(z.string()).optional(),
                shell: z.string().optional(),
                system: z.boolean().optional(),
              })
              .strict(),
          )
          .optional(),
      })
      .strict()
      .optional(),
    storage: z
      .object({
        files: z.array(z.object({ ...node, mode, contents: resource.optional() }).strict()).optional(),
        directories: z.array(z.object({ ...node, mode }).strict()).optional(),
        links: z.array(z.object({ ...node, target: z.string().min(1), hard: z.boolean().optional() }).strict()).optional(),
      })
      .strict()
      .optional(),
    systemd: z
      .object({
        units: z
          .array(
            z
              .object({
                name: z.string().min(1),
                enabled: z.boolean().optional(),
                mask: z.boolean().optional(),
                contents: z.string().optional(),
                dropins: z.array(z.object({ name: z.string().min(1), contents: z.string().optional() }).strict()).optional(),
              })
              .strict(),
          )
          .optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

/** A Butane document of the supported subset. */
export type ButaneConfig = z.infer<typeof butaneSchema>;

// Butane (Go yaml.v3) reads `mode: 0644` as octal; YAML 1.2's core schema would read 644.
const legacyOctal: ScalarTag = {
  tag: 'tag:yaml.org,2002:int',
  default: true,
  test: /^0[0-7]+$/,
  resolve: (s: string) => Number.parseInt(s, 8),
};

/** Parses Butane YAML text (or takes an already parsed mapping) and validates the subset. */
export function parseButane(input: unknown, prefix = 'spec.butane'): ButaneConfig {
  let doc = input;
  if (typeof input === 'string') {
    try {
      doc = parseYaml(input, { customTags: (tags) => [legacyOctal, ...tags] });
    } catch (e) {
      throw invalidConfig('Butane config', [{ path: prefix, message: `not YAML: ${(e as Error).message}` }]);
    }
  }
  const b = parseConfig(butaneSchema, doc, prefix, 'Butane config');
  if (!BUTANE_TARGETS[b.variant]?.[b.version]) {
    const known = Object.keys(BUTANE_TARGETS[b.variant] ?? {}).join(', ');
    throw invalidConfig('Butane config', [{ path: `${prefix}.version`, message: `unsupported ${b.variant} version ${b.version} (known: ${known})` }]);
  }
  return b;
}

/** Converts a Butane document to the Ignition config the Butane tool would produce for it. */
export function butaneToIgnition(b: ButaneConfig): IgnitionConfig {
  const version = BUTANE_TARGETS[b.variant]![b.version]!;
  const out: IgnitionConfig = { ignition: { version } };
  const users = b.passwd?.users?.map((u) =>
    compact({
      name: u.name,
      passwordHash: u.password_hash,
      sshAuthorizedKeys: u.ssh_authorized_keys,
      uid: u.uid,
      gecos: u.gecos,
      homeDir: u.home_dir,
      noCreateHome: u.no_create_home,
      primaryGroup: u.primary_group,
      groups: u.groups,
      shell: u.shell,
      system: u.system,
    }),
  );
  if (users?.length) out.passwd = { users };
  const s = b.storage;
  const files = s?.files?.map(({ contents, ...f }) =>
    compact({
      ...f,
      contents: contents
        ? compact({
            source: contents.inline !== undefined ? dataUrl(contents.inline) : contents.source,
            compression: contents.compression,
            verification: contents.verification,
          })
        : undefined,
    }),
  );
  const storage = compact({ files, directories: s?.directories?.map(compact), links: s?.links?.map(compact) });
  if (Object.keys(storage).length) out.storage = storage;
  const units = b.systemd?.units?.map((u) => compact({ ...u, dropins: u.dropins?.map(compact) }));
  if (units?.length) out.systemd = { units };
  return out;
}

/** Drops undefined fields so the JSON carries only what was given. */
function compact<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}
