import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { AppError, isAppError } from '../../errors.js';
import type { Machine } from '../../inventory/machines.js';
import type { Store } from '../../inventory/store.js';
import type { Logger } from '../../log.js';
import type { BootOverride, MachinePower } from '../../model/power.js';
import type { Settings } from '../../settings.js';
import type { RouteDeps } from '../app.js';
import { parseBody } from '../validate.js';
import { documented } from './openapi.js';
import { EVENT } from '../../lifecycle/event-kinds.js';

/** Body of POST /api/v1/machines/:ref/provision. */
export const provisionSchema = z
  .object({
    /** Switch the machine to this profile first (its current revision is what gets rendered). */
    profile: z.string().min(1).max(63).optional(),
  })
  .strict();

/** What a provision request did. */
export interface ProvisionResult {
  machine: string;
  profile: string;
  profileRevision: number;
  previousState: string;
  bootDevice: BootOverride;
  power: 'cycle' | 'on';
}

/** What provisioning needs: the inventory, power control and a logger (RouteDeps has them). */
export interface ProvisionDeps {
  store: Store;
  settings: Settings;
  log: Logger;
  power: MachinePower;
}

/**
 * Re-provisions a machine: (optionally) assigns a profile, marks it as wanting a network
 * install (state `registered`: the boot script sends installed/ready machines to their disk
 * otherwise), sets the next boot to PXE through its BMC and power-cycles it (or powers it on).
 * The next boot renders the profile's current revision as a new config version; old versions
 * stay stored. Used by the API and by rollouts.
 */
export async function provisionMachine(deps: ProvisionDeps, ref: string, opts: { profile?: string } = {}): Promise<ProvisionResult> {
  const { store } = deps;
  const log = deps.log.child({ subsys: 'provision' });
  const before = store.machines.get(ref);
  if (!store.bmcs.find(before.id)) {
    throw new AppError('CONFLICT', `machine ${before.name} has no BMC: power-cycle it by hand after setting its state`);
  }
  const profileName = opts.profile ?? before.profile;
  if (!profileName) throw new AppError('BAD_INPUT', `machine ${before.name} has no profile; give one with --profile`);
  const profile = store.profiles.get(profileName);
  const m: Machine = store.transaction(() => {
    const updated = store.machines.update(before.id, { profile: profile.name, state: 'registered' });
    // Re-provisioning ends the installed OS's reporting rights: its next report needs a new boot's token.
    store.configs.revokeTokens(updated.id, 'report');
    store.events.add({
      mac: updated.macs[0] ?? null,
      machineId: updated.id,
      source: 'api',
      kind: EVENT.provisionRequested,
      detail: { profile: profile.name, profileRevision: profile.revision, previousProfile: before.profile, previousState: before.state },
    });
    return updated;
  });
  const { power } = deps;
  // UEFI machines need the EFI flag in the boot flags (IPMI) / BootSourceOverrideMode (Redfish).
  const bootDevice: BootOverride = { device: 'pxe', persistent: false, uefi: m.facts.firmware === 'uefi' };
  try {
    await power.setBootDevice(m.id, bootDevice);
    const state = (await power.getStatus(m.id)).state;
    const action = state === 'on' ? 'cycle' : 'on';
    await power.powerAction(m.id, action);
    log.info({ machine: m.name, profile: profile.name, revision: profile.revision, action }, 'provision started');
    return { machine: m.name, profile: profile.name, profileRevision: profile.revision, previousState: before.state, bootDevice, power: action };
  } catch (e) {
    if (!isAppError(e)) throw e;
    // The inventory already asks for a network install: a manual power cycle finishes the job.
    throw new AppError(e.code, `${m.name}: ${e.message} (state is now registered: power-cycle it by hand to reinstall)`, { details: e.details, cause: e });
  }
}


/** POST /api/v1/machines/:ref/provision. */
export function registerProvisionRoutes(app: FastifyInstance, deps: RouteDeps): void {
  const refParams = z.object({ ref: z.string().min(1).max(128) });
  app.post('/api/v1/machines/:ref/provision', {
    config: { access: 'operate' },
    ...documented({ summary: 'Re-provision: optional new profile, next boot PXE via the BMC, power cycle; the flow runs again', params: refParams, body: provisionSchema, bodyOptional: true, success: 202 }),
  }, async (req, reply) => {
    const { ref } = parseBody(refParams, req.params, 'path');
    const body = parseBody(provisionSchema, req.body ?? {});
    const result = await provisionMachine(deps, ref, body.profile === undefined ? {} : { profile: body.profile });
    return reply.status(202).send(result);
  });
}
