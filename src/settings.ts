import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { assetImportSettingsSchema } from './assets/settings.js';
import { bmcSettingsSchema } from './bmc/settings.js';
import { applianceSettingsSchema } from './coordination/settings.js';
import { dhcpSettingsSchema } from './dhcp/settings.js';
import { AppError } from './errors.js';
import { apiSettingsSchema } from './http/api-settings.js';
import { httpSettingsSchema } from './http/settings.js';
import { retentionSettingsSchema } from './inventory/retention.js';
import { storeSettingsSchema } from './inventory/store-settings.js';
import { rolloutSettingsSchema } from './rollout/settings.js';
import { tftpSettingsSchema } from './tftp/settings.js';

/** The whole settings document; every field has a safe default. */
export const settingsSchema = z
  .object({
    dataDir: z.string().min(1).default('./data'),
    /** The inventory: `sqlite` (inventory.db in dataDir) or `{ postgres: URL }`; the data dir keeps secret.key and the lock either way. */
    store: storeSettingsSchema,
    /** Directory of boot assets (loaders, test OS); the manifest lives there. */
    assetsDir: z.string().min(1).default('./boot-assets/build'),
    logLevel: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
    /** This appliance's name (site/rack) and the timing of roles shared with other appliances (#20). */
    appliance: applianceSettingsSchema,
    http: httpSettingsSchema,
    /** The management API (operators, CLI): its own listener, with TLS. */
    api: apiSettingsSchema,
    tftp: tftpSettingsSchema,
    dhcp: dhcpSettingsSchema,
    bmc: bmcSettingsSchema,
    rollout: rolloutSettingsSchema,
    retention: retentionSettingsSchema,
    assets: assetImportSettingsSchema,
  })
  .strict();

export type Settings = z.infer<typeof settingsSchema>;

/** Settings with every default applied (for tests and embedded use). */
export function defaultSettings(overrides: Record<string, unknown> = {}): Settings {
  return parseSettings(overrides, 'defaults');
}

/** Validates a settings object; the error names the field and the reason. */
export function parseSettings(raw: unknown, source: string): Settings {
  const r = settingsSchema.safeParse(raw ?? {});
  if (!r.success) {
    const issues = r.error.issues.map((i) => ({ path: i.path.join('.') || '(root)', message: i.message }));
    const text = issues.map((i) => `${i.path}: ${i.message}`).join('; ');
    throw new AppError('SETTINGS', `invalid settings in ${source}: ${text}`, { details: issues });
  }
  return r.data;
}

/**
 * Environment overrides: RACKBOOT_<SECTION>__<FIELD>=value (double underscore between levels,
 * case-insensitive, e.g. RACKBOOT_HTTP__PORT=8081, RACKBOOT_DATADIR=/var/lib/rackboot).
 * Values are read as YAML scalars, so numbers, booleans and [lists] work.
 */
export function envOverrides(env: NodeJS.ProcessEnv): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const shape = settingsSchema.shape as Record<string, z.ZodTypeAny>;
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith('RACKBOOT_') || value === undefined) continue;
    const parts = name.slice('RACKBOOT_'.length).split('__');
    const path = resolveKeys(parts, shape);
    if (!path) continue;
    let target = out;
    for (const key of path.slice(0, -1)) target = (target[key] ??= {}) as Record<string, unknown>;
    target[path[path.length - 1]!] = parseYaml(value);
  }
  return out;
}

function resolveKeys(parts: string[], shape: Record<string, z.ZodTypeAny>): string[] | undefined {
  const keys: string[] = [];
  let current: Record<string, z.ZodTypeAny> | undefined = shape;
  for (const part of parts) {
    if (!current) return undefined;
    const want = part.toLowerCase().replaceAll('_', '');
    const key = Object.keys(current).find((k) => k.toLowerCase() === want);
    if (!key) return undefined;
    keys.push(key);
    current = objectShape(current[key]!);
  }
  return keys;
}

function objectShape(t: z.ZodTypeAny): Record<string, z.ZodTypeAny> | undefined {
  let inner: z.ZodTypeAny = t;
  while (inner instanceof z.ZodDefault || inner instanceof z.ZodOptional || inner instanceof z.ZodEffects) {
    inner = inner instanceof z.ZodEffects ? inner.innerType() : inner._def.innerType;
  }
  // A union (e.g. store: 'sqlite' | { postgres }) takes its object member's fields (RACKBOOT_STORE__POSTGRES).
  if (inner instanceof z.ZodUnion) {
    const member = (inner.options as z.ZodTypeAny[]).find((o) => o instanceof z.ZodObject);
    return member ? objectShape(member) : undefined;
  }
  return inner instanceof z.ZodObject ? (inner.shape as Record<string, z.ZodTypeAny>) : undefined;
}

function deepMerge(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const prev = out[k];
    out[k] =
      v && typeof v === 'object' && !Array.isArray(v) && prev && typeof prev === 'object' && !Array.isArray(prev)
        ? deepMerge(prev as Record<string, unknown>, v as Record<string, unknown>)
        : v;
  }
  return out;
}

/**
 * Loads settings: the YAML file (path from `--config`, RACKBOOT_CONFIG or ./rackboot.yaml;
 * a missing default file means built-in defaults), then environment overrides.
 */
export function loadSettings(opts: { configPath?: string; env?: NodeJS.ProcessEnv } = {}): Settings {
  const env = opts.env ?? process.env;
  const explicit = opts.configPath ?? env.RACKBOOT_CONFIG;
  const path = resolve(explicit ?? 'rackboot.yaml');
  let fromFile: Record<string, unknown> = {};
  if (existsSync(path)) {
    let doc: unknown;
    try {
      doc = parseYaml(readFileSync(path, 'utf8'));
    } catch (e) {
      throw new AppError('SETTINGS', `cannot parse ${path}: ${(e as Error).message}`, { cause: e });
    }
    if (doc !== null && doc !== undefined && (typeof doc !== 'object' || Array.isArray(doc))) {
      throw new AppError('SETTINGS', `invalid settings in ${path}: (root): expected a mapping`);
    }
    fromFile = (doc ?? {}) as Record<string, unknown>;
  } else if (explicit) {
    throw new AppError('SETTINGS', `settings file not found: ${path}`);
  }
  const { RACKBOOT_CONFIG: _c, ...rest } = env;
  return parseSettings(deepMerge(fromFile, envOverrides(rest)), existsSync(path) ? path : 'environment');
}
