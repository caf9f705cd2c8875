import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { type Asset, AssetRegistry } from '../../assets/index.js';
import { checkSource } from '../../boot/identity.js';
import { isAppError } from '../../errors.js';
import { normalizeMac } from '../../inventory/mac.js';
import type { Machine } from '../../inventory/machines.js';
import { type ProfileSpec, profileSpecSchema } from '../../inventory/profile-spec.js';
import { planNetworkBoot } from '../../provision/network-boot.js';
import { bootsFromDisk } from '../../provision/policy.js';
import { type IpxeImage, renderLocalBoot, renderNetworkBoot, renderRefusal } from '../../render/ipxe.js';
import type { AppDeps } from '../app.js';
import { fixedPublicUrl, socketBaseUrl } from '../public-url.js';
import { registerAssetApi } from './asset-api.js';
import { registerAssetRoutes } from './assets.js';
import { documentRoutes } from './openapi.js';
import { registerReportRoutes } from './report.js';
import { inspectionScript, wantsInspection } from './inspect.js';


const macQuery = z.object({ mac: z.string().max(64).optional() }).passthrough();
const macParams = z.object({ mac: z.string().max(64) });

documentRoutes([
  { method: 'get', path: '/boot.ipxe', summary: "iPXE script for ?mac=${net0/mac}: the machine's kernel, initrds and config URL", auth: 'none' },
  { method: 'get', path: '/boot/{mac}.ipxe', summary: 'iPXE script, path form', auth: 'none' },
  { method: 'get', path: '/assets/sha256/{hex}', summary: 'Artifact by digest (Range, ETag, immutable)', auth: 'none' },
  { method: 'get', path: '/assets/{name}', summary: 'Artifact by name (e.g. ipxe.efi for UEFI HTTP boot)', auth: 'none' },
]);

/** Boot scripts, assets, external-artifact registration and phone-home. */
export async function registerBootRoutes(app: FastifyInstance, deps: AppDeps): Promise<void> {
  const assets = new AssetRegistry(deps.settings.assetsDir, deps.settings.dataDir);
  const log = deps.log.child({ subsys: 'boot' });
  registerAssetRoutes(app, deps, assets);
  registerAssetApi(app, deps, assets);
  registerReportRoutes(app, deps, assets);

  const script = (req: FastifyRequest, reply: FastifyReply, rawMac: string | undefined) => {
    void reply.type('text/plain; charset=utf-8').header('cache-control', 'no-store');
    let mac: string;
    try {
      mac = normalizeMac(rawMac ?? '');
    } catch {
      const hint = 'chain http://<rackboot>/boot.ipxe?mac=${net0/mac} (or /boot/<mac>.ipxe)';
      return reply.status(400).send(renderRefusal({ mac: null, reason: 'boot script requested without a valid MAC', hint }));
    }
    const machine = deps.store.machines.findByMac(mac);
    if (!machine) {
      deps.store.events.add({ mac, source: 'http', kind: 'boot.unknown', detail: { client: req.ip } });
      log.info({ mac, client: req.ip }, 'boot script for unknown MAC');
      const hint = 'add it to the inventory (rackboot machines add) and reboot';
      return renderRefusal({ mac, reason: `unknown machine ${mac}`, hint });
    }
    // A MAC in the URL proves nothing: the script (and the tokens it mints) goes only to the machine's own address.
    if (!checkSource(deps, { machine, source: req.ip, what: 'boot-script', via: 'http', mac }).ok) {
      const hint = 'request the script from the machine itself (or set bootBinding: off on its profile behind NAT)';
      return reply.status(403).send(renderRefusal({ mac, reason: `this address is not bound to ${mac}`, hint }));
    }
    try {
      // One transaction: the config version, both tokens, the state and the event commit together.
      const base = baseUrlOf(deps, req);
      return deps.store.transaction(() => bootScriptFor(deps, assets, machine, mac, base));
    } catch (e) {
      if (!isAppError(e)) throw e;
      deps.store.events.add({ mac, machineId: machine.id, source: 'http', kind: 'boot.error', detail: { code: e.code, message: e.message } });
      log.warn({ mac, machine: machine.name, code: e.code, msg: e.message }, 'cannot boot machine');
      return renderRefusal({ mac, reason: `cannot boot ${machine.name}: ${e.message}`, hint: 'fix the profile or assets and reboot' });
    }
  };

  app.get('/boot.ipxe', { config: { access: 'public-boot' } }, async (req, reply) => script(req, reply, macQuery.parse(req.query).mac));
  app.get('/boot/:file', { config: { access: 'public-boot' } }, async (req, reply) => {
    const { mac: file } = macParams.parse({ mac: (req.params as { file?: string }).file ?? '' });
    return script(req, reply, file.endsWith('.ipxe') ? file.slice(0, -'.ipxe'.length) : undefined);
  });
}

/** Decides and renders one machine's script; records it in the boot trace. */
function bootScriptFor(deps: AppDeps, assets: AssetRegistry, machine: Machine, mac: string, base: string): string {
  const { store } = deps;
  // Discovered (or inspect=true) machines boot the inspection image first (inspect.ts).
  if (wantsInspection(machine)) return inspectionScript(deps, assets, machine, mac, base);
  if (!machine.profile) {
    store.events.add({ mac, machineId: machine.id, source: 'http', kind: 'boot.refused', detail: { reason: 'no profile' } });
    return renderRefusal({ mac, reason: `machine ${machine.name} has no profile`, hint: 'assign a profile and reboot' });
  }
  const spec = profileSpecSchema.parse(store.profiles.get(machine.profile).spec);
  if (bootsFromDisk(machine.state, spec)) {
    store.events.add({ mac, machineId: machine.id, source: 'http', kind: 'boot.script', detail: { mode: 'disk', profile: machine.profile } });
    return renderLocalBoot({ mac, machine: machine.name });
  }
  const { kernel, initrds, boot, args } = planNetworkBoot(deps, assets, machine, spec, base);
  const url = (a: Asset) => `${base}/assets/sha256/${a.sha256}?mac=${mac}`;
  const images: IpxeImage[] = initrds.map((a, i) => ({ name: `initrd${i}`, url: url(a) }));
  if (machine.state !== 'booting') store.machines.update(machine.id, { state: 'booting' });
  store.events.add({
    mac,
    machineId: machine.id,
    source: 'http',
    kind: 'boot.script',
    detail: { mode: 'network', versionId: boot.versionId, sha256: boot.sha256, profile: machine.profile, kernel: kernel.sha256, initrds: initrds.map((a) => a.sha256) },
  });
  return renderNetworkBoot({
    mac,
    machine: machine.name,
    profile: machine.profile,
    kernel: { name: 'vmlinuz', url: url(kernel) },
    initrds: images,
    args,
    comment: `config version ${boot.versionId}`,
  });
}

/** Base URL for machines: the public URL fixed at start, never the request's Host header. */
function baseUrlOf(deps: AppDeps, req: FastifyRequest): string {
  return fixedPublicUrl(deps) ?? socketBaseUrl(req.socket, deps.settings.http.port);
}
