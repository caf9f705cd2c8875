import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { AppError } from '../../errors.js';
import type { Store } from '../../inventory/store.js';
import { groupSchema } from '../../model/group.js';
import { callerOf } from '../access.js';
import { parseBody } from '../validate.js';
import { documented } from './openapi.js';

const nameParams = z.object({ name: z.string().min(1).max(63) });
/** Body of PUT /api/v1/groups/:name: a group whose name, if given, is the path's. */
const groupPutSchema = groupSchema.extend({ name: groupSchema.shape.name.optional() });
/** Body of POST /api/v1/groups/apply: a whole set, written all or nothing. */
export const groupApplySchema = z.object({ groups: z.array(groupSchema).max(10_000) }).strict();

/** What the group routes need. */
export interface GroupRouteDeps {
  store: Pick<Store, 'groups' | 'events'>;
}

const by = (req: FastifyRequest) => callerOf(req)?.name ?? null;

/**
 * Groups (issue #19): GET /api/v1/groups[/:name] (read), POST (create), PUT /:name (create or
 * replace), DELETE /:name and POST /api/v1/groups/apply (a set, all or nothing), admin. An
 * ambiguous set is a 409 naming both groups; BMC passwords are `<sealed>` in every answer.
 */
export function registerGroupRoutes(app: FastifyInstance, deps: GroupRouteDeps): void {
  const { store } = deps;
  const read = { config: { access: 'read' as const } };
  const admin = { config: { access: 'admin' as const } };
  const trace = (kind: string, detail: Record<string, unknown>) => store.events.add({ source: 'api', kind, detail });

  app.get('/api/v1/groups', { ...read, ...documented({ summary: 'List groups (selectors, what they assign); BMC passwords <sealed>' }) }, async () => ({ items: store.groups.list() }));

  app.get('/api/v1/groups/:name', { ...read, ...documented({ summary: 'One group', params: nameParams }) }, async (req) => store.groups.get(parseBody(nameParams, req.params, 'path').name));

  app.post('/api/v1/groups', { ...admin, ...documented({ summary: 'Create a group (409 if it exists or is ambiguous with another)', body: groupSchema, success: 201 }) }, async (req, reply) => {
    const g = parseBody(groupSchema, req.body, 'group');
    if (store.groups.find(g.name)) throw new AppError('CONFLICT', `group ${g.name} already exists`);
    const { group } = store.groups.put(g);
    trace('group.created', { name: g.name, by: by(req) });
    return reply.status(201).send(group);
  });

  app.put('/api/v1/groups/:name', { ...admin, ...documented({ summary: 'Create or replace a group; a <sealed> or missing BMC password keeps the stored one', params: nameParams, body: groupPutSchema }) }, async (req, reply) => {
    const { name } = parseBody(nameParams, req.params, 'path');
    const body = parseBody(groupPutSchema, req.body, 'group');
    if (body.name !== undefined && body.name !== name) throw new AppError('BAD_INPUT', `body name ${body.name} is not the path's ${name}`);
    const g = parseBody(groupSchema, { ...(req.body as object), name }, 'group');
    const { group, created } = store.groups.put(g);
    trace(created ? 'group.created' : 'group.updated', { name, by: by(req) });
    return reply.status(created ? 201 : 200).send(group);
  });

  app.post('/api/v1/groups/apply', { ...admin, ...documented({ summary: 'Create or replace several groups at once (all or nothing; an ambiguous set is refused naming both groups)', body: groupApplySchema }) }, async (req) => {
    const { groups } = parseBody(groupApplySchema, req.body, 'groups');
    const names = new Set<string>();
    for (const g of groups) {
      if (names.has(g.name)) throw new AppError('BAD_INPUT', `group ${g.name} is listed twice`);
      names.add(g.name);
    }
    const result = store.groups.putAll(groups);
    trace('groups.applied', { ...result, names: [...names], by: by(req) });
    return result;
  });

  app.delete('/api/v1/groups/:name', { ...admin, ...documented({ summary: 'Delete a group (machines it enrolled keep what they got)', params: nameParams }) }, async (req) => {
    const g = store.groups.remove(parseBody(nameParams, req.params, 'path').name);
    trace('group.deleted', { name: g.name, by: by(req) });
    return g;
  });
}
