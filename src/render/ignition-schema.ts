import { z } from 'zod';

/** Ignition spec versions we emit; 3.3.0 is what older Ignition binaries (Debian's 2.14) accept. */
export const IGNITION_VERSIONS = ['3.3.0', '3.4.0'] as const;
/** One of the Ignition spec versions we emit. */
export type IgnitionVersion = (typeof IGNITION_VERSIONS)[number];

const nul = <T extends z.ZodTypeAny>(t: T) => t.nullable().optional();
// Ignition fetches from these schemes only (spec 3.x "resource.source").
const source = z
  .string()
  .regex(/^(data:[^,]*,|https?:\/\/|tftp:\/\/|s3:\/\/|gs:\/\/|arn:)/, 'a data:, http(s)://, tftp://, s3://, gs:// or arn: URL');
const hash = z.string().regex(/^(sha256-[0-9a-f]{64}|sha512-[0-9a-f]{128})$/, 'sha256-<hex> or sha512-<hex>');
const absPath = z.string().regex(/^\/[^\0]*$/, 'an absolute path').refine((p) => !p.endsWith('/') || p === '/', 'no trailing slash');

/** A remote or inline resource (spec 3.4 "resource"). */
export const ignitionResourceSchema = z
  .object({
    source: nul(source),
    compression: nul(z.enum(['gzip'])),
    httpHeaders: z.array(z.object({ name: z.string().min(1), value: nul(z.string()) }).strict()).optional(),
    verification: z.object({ hash: nul(hash) }).strict().optional(),
  })
  .strict();

const owner = z.object({ id: nul(z.number().int().min(0)), name: nul(z.string().min(1)) }).strict();
const node = { path: absPath, overwrite: nul(z.boolean()), user: owner.optional(), group: owner.optional() };
const mode = nul(z.number().int().min(0).max(0o7777));

const fileSchema = z
  .object({ ...node, mode, contents: ignitionResourceSchema.optional(), append: z.array(ignitionResourceSchema).optional() })
  .strict();
const directorySchema = z.object({ ...node, mode }).strict();
const linkSchema = z.object({ ...node, target: nul(z.string().min(1)), hard: nul(z.boolean()) }).strict();

const unitName = z.string().regex(/^[^/\s]+\.(service|socket|device|mount|automount|swap|target|path|timer|slice|scope)$/, 'a systemd unit name');
const unitSchema = z
  .object({
    name: unitName,
    enabled: nul(z.boolean()),
    mask: nul(z.boolean()),
    contents: nul(z.string()),
    dropins: z.array(z.object({ name: z.string().regex(/^[^/\s]+\.conf$/, 'a drop-in name ending in .conf'), contents: nul(z.string()) }).strict()).optional(),
  })
  .strict();

const userSchema = z
  .object({
    name: z.string().min(1).max(32),
    passwordHash: nul(z.string()),
    sshAuthorizedKeys: z.array(z.string().regex(/^(ssh-|ecdsa-|sk-)/, 'an OpenSSH public key')).optional(),
    uid: nul(z.number().int().min(0)),
    gecos: nul(z.string()),
    homeDir: nul(absPath),
    noCreateHome: nul(z.boolean()),
    primaryGroup: nul(z.string()),
    groups: z.array(z.string().min(1)).optional(),
    noUserGroup: nul(z.boolean()),
    system: nul(z.boolean()),
    noLogInit: nul(z.boolean()),
    shell: nul(z.string()),
    shouldExist: nul(z.boolean()),
  })
  .strict();
const groupSchema = z
  .object({ name: z.string().min(1), gid: nul(z.number().int().min(0)), passwordHash: nul(z.string()), system: nul(z.boolean()), shouldExist: nul(z.boolean()) })
  .strict();

/**
 * The subset of the Ignition 3.4 config spec rackboot renders and accepts in profiles:
 * merge/replace pointers, files/directories/links, systemd units, users and groups.
 * Disks, RAID, LUKS and filesystems are left out on purpose (the installer owns the disk).
 */
export const ignitionConfigSchema = z
  .object({
    ignition: z
      .object({
        version: z.enum(IGNITION_VERSIONS),
        config: z.object({ merge: z.array(ignitionResourceSchema).optional(), replace: ignitionResourceSchema.optional() }).strict().optional(),
        security: z.object({ tls: z.object({ certificateAuthorities: z.array(ignitionResourceSchema) }).strict() }).strict().optional(),
        timeouts: z.object({ httpResponseHeaders: nul(z.number().int().min(1)), httpTotal: nul(z.number().int().min(0)) }).strict().optional(),
      })
      .strict(),
    storage: z
      .object({ files: z.array(fileSchema).optional(), directories: z.array(directorySchema).optional(), links: z.array(linkSchema).optional() })
      .strict()
      .optional(),
    systemd: z.object({ units: z.array(unitSchema).optional() }).strict().optional(),
    passwd: z.object({ users: z.array(userSchema).optional(), groups: z.array(groupSchema).optional() }).strict().optional(),
    kernelArguments: z.object({ shouldExist: z.array(z.string()).optional(), shouldNotExist: z.array(z.string()).optional() }).strict().optional(),
  })
  .strict()
  .superRefine((c, ctx) => {
    // Ignition refuses a config where two nodes claim one path, or one unit/user twice.
    const seen = new Map<string, string>();
    for (const kind of ['files', 'directories', 'links'] as const) {
      (c.storage?.[kind] ?? []).forEach((n, i) => {
        const prev = seen.get(n.path);
        if (prev) ctx.addIssue({ code: 'custom', path: ['storage', kind, i, 'path'], message: `duplicate path ${n.path} (also ${prev})` });
        seen.set(n.path, `storage.${kind}[${i}]`);
      });
    }
    dupes(c.systemd?.units ?? [], (u) => u.name, ['systemd', 'units'], ctx);
    dupes(c.passwd?.users ?? [], (u) => u.name, ['passwd', 'users'], ctx);
  });

/** An Ignition config as rackboot renders it. */
export type IgnitionConfig = z.infer<typeof ignitionConfigSchema>;

function dupes<T>(items: T[], key: (t: T) => string, path: string[], ctx: z.RefinementCtx): void {
  const seen = new Set<string>();
  items.forEach((t, i) => {
    const k = key(t);
    if (seen.has(k)) ctx.addIssue({ code: 'custom', path: [...path, i, 'name'], message: `duplicate name ${k}` });
    seen.add(k);
  });
}

/** Encodes text as an RFC 2397 data URL, percent-encoded as Butane does for small files. */
export function dataUrl(text: string): string {
  return `data:,${encodeURIComponent(text)}`;
}
