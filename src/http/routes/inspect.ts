/**
 * Inspection boot (issue #19): the iPXE script that boots a discovered (or `inspect=true`)
 * machine into the test OS in inspection mode, and POST /api/v1/inspection where that image
 * posts the hardware it found. The report is validated, size-capped, stored with history and
 * replaces the machine's facts; the facts are matched against the groups (inspect-enroll.ts)
 * and, with the group's BMC credentials and the inspected BMC address, the BMC is verified and
 * saved (src/bmc/discovery.ts).
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Asset, AssetRegistry } from '../../assets/index.js';
import { requireBoundSource } from '../../boot/identity.js';
import { normalizeSourceAddress } from '../../boot/binding.js';
import { hashToken, newTokenSecret } from '../../config/tokens.js';
import { AppError } from '../../errors.js';
import type { Machine } from '../../inventory/machines.js';
import type { DiscoveryOutcome } from '../../model/bmc-discovery.js';
import { TEST_OS } from '../../provision/network-boot.js';
import { renderNetworkBoot } from '../../render/ipxe.js';
import type { AppDeps } from '../app.js';
import { bearerOf } from '../auth.js';
import { parseBody } from '../validate.js';
import { type EnrollOutcome, applyInspection } from './inspect-enroll.js';
import { MAX_INSPECTION_BYTES, factsFromInspection, inspectionReportSchema } from './inspect-report.js';
import { documented } from './openapi.js';
import { EVENT } from '../../lifecycle/event-kinds.js';

export { wantsInspection } from './inspect-enroll.js';

/** The inspection boot's extra initrd (boot-assets/parts/10-testos.sh): ipmitool + IPMI modules. */
export const INSPECT_TOOLS = 'testos-inspect.img';

/** Where the inspection image posts its report (boot listener, inspection token). */
export const INSPECTION_PATH = '/api/v1/inspection';

/**
 * The iPXE script of an inspection boot: the test OS kernel and initrd with `rackboot.inspect`
 * and a fresh inspection token (the machine's earlier one dies). Traced as `boot.script` with
 * mode `inspect`. Call inside the boot route's transaction.
 */
export function inspectionScript(deps: AppDeps, assets: AssetRegistry, machine: Machine, mac: string, base: string, nowMs = Date.now()): string {
  const kernel = assets.resolve(TEST_OS.kernel, 'inspection kernel');
  const initrd = assets.resolve(TEST_OS.initrd, 'inspection initrd');
  // ipmitool and the IPMI modules, when the build made them: the BMC's address is read in-band.
  const tools = assets.byName(INSPECT_TOOLS);
  const token = newTokenSecret();
  const ttlMs = deps.settings.http.configTokenTtlSeconds * 1000;
  deps.store.inspections.addToken({ hash: hashToken(token), machineId: machine.id, expiresAt: nowMs + ttlMs, createdAt: nowMs });
  const url = (a: Asset) => `${base}/assets/sha256/${a.sha256}?mac=${mac}`;
  const initrds = tools ? [initrd, tools] : [initrd];
  deps.store.events.add({ mac, machineId: machine.id, source: 'http', kind: EVENT.bootScript, detail: { mode: 'inspect', kernel: kernel.sha256, initrds: initrds.map((a) => a.sha256) } });
  return renderNetworkBoot({
    mac,
    machine: machine.name,
    profile: '(inspection)',
    kernel: { name: 'vmlinuz', url: url(kernel) },
    initrds: initrds.map((a, i) => ({ name: `initrd${i}`, url: url(a) })),
    args: [`rackboot.inspect=${base}${INSPECTION_PATH}`, `rackboot.token=${token}`, deps.settings.http.consoleArgs],
    comment: 'inspection boot',
  });
}

/** The answer to the inspection image: `next: reboot` when the machine was enrolled. */
export interface InspectionAnswer {
  machine: string;
  state: Machine['state'];
  inspection: number;
  enrollment: EnrollOutcome;
  bmc: DiscoveryOutcome | null;
  next: 'reboot' | 'poweroff';
}

