import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { ASSET_KINDS, AssetImporter, type AssetRegistry, assetName, sha256Hex } from '../../assets/index.js';
import { assetPath } from '../../boot/urls.js';
import { AppError } from '../../errors.js';
import type { AppDeps } from '../app.js';
import { parseBody } from '../validate.js';
import { documented } from './openapi.js';
import { EVENT } from '../../lifecycle/event-kinds.js';

/** POST /api/v1/assets: an external artifact from a local file or a mirror URL, with its digest. */
export const assetRegisterSchema = z
  .object({
    name: assetName,
    kind: z.enum(ASSET_KINDS),
    sha256: z
      .string()
      .transform((s) => s.replace(/^sha256:/, '').toLowerCase())
      .pipe(sha256Hex),
    path: z.string().startsWith('/').max(4096).optional(),
    url: z.string().url().regex(/^https?:\/\//, 'http or https').optional(),
  })
  .strict()
  .refine((b) => (b.path === undefined) !== (b.url === undefined), { message: 'give exactly one of path or url', path: ['path'] });

/** Profile fields that name artifacts; each must resolve when a profile is saved. */
function assetRefsOf(spec: unknown): Array<{ path: string; ref: string }> {
  const s = (spec ?? {}) as { kernel?: unknown; initrd?: unknown; install?: { image?: unknown } };
  const refs: Array<{ path: string; ref: string }> = [];
  if (typeof s.kernel === 'string') refs.push({ path: 'spec.kernel', ref: s.kernel });
  if (Array.isArray(s.initrd)) s.initrd.forEach((r, i) => typeof r === 'string' && refs.push({ path: `spec.initrd.${i}`, ref: r }));
  if (typeof s.install?.image === 'string') refs.push({ path: 'spec.install.image', ref: s.install.image });
  return refs;
}

/** Artifact listing/registration, and the save-time check that profiles name only verified artifacts. */
export function registerAssetApi(app: FastifyInstance, deps: AppDeps, assets: AssetRegistry): void {
  const log = deps.log.child({ subsys: 'assets' });
  // Imports read only what settings.assets allows, never rackboot's own data directory.
  const importer = new AssetImporter(deps.settings.assets, [deps.settings.dataDir]);
  app.get('/api/v1/assets', { config: { access: 'read' }, ...documented({ summary: 'Artifacts rackboot serves (build manifest + registered)' }) }, async () => ({
    items: assets.list().map(({ path: _p, ...a }) => ({ ...a, url: assetPath(a.sha256) })),
  }));
  app.post('/api/v1/assets', { config: { access: 'admin' }, ...documented({ summary: 'Register an external artifact; its sha256 is verified before use', body: assetRegisterSchema, success: 201 }) }, async (req, reply) => {
    const b = parseBody(assetRegisterSchema, req.body);
    const source = b.path !== undefined ? { path: b.path } : { url: b.url as string };
    const a = await assets.register({ name: b.name, kind: b.kind, sha256: b.sha256, source }, importer);
    deps.store.events.add({ source: 'assets', kind: EVENT.assetRegistered, detail: { name: a.name, sha256: a.sha256, size: a.size, kind: a.kind } });
    log.info({ name: a.name, sha256: a.sha256, size: a.size }, 'artifact registered');
    const { path: _p, ...view } = a;
    return reply.status(201).send({ ...view, url: assetPath(a.sha256) });
  });

  // Profiles are saved by the profile routes and by inventory imports; this hook rejects one that
  // names an artifact rackboot has not verified (422 with the field path) instead of failing at boot time.
  app.addHook('preHandler', async (req) => {
    const route = req.routeOptions.url;
    const body = req.body as { spec?: unknown; profiles?: unknown } | undefined;
    let specs: Array<{ where: string; spec: unknown }>;
    if ((req.method === 'POST' && route === '/api/v1/profiles') || (req.method === 'PUT' && route === '/api/v1/profiles/:name')) {
      specs = [{ where: '', spec: body?.spec }];
    } else if (req.method === 'POST' && route === '/api/v1/inventory/import' && Array.isArray(body?.profiles)) {
      specs = (body.profiles as Array<{ name?: unknown; spec?: unknown } | null>).map((p, i) => ({
        where: `profiles[${i}] (${String(p?.name)}): `,
        spec: p?.spec,
      }));
    } else {
      return;
    }
    const bad = specs.flatMap(({ where, spec }) =>
      assetRefsOf(spec)
        .filter((r) => !assets.digestKnown(r.ref))
        .map((r) => ({ path: `${where}${r.path}`, ref: r.ref })),
    );
    if (bad.length > 0) {
      throw new AppError('INVALID_CONFIG', `${bad[0]?.path}: no verified artifact ${JSON.stringify(bad[0]?.ref)}`, {
        details: bad.map((r) => ({ path: r.path, message: `unknown artifact ${r.ref} (build boot-assets or POST /api/v1/assets)` })),
      });
    }
  });
}
