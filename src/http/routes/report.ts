import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { AssetRegistry } from '../../assets/registry.js';
import { requireBoundSource } from '../../boot/identity.js';
import { REPORT_PHASES, nextMachineState } from '../../boot/transitions.js';
import { BOOT_PATHS } from '../../boot/urls.js';
import { verifyReportToken } from '../../config/index.js';
import { AppError } from '../../errors.js';
import { type Digest, type DigestSet, digestSchema, digestSetOf, expectedFor, matchesDigest, recordedDigest, sha256DigestSchema, tryParseDigest } from '../../model/digest.js';
import { profileSpecSchema } from '../../model/profile-spec.js';
import type { AppDeps } from '../app.js';
import { bearerOf } from '../auth.js';
import { documented } from './openapi.js';
import { parseBody } from '../validate.js';
import { withSecureBootCompliance } from '../../secureboot/compliance.js';
import { EVENT, reportKind } from '../../lifecycle/event-kinds.js';

/** Phases and their transitions live in src/boot/transitions.ts (pure, table-tested). */
export { REPORT_PHASES, type ReportPhase, nextMachineState } from '../../boot/transitions.js';

/** The most a report's `facts` may weigh (serialized JSON); more is refused, not truncated. */
export const MAX_FACTS_BYTES = 64 * 1024;

/** POST /api/v1/report body. */
export const reportSchema = z
  .object({
    phase: z.enum(REPORT_PHASES),
    facts: z.record(z.unknown()).optional(),
    imageDigest: sha256DigestSchema.optional(),
    /** SHA-256, or SHA-512: Ignition logs only the SHA-512 of the config bytes it parsed. */
    configDigest: digestSchema.optional(),
    message: z.string().max(2000).optional(),
  })
  .strict();

/** One digest that differs from what the machine should run. */
export interface Drift {
  field: 'configDigest' | 'imageDigest';
  want: string;
  got: string;
}

/**
 * Compares reported digests with the desired config version and install image (pure). Each
 * desired side is a set: the same bytes under every algorithm rackboot knows them by.
 */
export function findDrift(reported: { configDigest?: Digest | undefined; imageDigest?: Digest | undefined }, desired: { config: DigestSet; image: DigestSet }): Drift[] {
  const out: Drift[] = [];
  for (const [field, want] of [['configDigest', desired.config], ['imageDigest', desired.image]] as const) {
    const got = reported[field];
    if (!got || !want.length || matchesDigest(got, want)) continue;
    out.push({ field, want: recordedDigest(expectedFor(got, want)!), got: recordedDigest(got) });
  }
  return out;
}

/** POST /api/v1/report: token-authenticated status and facts from a booting node. */
export function registerReportRoutes(app: FastifyInstance, deps: AppDeps, assets: AssetRegistry): void {
  const { store } = deps;
  const log = deps.log.child({ subsys: 'report' });
  app.post(BOOT_PATHS.report, { config: { access: 'machine' }, ...documented({ summary: "Node agent phone-home (Bearer <report token from the boot script>, from the machine's own address)", body: reportSchema, security: [{ reportToken: [] }] }) }, async (req) => {
    const token = bearerOf(req.headers.authorization);
    if (!token) throw new AppError('UNAUTHORIZED', 'missing report token (Authorization: Bearer <rackboot.token>)');
    const { machineId, versionId } = verifyReportToken(deps, token);
    // A harvested token is not enough: the report must come from the machine's own address.
    requireBoundSource(deps, { machine: store.machines.get(machineId), source: req.ip, what: 'report', via: 'agent' });
    const body = parseBody(reportSchema, req.body);
    const factsBytes = body.facts ? Buffer.byteLength(JSON.stringify(body.facts)) : 0;
    if (factsBytes > MAX_FACTS_BYTES) {
      throw new AppError('PAYLOAD_TOO_LARGE', `report facts are ${factsBytes} bytes; at most ${MAX_FACTS_BYTES} are accepted`, { details: { bytes: factsBytes, max: MAX_FACTS_BYTES } });
    }
    return store.transaction(() => {
      const m = store.machines.get(machineId);
      const spec = m.profile ? profileSpecSchema.safeParse(store.profiles.find(m.profile)?.spec ?? {}) : undefined;
      const imageRef = spec?.success ? spec.data.install?.image : undefined;
      const desiredVersion = store.configs.desired(m.id)?.id ?? versionId;
      const desiredBody = store.configs.findVersion(desiredVersion)?.body;
      const image = imageRef ? assets.digestOf(imageRef) : undefined;
      const desired = { config: desiredBody ? digestSetOf(desiredBody) : [], image: (image ? [tryParseDigest(image)] : []).filter((d) => d !== null) };
      const drift = findDrift(body, desired);
      const state = nextMachineState(m.state, body.phase, drift.length > 0);
      // Reported facts replace the old ones (a merge would let keys pile up from report to report).
      const reported = body.facts ? { ...body.facts, reportedAt: new Date().toISOString() } : m.facts;
      const facts = withSecureBootCompliance(store, m, spec?.success ? spec.data : undefined, reported, body.facts !== undefined);
      const uuid = stringFact(body.facts?.uuid) ?? m.uuid;
      const serial = stringFact(body.facts?.serial) ?? m.serial;
      store.machines.update(m.id, { state, facts, uuid, serial });
      const mac = m.macs[0] ?? null;
      store.events.add({
        mac,
        machineId: m.id,
        source: 'agent',
        kind: reportKind(body.phase),
        detail: { versionId, state, message: body.message ?? null, configDigest: body.configDigest ? recordedDigest(body.configDigest) : null, imageDigest: body.imageDigest ? recordedDigest(body.imageDigest) : null },
      });
      if (drift.length > 0) store.events.add({ mac, machineId: m.id, source: 'agent', kind: EVENT.machineDrifted, detail: { drift } });
      log.info({ machine: m.name, phase: body.phase, state, drift: drift.length }, 'report');
      return { machine: m.name, state, drift };
    });
  });
}

/** DMI strings worth keeping: QEMU and many boards leave them empty or all zeros. */
function stringFact(v: unknown): string | undefined {
  if (typeof v !== 'string') return undefined;
  const s = v.trim();
  if (!s || /^[0-]+$/.test(s) || /^(none|default string|to be filled by o\.e\.m\.)$/i.test(s)) return undefined;
  return s.slice(0, 128);
}
