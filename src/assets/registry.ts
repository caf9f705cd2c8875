import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { AppError } from '../errors.js';
import { ASSET_KINDS, type Asset, type AssetKind, assetName, loadManifest, manifestMtime, sha256Hex } from './manifest.js';
import { type FetchSource, type ImportSource, storeVerified } from './store.js';

const registeredSchema = z.array(
  z.object({
    name: assetName,
    sha256: sha256Hex,
    size: z.number().int().min(0),
    kind: z.enum(ASSET_KINDS),
    source: z.string(),
    registeredAt: z.string(),
  }),
);
type Registered = z.infer<typeof registeredSchema>[number];

/** What an operator registers: a local file or a mirror URL and the digest it must have. */
export interface Registration {
  name: string;
  kind: AssetKind;
  sha256: string;
  source: FetchSource;
}

/** How often the registry looks at the manifest's mtime, and its clock (tests). */
export interface AssetRegistryOptions {
  /**
   * The manifest's mtime is checked at most this often (0: at every lookup). A boot resolves its
   * images through the registry, and a stat per boot was 5 % of a boot storm's CPU (issue #21);
   * the boot-assets build rewrites the manifest at a human pace, so the appliance checks once a
   * second (appliance-services.ts).
   */
  manifestCheckMs?: number;
  now?: () => number;
}

/**
 * Every artifact rackboot may serve, by digest and by name: the boot-assets manifest plus
 * operator-registered external artifacts (stored under <dataDir>/assets/sha256/<hex>, indexed
 * in <dataDir>/assets/registry.json). A registered artifact exists only after its digest was
 * verified, so a profile that names it always gets the bytes it asked for.
 */
export class AssetRegistry {
  private manifest: Asset[] = [];
  private mtime = -1;
  /** When the manifest's mtime was last checked (its clock). */
  private checkedAt = Number.NEGATIVE_INFINITY;
  private readonly checkMs: number;
  private readonly now: () => number;
  private changes = 0;
  private registered: Registered[] = [];
  /** manifest + registered as Assets, built once per change (a boot resolves two or three names). */
  private all: Asset[] | undefined;
  private readonly blobDir: string;
  private readonly indexFile: string;

  constructor(
    private readonly assetsDir: string,
    dataDir: string,
    options: AssetRegistryOptions = {},
  ) {
    this.checkMs = options.manifestCheckMs ?? 0;
    this.now = options.now ?? Date.now;
    this.blobDir = join(resolve(dataDir), 'assets');
    this.indexFile = join(this.blobDir, 'registry.json');
    this.reload();
    this.registered = readIndex(this.indexFile);
  }

  /** Re-reads the manifest when the boot-assets build rewrote it (checked at most every manifestCheckMs). */
  private reload(): void {
    if (this.checkMs > 0) {
      const at = this.now();
      if (at - this.checkedAt < this.checkMs && at >= this.checkedAt) return;
      this.checkedAt = at;
    }
    const m = manifestMtime(this.assetsDir);
    if (m === this.mtime) return;
    this.manifest = loadManifest(resolve(this.assetsDir));
    this.mtime = m;
    this.all = undefined;
    this.changes++;
  }

  /** Counts changes of the artifact list (a rewritten manifest, a registration), the manifest checked first: equal revisions resolve alike. */
  revision(): number {
    this.reload();
    return this.changes;
  }

  /** The current artifacts, shared: callers of the private lookups never change it. */
  private current(): Asset[] {
    this.reload();
    this.all ??= [...this.manifest, ...this.registered.map((r) => this.toAsset(r))];
    return this.all;
  }

  private toAsset(r: Registered): Asset {
    return { name: r.name, sha256: r.sha256, size: r.size, kind: r.kind, path: join(this.blobDir, 'sha256', r.sha256), origin: 'registered' };
  }

  /** All artifacts (manifest first, then registered). */
  list(): Asset[] {
    return [...this.current()];
  }

  /** The artifact with this digest, if any. */
  byDigest(hex: string): Asset | undefined {
    return this.current().find((a) => a.sha256 === hex);
  }

  /** The artifact with this name (registered names win over the build's). */
  byName(name: string): Asset | undefined {
    return this.current().findLast((a) => a.name === name);
  }

  /** Resolves a profile reference (`sha256:<hex>` or a name); unknown → INVALID_CONFIG. */
  resolve(ref: string, path = 'asset'): Asset {
    const m = /^sha256:([0-9a-f]{64})$/.exec(ref);
    const a = m ? this.byDigest(m[1] as string) : this.byName(ref);
    if (!a) {
      throw new AppError('INVALID_CONFIG', `${path}: no verified artifact ${JSON.stringify(ref)} (build boot-assets or register it)`, {
        details: [{ path, message: `unknown artifact ${ref}` }],
      });
    }
    return a;
  }

  /** The digest a reference stands for (a literal `sha256:<hex>` needs no lookup), if known. */
  digestOf(ref: string): string | undefined {
    const m = /^sha256:([0-9a-f]{64})$/.exec(ref);
    return m ? m[1] : this.byName(ref)?.sha256;
  }

  /** True when a reference names an artifact rackboot can serve (verified digest). */
  digestKnown(ref: string): boolean {
    const m = /^sha256:([0-9a-f]{64})$/.exec(ref);
    return m ? this.byDigest(m[1] as string) !== undefined : this.byName(ref) !== undefined;
  }

  /** Copies/downloads an artifact through the import policy, verifies its SHA-256, then makes it servable. */
  async register(reg: Registration, importer: ImportSource): Promise<Asset> {
    const clash = this.byName(reg.name);
    if (clash && clash.sha256 !== reg.sha256) {
      throw new AppError('CONFLICT', `artifact ${reg.name} already exists with sha256:${clash.sha256}`);
    }
    const { size } = await storeVerified(reg.source, reg.sha256, join(this.blobDir, 'sha256'), importer);
    const entry: Registered = {
      name: reg.name,
      sha256: reg.sha256,
      size,
      kind: reg.kind,
      source: 'path' in reg.source ? `file:${reg.source.path}` : reg.source.url,
      registeredAt: new Date().toISOString(),
    };
    this.registered = [...this.registered.filter((r) => r.name !== reg.name), entry];
    this.all = undefined;
    this.changes++;
    const tmp = `${this.indexFile}.tmp`;
    writeFileSync(tmp, `${JSON.stringify(this.registered, null, 2)}\n`, { mode: 0o600 });
    renameSync(tmp, this.indexFile);
    return this.toAsset(entry);
  }
}

function readIndex(file: string): Registered[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  const r = registeredSchema.safeParse(JSON.parse(text));
  if (!r.success) throw new AppError('SETTINGS', `invalid ${file}: ${r.error.issues[0]?.message}`);
  return r.data;
}
