import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { validateProfileSpec } from '../../config/validate.js';
import { AppError } from '../../errors.js';
import { normalizeMac } from '../../model/mac.js';
import { parseSelector } from '../../inventory/match.js';
import type { AppDeps } from '../app.js';
import { bmcSchema, machineCreateSchema, machinePatchSchema, profileCreateSchema, profileUpdateSchema } from '../schemas.js';
import { parseBody } from '../validate.js';
import { documented } from './openapi.js';
import { EVENT } from '../../lifecycle/event-kinds.js';

const refParams = z.object({ ref: z.string().min(1).max(128) });
const nameParams = z.object({ name: z.string().min(1).max(128) });
const listQuery = z.object({ selector: z.string().max(2000).optional() });
const attachMacSchema = z.object({ mac: z.string().min(1).max(64) }).strict();
const eventsQuery = z.object({
  after: z.coerce.number().int().min(0).optional(),
  limit: z.coerce.number().int().min(1).max(10_000).optional(),
  mac: z.string().optional(),
});

/** /api/v1 machines, BMCs, profiles and events. */
export function registerApiRoutes(app: FastifyInstance, deps: AppDeps): void {
  const { store } = deps;
  const machineView = (id: number) => {
    const m = store.machines.get(id);
    return { ...m, bmc: store.bmcs.find(m.id) ?? null };
  };
  const requireProfile = (name: string | null | undefined) => {
    if (name && !store.profiles.find(name)) {
      throw new AppError('BAD_INPUT', `profile ${name} does not exist`, { details: [{ path: 'profile', message: 'unknown profile' }] });
    }
  };

  app.get('/api/v1/machines', { config: { access: 'read' }, ...documented({ summary: 'List machines (query selector=k=v,k2!=v2)', querystring: listQuery }) }, async (req) => {
    const q = parseBody(listQuery, req.query, 'query');
    const selector = parseSelector(q.selector ?? '');
    return { items: store.machines.list(selector).map((m) => ({ ...m, bmc: store.bmcs.find(m.id) ?? null })) };
  });
  app.post('/api/v1/machines', { config: { access: 'admin' }, ...documented({ summary: 'Register a machine', body: machineCreateSchema, success: 201 }) }, async (req, reply) => {
    const body = parseBody(machineCreateSchema, req.body);
    requireProfile(body.profile);
    const m = store.machines.create(body);
    store.events.add({ machineId: m.id, source: 'api', kind: EVENT.machineCreated, detail: { name: m.name, macs: m.macs } });
    return reply.status(201).send(machineView(m.id));
  });
  app.get('/api/v1/machines/:ref', { config: { access: 'read' }, ...documented({ summary: 'Get a machine by id, name or MAC', params: refParams }) }, async (req) => {
    const { ref } = parseBody(refParams, req.params, 'path');
    return machineView(store.machines.get(ref).id);
  });
  app.patch('/api/v1/machines/:ref', { config: { access: 'admin' }, ...documented({ summary: 'Change a machine', params: refParams, body: machinePatchSchema }) }, async (req) => {
    const { ref } = parseBody(refParams, req.params, 'path');
    const patch = parseBody(machinePatchSchema, req.body);
    requireProfile(patch.profile);
    const m = store.machines.update(store.machines.get(ref).id, patch);
    store.events.add({ machineId: m.id, source: 'api', kind: EVENT.machineUpdated, detail: { fields: Object.keys(patch) } });
    return machineView(m.id);
  });
  // Issue #19: an operator confirms a NIC swap (or adds a port); DHCP and boot scripts never attach a claimed identity's MAC by default.
  app.post('/api/v1/machines/:ref/macs', { config: { access: 'admin' }, ...documented({ summary: 'Attach a MAC to a machine (confirm a NIC swap listed among the unknown MACs)', params: refParams, body: attachMacSchema }) }, async (req) => {
    const { ref } = parseBody(refParams, req.params, 'path');
    const mac = normalizeMac(parseBody(attachMacSchema, req.body).mac);
    return store.transaction(() => {
      const id = store.machines.get(ref).id;
      if (!store.machines.attachMac(id, mac)) return { ...machineView(id), attached: false };
      store.unknownMacs.remove(mac);
      store.events.add({ mac, machineId: id, source: 'api', kind: EVENT.machineMacAttached, detail: { by: 'operator', operator: req.caller?.name ?? null } });
      return { ...machineView(id), attached: true };
    });
  });
  app.delete('/api/v1/machines/:ref', { config: { access: 'admin' }, ...documented({ summary: 'Delete a machine', params: refParams }) }, async (req) => {
    const { ref } = parseBody(refParams, req.params, 'path');
    const m = store.machines.remove(store.machines.get(ref).id);
    store.events.add({ source: 'api', kind: EVENT.machineDeleted, detail: { id: m.id, name: m.name, macs: m.macs } });
    return m;
  });

  app.get('/api/v1/machines/:ref/bmc', { config: { access: 'read' }, ...documented({ summary: "Get a machine's BMC (never its password)", params: refParams }) }, async (req) => {
    const { ref } = parseBody(refParams, req.params, 'path');
    return store.bmcs.get(store.machines.get(ref).id);
  });
  app.put('/api/v1/machines/:ref/bmc', { config: { access: 'admin' }, ...documented({ summary: 'Attach or replace a BMC', params: refParams, body: bmcSchema }) }, async (req) => {
    const { ref } = parseBody(refParams, req.params, 'path');
    const body = parseBody(bmcSchema, req.body);
    const m = store.machines.get(ref);
    const b = store.bmcs.set(m.id, body);
    store.events.add({ machineId: m.id, source: 'api', kind: EVENT.bmcSet, detail: { type: b.type, address: b.address } });
    return b;
  });
  app.delete('/api/v1/machines/:ref/bmc', { config: { access: 'admin' }, ...documented({ summary: 'Detach the BMC', params: refParams }) }, async (req) => {
    const { ref } = parseBody(refParams, req.params, 'path');
    return store.bmcs.remove(store.machines.get(ref).id);
  });

  app.get('/api/v1/machines/:ref/events', { config: { access: 'read' }, ...documented({ summary: "A machine's boot trace (query after, limit)", params: refParams, querystring: eventsQuery }) }, async (req) => {
    const { ref } = parseBody(refParams, req.params, 'path');
    const q = parseBody(eventsQuery, req.query, 'query');
    const m = store.machines.get(ref);
    return { items: store.events.list({ machineId: m.id, afterId: q.after, limit: q.limit }) };
  });
  app.get('/api/v1/events', { config: { access: 'read' }, ...documented({ summary: 'Events, optionally per MAC (query after, limit, mac)', querystring: eventsQuery }) }, async (req) => {
    const q = parseBody(eventsQuery, req.query, 'query');
    const mac = q.mac === undefined ? undefined : normalizeMac(q.mac);
    return { items: store.events.list({ mac, afterId: q.after, limit: q.limit }) };
  });

  app.get('/api/v1/profiles', { config: { access: 'read' }, ...documented({ summary: 'List profiles' }) }, async () => ({ items: store.profiles.list() }));
  app.post('/api/v1/profiles', { config: { access: 'admin' }, ...documented({ summary: 'Create a profile', body: profileCreateSchema, success: 201 }) }, async (req, reply) => {
    const body = parseBody(profileCreateSchema, req.body);
    const spec = store.profiles.withStoredSecrets(body.name, body.spec);
    validateProfileSpec(spec);
    return reply.status(201).send(store.profiles.create(body.name, spec));
  });
  app.get('/api/v1/profiles/:name', { config: { access: 'read' }, ...documented({ summary: 'Get a profile', params: nameParams }) }, async (req) => store.profiles.get(parseBody(nameParams, req.params, 'path').name));
  app.put('/api/v1/profiles/:name', { config: { access: 'admin' }, ...documented({ summary: 'Replace a profile spec', params: nameParams, body: profileUpdateSchema }) }, async (req) => {
    const { name } = parseBody(nameParams, req.params, 'path');
    const body = parseBody(profileUpdateSchema, req.body);
    // `<sealed>` (as every GET shows the secrets) keeps the stored value: GET → edit → PUT works.
    const spec = store.profiles.withStoredSecrets(store.profiles.get(name).name, body.spec);
    validateProfileSpec(spec);
    return store.profiles.update(name, spec);
  });
  app.delete('/api/v1/profiles/:name', { config: { access: 'admin' }, ...documented({ summary: 'Delete an unused profile', params: nameParams }) }, async (req) => store.profiles.remove(parseBody(nameParams, req.params, 'path').name));
}
