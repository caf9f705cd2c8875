import { enrollPending } from '../../inventory/enroll.js';
import { claimedMachine } from '../../inventory/identity.js';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { AppError } from '../../errors.js';
import { normalizeMac } from '../../model/mac.js';
import { whyOf } from '../../lifecycle/why.js';
import type { AppDeps } from '../app.js';
import { machineCreateSchema } from '../schemas.js';
import { parseBody } from '../validate.js';
import { documented } from './openapi.js';
import { EVENT } from '../../lifecycle/event-kinds.js';

const refParams = z.object({ ref: z.string().min(1).max(128) });
const macParams = z.object({ mac: z.string().min(1).max(64) });
const whyQuery = z.object({ reportMinutes: z.coerce.number().int().min(1).max(24 * 60).optional() });
const listQuery = z.object({ limit: z.coerce.number().int().min(1).max(4096).optional() });
/** Body of POST /api/v1/unknown-macs/:mac/enroll: the new machine's name, profile and labels. */
const enrollSchema = machineCreateSchema.pick({ name: true, labels: true, profile: true }).strict();

/**
 * GET /api/v1/why/:ref (read): the diagnosis of a machine or MAC; GET /api/v1/unknown-macs
 * (read) and POST /api/v1/unknown-macs/:mac/enroll (admin: creates the machine with what DHCP
 * told us as facts and forgets the sighting).
 */
export function registerWhyRoutes(app: FastifyInstance, deps: AppDeps, now: () => number = Date.now): void {
  const { store, settings } = deps;

  app.get('/api/v1/why/:ref', { config: { access: 'read' }, ...documented({ summary: 'Diagnosis of a machine or MAC: phase reached, phase durations, verdict with cause and next step', params: refParams, querystring: whyQuery }) }, async (req) => {
    const { ref } = parseBody(refParams, req.params, 'path');
    const q = parseBody(whyQuery, req.query, 'query');
    return whyOf(store, settings, ref, now(), q.reportMinutes ? { reportMs: q.reportMinutes * 60_000 } : {});
  });

  app.get('/api/v1/unknown-macs', { config: { access: 'read' }, ...documented({ summary: 'MACs seen in DHCP that no machine has (bounded, most recent first)', querystring: listQuery }) }, async (req) => {
    const q = parseBody(listQuery, req.query, 'query');
    // A MAC whose UUID names a known machine is a NIC swap (or a claim) waiting for attach-mac.
    const items = store.unknownMacs.list(q.limit ? { limit: q.limit } : {}).map((u) => {
      const claim = claimedMachine(store, { uuid: u.uuid ?? undefined });
      return { ...u, claims: claim ? { machine: claim.machine.name, by: claim.by } : null };
    });
    return { items };
  });

  app.post('/api/v1/unknown-macs/:mac/enroll', { config: { access: 'admin' }, ...documented({ summary: 'Create a machine from an unknown MAC (what DHCP told us becomes its facts)', params: macParams, body: enrollSchema, bodyOptional: true, success: 201 }) }, async (req, reply) => {
    const mac = normalizeMac(parseBody(macParams, req.params, 'path').mac);
    const body = parseBody(enrollSchema, req.body ?? {});
    if (body.profile && !store.profiles.find(body.profile)) {
      throw new AppError('BAD_INPUT', `profile ${body.profile} does not exist`, { details: [{ path: 'profile', message: 'unknown profile' }] });
    }
    const m = store.transaction(() => {
      const seen = store.unknownMacs.find(mac);
      if (!seen) {
        const owner = store.machines.findByMac(mac);
        throw owner ? new AppError('CONFLICT', `${mac} is already machine ${owner.name}`) : new AppError('NOT_FOUND', `${mac} is not in the unknown MACs table`);
      }
      // Issue #19: a discovered machine matched to an `enroll: manual` group becomes registered.
      const pending = enrollPending(store, mac, body, req.caller?.name ?? null);
      if (pending) return pending;
      const facts = { arch: seen.arch, vendorClass: seen.vendorClass, relayAgent: seen.giaddr || seen.circuitId || seen.remoteId ? { giaddr: seen.giaddr, circuitId: seen.circuitId, remoteId: seen.remoteId } : null };
      const created = store.machines.create({ name: body.name, macs: [mac], labels: body.labels, profile: body.profile ?? null, facts });
      store.unknownMacs.remove(mac);
      store.events.add({ mac, machineId: created.id, source: 'api', kind: EVENT.machineCreated, detail: { name: created.name, macs: created.macs, enrolledFrom: 'unknown-macs', by: req.caller?.name ?? null } });
      return created;
    });
    return reply.status(201).send(m);
  });
}
