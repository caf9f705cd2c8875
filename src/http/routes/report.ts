import { createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { AssetRegistry } from '../../assets/registry.js';
import { verifyReportToken } from '../../config/index.js';
import { AppError } from '../../errors.js';
import type { MachineState } from '../../inventory/machines.js';
import { profileSpecSchema } from '../../inventory/profile-spec.js';
import type { AppDeps } from '../app.js';
import { bearerOf } from '../auth.js';
import { documentRoutes } from './openapi.js';
import { parseBody } from '../validate.js';
import { withSecureBootCompliance } from '../../secureboot/compliance.js';

/** Phases a node agent reports, in the order a provisioning normally runs. */
export const REPORT_PHASES = ['booting', 'configured', 'installing', 'installed', 'ready', 'failed'] as const;
/** One of REPORT_PHASES. */
export type ReportPhase = (typeof REPORT_PHASES)[number];

const digest = z
  .string()
  .regex(/^(sha256:)?[0-9a-f]{64}$/, 'expected sha256:<64 hex digits>')
  .transform((s) => s.replace(/^sha256:/, ''));

/**
 * A config digest is SHA-256 hex, or `sha512:<hex>`: Ignition fetches the config itself (with
 * the one-time token) and logs only the SHA-512 of the bytes it parsed, which the agent relays.
 */
const configDigest = z.union([digest, z.string().regex(/^sha512:[0-9a-f]{128}$/, 'expected sha256:<64 hex> or sha512:<128 hex>')]);

/** POST /api/v1/report body. */
export const reportSchema = z
  .object({
    phase: z.enum(REPORT_PHASES),
    facts: z.record(z.unknown()).optional(),
    imageDigest: digest.optional(),
    configDigest: configDigest.optional(),
    message: z.string().max(2000).optional(),
  })
  .strict();

const RANK: Partial<Record<MachineState, number>> = { booting: 1, configured: 2, installing: 3, installed: 4, ready: 5 };

/**
 * The state a report moves a machine to (pure). `booting` always starts over (a reboot);
 * `failed` and drift win over progress; otherwise phases only move forward (they may skip, e.g.
 * an Ignition node goes installing → installed). A backward move is a stale or replayed report.
 */
export function nextMachineState(current: MachineState, phase: ReportPhase, drifted: boolean): MachineState {
  if (phase === 'failed') return 'failed';
  if (phase === 'booting') return 'booting';
  if (drifted) return 'drifted';
  const from = RANK[current];
  const to = RANK[phase] as number;
  if (from !== undefined && to < from) {
    throw new AppError('CONFLICT', `report ${phase} after ${current}: phases only move forward (booting starts over)`);
  }
  return phase;
}

/** One digest that differs from what the machine should run. */
export interface Drift {
  field: 'configDigest' | 'imageDigest';
  want: string;
  got: string;
}

/** Compares reported digests with the desired config version and install image (pure). */
export function findDrift(reported: { configDigest?: string; imageDigest?: string }, desired: { config?: string; image?: string }): Drift[] {
  const out: Drift[] = [];
  if (reported.configDigest && desired.config && reported.configDigest !== desired.config) {
    out.push({ field: 'configDigest', want: desired.config, got: reported.configDigest });
  }
  if (reported.imageDigest && desired.image && reported.imageDigest !== desired.image) {
    out.push({ field: 'imageDigest', want: desired.image, got: reported.imageDigest });
  }
  return out;
}

documentRoutes([
  { method: 'post', path: '/api/v1/report', summary: 'Node agent phone-home (Bearer <report token from the boot script>)', body: reportSchema, auth: 'boot-token' },
]);

/** POST /api/v1/report: token-authenticated status and facts from a booting node. */
export function registerReportRoutes(app: FastifyInstance, deps: AppDeps, assets: AssetRegistry): void {
  const { store } = deps;
  const log = deps.log.child({ subsys: 'report' });
  app.post('/api/v1/report', { config: { access: 'machine' } }, async (req) => {
    const token = bearerOf(req.headers.authorization);
    if (!token) throw new AppError('UNAUTHORIZED', 'missing report token (Authorization: Bearer <rackboot.token>)');
    const { machineId, versionId } = verifyReportToken(deps, token);
    const body = parseBody(reportSchema, req.body);
    return store.transaction(() => {
      const m = store.machines.get(machineId);
      const spec = m.profile ? profileSpecSchema.safeParse(store.profiles.find(m.profile)?.spec ?? {}) : undefined;
      const imageRef = spec?.success ? spec.data.install?.image : undefined;
      const desiredVersion = store.configs.desired(m.id)?.id ?? versionId;
      const desired = {
        config: body.configDigest?.startsWith('sha512:')
          ? sha512Of(store.configs.findVersion(desiredVersion)?.body)
          : store.configs.findVersion(desiredVersion)?.sha256,
        image: imageRef ? assets.digestOf(imageRef) : undefined,
      };
      const drift = findDrift(body, desired);
      const state = nextMachineState(m.state, body.phase, drift.length > 0);
      const merged = body.facts ? { ...m.facts, ...body.facts, reportedAt: new Date().toISOString() } : m.facts;
      const facts = withSecureBootCompliance(store, m, spec?.success ? spec.data : undefined, merged, body.facts !== undefined);
      const uuid = stringFact(body.facts?.uuid) ?? m.uuid;
      const serial = stringFact(body.facts?.serial) ?? m.serial;
      store.machines.update(m.id, { state, facts, uuid, serial });
      const mac = m.macs[0] ?? null;
      store.events.add({
        mac,
        machineId: m.id,
        source: 'agent',
        kind: `report.${body.phase}`,
        detail: { versionId, state, message: body.message ?? null, configDigest: body.configDigest ?? null, imageDigest: body.imageDigest ?? null },
      });
      if (drift.length > 0) store.events.add({ mac, machineId: m.id, source: 'agent', kind: 'machine.drifted', detail: { drift } });
      log.info({ machine: m.name, phase: body.phase, state, drift: drift.length }, 'report');
      return { machine: m.name, state, drift };
    });
  });
}

function sha512Of(body: Buffer | undefined): string | undefined {
  return body ? `sha512:${createHash('sha512').update(body).digest('hex')}` : undefined;
}

/** DMI strings worth keeping: QEMU and many boards leave them empty or all zeros. */
function stringFact(v: unknown): string | undefined {
  if (typeof v !== 'string') return undefined;
  const s = v.trim();
  if (!s || /^[0-]+$/.test(s) || /^(none|default string|to be filled by o\.e\.m\.)$/i.test(s)) return undefined;
  return s.slice(0, 128);
}