const nameParams = z.object({ name: z.string().min(1).max(128) });

/** POST /api/v1/inspection (machine) and GET /api/v1/machines/:name/inspections (read). */
export function registerInspectRoutes(app: FastifyInstance, deps: AppDeps): void {
  const { store } = deps;
  const log = deps.log.child({ subsys: 'inspect' });

  app.post(
    INSPECTION_PATH,
    {
      config: { access: 'machine' },
      bodyLimit: MAX_INSPECTION_BYTES,
      ...documented({ summary: "Inspection image report (Bearer <rackboot.token of the inspection boot>, from the machine's own address)", body: inspectionReportSchema, security: [{ reportToken: [] }] }),
    },
    async (req): Promise<InspectionAnswer> => {
    const token = bearerOf(req.headers.authorization);
    if (!token) throw new AppError('UNAUTHORIZED', 'missing inspection token (Authorization: Bearer <rackboot.token>)');
    const now = Date.now();
    const hash = hashToken(token);
    const machineId = store.inspections.machineOfToken(hash, now);
    if (machineId === undefined) throw new AppError('FORBIDDEN', 'unknown or expired inspection token');
    // The token travelled in a kernel command line: the report must also come from the machine's address.
    requireBoundSource(deps, { machine: store.machines.get(machineId), source: req.ip, what: 'report', via: 'inspect' });
    const report = parseBody(inspectionReportSchema, req.body, 'inspection report');
    const at = new Date(now);
    const facts = factsFromInspection(report, at);
    const client = normalizeSourceAddress(req.ip);
    const done = store.transaction(() => {
      const before = store.machines.get(machineId);
      const saved = store.inspections.add({ machineId, facts, client, at });
      store.inspections.revokeToken(hash);
      const { machine, outcome } = applyInspection(store, before, facts, client);
      const mac = machine.macs[0] ?? null;
      store.events.add({ mac, machineId, source: 'inspect', kind: EVENT.inspectReport, detail: { inspection: saved.id, client, ...outcome } });
      if (outcome.result === 'enrolled') {
        store.events.add({ mac, machineId, source: 'inspect', kind: EVENT.machineEnrolled, detail: { group: outcome.group, profile: outcome.profile, name: outcome.name, by: 'inspection' } });
      }
      return { machine, outcome, inspection: saved.id };
    });
    const bmc = await discoverAfter(done.outcome, done.machine, facts.bmc as { address?: string } | null);
    log.info({ machine: done.machine.name, inspection: done.inspection, result: done.outcome.result, bmc: bmc?.result ?? null }, 'inspection report');
    return {
      machine: done.machine.name,
      state: done.machine.state,
      inspection: done.inspection,
      enrollment: done.outcome,
      bmc,
      next: done.outcome.result === 'enrolled' ? 'reboot' : 'poweroff',
    };
  });

  /** The group's BMC credentials at the inspected address, verified before they are saved. */
  async function discoverAfter(outcome: EnrollOutcome, machine: Machine, bmc: { address?: string } | null): Promise<DiscoveryOutcome | null> {
    if (outcome.result !== 'enrolled' && outcome.result !== 'matched') return null;
    const creds = store.groups.bmcCredentials(outcome.group);
    if (!creds || !bmc?.address) return null;
    if (!deps.bmcDiscovery) {
      log.warn({ machine: machine.name, address: bmc.address }, 'bmc discovery is not wired in this app: the BMC is not saved');
      return null;
    }
    return deps.bmcDiscovery(machine.id, { ...creds, address: bmc.address });
  }

  app.get(
    '/api/v1/machines/:name/inspections',
    { config: { access: 'read' }, ...documented({ summary: "A machine's inspection reports, newest first (the last 10 are kept)", params: nameParams }) },
    async (req) => {
      const { name } = parseBody(nameParams, req.params, 'path');
      const m = store.machines.get(name);
      return { machine: m.name, items: store.inspections.list(m.id) };
    },
  );
}
