import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { ScriptMemo, ipxeAnswers } from '../../boot/answers.js';
import { checkSource } from '../../boot/identity.js';
import { BootService } from '../../boot/service.js';
import { BOOT_PATHS } from '../../boot/urls.js';
import { claimedMachine, identityQuery } from '../../inventory/identity.js';
import { KeyedLimiter } from '../../model/keyed-limiter.js';
import { normalizeMac } from '../../model/mac.js';
import { renderRefusal } from '../../render/ipxe.js';
import type { RouteDeps } from '../app.js';
import { type BootScriptHandler, SCRIPT_HEADERS, type ScriptAnswer, scriptFileMac } from '../boot-script.js';
import { fixedPublicUrl, socketBaseUrl } from '../public-url.js';
import { registerAssetApi } from './asset-api.js';
import { registerAssetRoutes } from './assets.js';
import { documented } from './openapi.js';
import { registerReportRoutes } from './report.js';
import { inspectionScript, wantsInspection } from './inspect.js';
import { EVENT } from '../../lifecycle/event-kinds.js';


/** Identity claims traced per claimed machine: a burst of 3, then one per 10 s. */
const CLAIM_TRACE = { perSecond: 0.1, burst: 3 };
/** A MAC already in normalizeMac's form. */
const CANONICAL_MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;
const macQuery = z.object({ mac: z.string().max(64).optional() }).passthrough();
const macParams = z.object({ mac: z.string().max(64) });
/** What GET /boot/:file is documented with (its handler reads the MAC out of `<mac>.ipxe`). */
const bootFileParams = z.object({ file: z.string().max(69).describe('<mac>.ipxe') });


/** Boot scripts, assets, external-artifact registration and phone-home; returns the script handler (the lean path serves it too). */
export async function registerBootRoutes(app: FastifyInstance, deps: RouteDeps): Promise<BootScriptHandler> {
  const { assets } = deps;
  const log = deps.log.child({ subsys: 'boot' });
  const boot = deps.boot ?? new BootService({ store: deps.store, settings: deps.settings, assets, log });
  registerAssetRoutes(app, deps, assets);
  registerAssetApi(app, deps, assets);
  registerReportRoutes(app, deps, assets);

  const claimTrace = new KeyedLimiter(CLAIM_TRACE.perSecond, CLAIM_TRACE.burst);
  // A steady-state boot's script is its MAC's last one with fresh tokens (answers.ts).
  const scripts = new ScriptMemo();
  const script: BootScriptHandler = (req) => {
    const answer = (status: number, body: string): ScriptAnswer => ({ status, body });
    let mac: string;
    try {
      const raw = req.rawMac ?? '';
      mac = CANONICAL_MAC.test(raw) ? raw : normalizeMac(raw); // iPXE's ${net0/mac} is already canonical
    } catch {
      const hint = 'chain http://<rackboot>/boot.ipxe?mac=${net0/mac} (or /boot/<mac>.ipxe)';
      return answer(400, renderRefusal({ mac: null, reason: 'boot script requested without a valid MAC', hint }));
    }
    // By MAC only. The SMBIOS UUID/serial iPXE put in the URL is what the client claims: a new
    // NIC of a known machine is refused (and traced) until an operator attaches its MAC (#19).
    // From memory while the machines and their MACs are unchanged (a MAC moved counts at once).
    const machine = deps.store.machines.findByMacCached(mac);
    const claim = machine ? undefined : claimedMachine(deps.store, identityQuery(req.query));
    if (claim) {
      // Traced and logged at most CLAIM_TRACE per machine (a flood of claims must not bury its trace); always refused.
      if (claimTrace.take(String(claim.machine.id), Date.now())) {
        deps.store.events.add({ mac, machineId: claim.machine.id, source: 'http', kind: EVENT.machineIdentityClaim, detail: { by: claim.by, client: req.ip, action: 'refused: confirm with rackboot machines attach-mac' } });
        log.warn({ mac, client: req.ip, claims: claim.machine.name, by: claim.by }, 'boot script: unknown MAC claims a known machine');
      }
      const hint = `if this is a NIC swap, confirm it: rackboot machines attach-mac ${claim.machine.name} ${mac}, then reboot`;
      return answer(200, renderRefusal({ mac, reason: `unknown MAC ${mac} (its ${claim.by} names machine ${claim.machine.name})`, hint }));
    }
    if (!machine) {
      deps.store.events.add({ mac, source: 'http', kind: EVENT.bootUnknown, detail: { client: req.ip } });
      log.info({ mac, client: req.ip }, 'boot script for unknown MAC');
      const hint = 'add it to the inventory (rackboot machines add) and reboot';
      return answer(200, renderRefusal({ mac, reason: `unknown machine ${mac}`, hint }));
    }
    // A MAC in the URL proves nothing: the script (and the tokens it mints) goes only to the machine's own address.
    if (!checkSource(deps, { machine, source: req.ip, what: 'boot-script', via: 'http', mac }).ok) {
      const hint = 'request the script from the machine itself (or set bootBinding: off on its profile behind NAT)';
      return answer(403, renderRefusal({ mac, reason: `this address is not bound to ${mac}`, hint }));
    }
    const base = fixedPublicUrl(deps) ?? socketBaseUrl(req.socket, deps.settings.http.port);
    const request = { machine, mac, client: 'ipxe-script' as const, base, source: 'http' };
    // Discovered (or inspect=true) machines boot the inspection image first (inspect.ts).
    if (wantsInspection(machine)) {
      return answer(200, boot.run(request, () => inspectionScript(deps, assets, machine, mac, base), (e) => ipxeAnswers(machine, mac, base).error(e)));
    }
    // The config version, both tokens, the state and the event commit together (a steady-state
    // boot's in the next group commit, BootWriteQueue); the script is sent only after that commit.
    return boot.answerCommitted(request, ipxeAnswers(machine, mac, base, scripts)).then((body) => answer(200, body));
  };
  const send = async (req: FastifyRequest, reply: FastifyReply, rawMac: string | undefined) => {
    const a = await script({ rawMac, query: req.query, ip: req.ip, socket: req.socket });
    return reply.status(a.status).headers(SCRIPT_HEADERS).send(a.body);
  };

  app.get(BOOT_PATHS.script, { config: { access: 'public-boot' }, ...documented({ summary: "iPXE script for ?mac=${net0/mac}: the machine's kernel, initrds and config URL", querystring: macQuery, produces: 'text/plain' }) }, async (req, reply) => send(req, reply, macQuery.parse(req.query).mac));
  app.get(BOOT_PATHS.scriptByPath, { config: { access: 'public-boot' }, ...documented({ summary: 'iPXE script, path form (/boot/<mac>.ipxe)', params: bootFileParams, produces: 'text/plain' }) }, async (req, reply) => {
    const { mac: file } = macParams.parse({ mac: (req.params as { file?: string }).file ?? '' });
    return send(req, reply, scriptFileMac(file));
  });
  return script;
}
