import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { AppError } from '../errors.js';

/** A lowercase hex SHA-256. */
export const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, 'expected 64 lowercase hex digits');

/** Kinds of artifact rackboot serves. */
export const ASSET_KINDS = ['kernel', 'initrd', 'loader', 'disk', 'file'] as const;
/** One of ASSET_KINDS. */
export type AssetKind = (typeof ASSET_KINDS)[number];

/** Safe artifact names: one path segment, no traversal, no hidden files. */
export const assetName = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._+-]*$/, 'letters, digits and . _ + - only (one path segment)');

const manifestSchema = z.object({
  version: z.literal(1),
  artifacts: z.array(
    z.object({ name: assetName, sha256: sha256Hex, size: z.number().int().min(0), kind: z.enum(ASSET_KINDS) }),
  ),
});

/** An artifact rackboot can serve: its bytes live at `path`. */
export interface Asset {
  name: string;
  sha256: string;
  size: number;
  kind: AssetKind;
  path: string;
  /** Where it came from: the boot-assets build, or an operator registration. */
  origin: 'manifest' | 'registered';
}

/** Reads boot-assets/build/manifest.json; a missing manifest is an empty list (assets not built). */
export function loadManifest(dir: string): Asset[] {
  const file = join(dir, 'manifest.json');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new AppError('SETTINGS', `${file} is not JSON: ${(e as Error).message}`, { cause: e });
  }
  const r = manifestSchema.safeParse(doc);
  if (!r.success) {
    const i = r.error.issues[0];
    throw new AppError('SETTINGS', `invalid ${file}: ${i?.path.join('.')}: ${i?.message}`);
  }
  return r.data.artifacts.map((a) => ({ ...a, path: join(dir, a.name), origin: 'manifest' as const }));
}

/** Modification time of the manifest (0 when absent), to reload it after a rebuild. */
export function manifestMtime(dir: string): number {
  try {
    return statSync(join(dir, 'manifest.json')).mtimeMs;
  } catch {
    return 0;
  }
}
