import type { FastifyInstance } from 'fastify';
import type { z } from 'zod';
import { zodToJsonSchema } from 'zod-to-json-schema';
import {
  bmcSchema,
  inventoryFileSchema,
  machineCreateSchema,
  machinePatchSchema,
  profileCreateSchema,
  profileUpdateSchema,
} from '../schemas.js';

/** One documented route. */
export interface RouteDoc {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  path: string;
  summary: string;
  body?: z.ZodTypeAny;
  auth?: 'admin' | 'none' | 'boot-token';
}

const routes: RouteDoc[] = [
  { method: 'get', path: '/api/v1/machines', summary: 'List machines (query selector=k=v,k2!=v2)' },
  { method: 'post', path: '/api/v1/machines', summary: 'Register a machine', body: machineCreateSchema },
  { method: 'get', path: '/api/v1/machines/{ref}', summary: 'Get a machine by id, name or MAC' },
  { method: 'patch', path: '/api/v1/machines/{ref}', summary: 'Change a machine', body: machinePatchSchema },
  { method: 'delete', path: '/api/v1/machines/{ref}', summary: 'Delete a machine' },
  { method: 'get', path: '/api/v1/machines/{ref}/bmc', summary: "Get a machine's BMC (never its password)" },
  { method: 'put', path: '/api/v1/machines/{ref}/bmc', summary: 'Attach or replace a BMC', body: bmcSchema },
  { method: 'delete', path: '/api/v1/machines/{ref}/bmc', summary: 'Detach the BMC' },
  { method: 'get', path: '/api/v1/machines/{ref}/events', summary: "A machine's boot trace" },
  { method: 'get', path: '/api/v1/events', summary: 'Events, optionally per MAC' },
  { method: 'get', path: '/api/v1/profiles', summary: 'List profiles' },
  { method: 'post', path: '/api/v1/profiles', summary: 'Create a profile', body: profileCreateSchema },
  { method: 'get', path: '/api/v1/profiles/{name}', summary: 'Get a profile' },
  { method: 'put', path: '/api/v1/profiles/{name}', summary: 'Replace a profile spec', body: profileUpdateSchema },
  { method: 'delete', path: '/api/v1/profiles/{name}', summary: 'Delete an unused profile' },
  { method: 'post', path: '/api/v1/inventory/import', summary: 'Import an inventory file (all or nothing)', body: inventoryFileSchema },
  { method: 'get', path: '/api/v1/inventory/export', summary: 'Export the inventory (no BMC passwords)' },
];

/** Adds routes to the OpenAPI document (called by each subsystem's route module at load). */
export function documentRoutes(more: RouteDoc[]): void {
  for (const r of more) if (!routes.some((x) => x.method === r.method && x.path === r.path)) routes.push(r);
}

/** The OpenAPI 3.1 document for every documented route. */
export function openApiDocument(): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) {
    const op: Record<string, unknown> = {
      summary: r.summary,
      security: r.auth === 'none' || r.auth === 'boot-token' ? [] : [{ bearer: [] }],
      responses: {
        '200': { description: 'OK' },
        '400': { description: 'Invalid input', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } },
        '401': { description: 'No or wrong token' },
        '404': { description: 'Unknown' },
      },
    };
    if (r.body) {
      op.requestBody = {
        required: true,
        content: { 'application/json': { schema: zodToJsonSchema(r.body, { target: 'openApi3', $refStrategy: 'none' }) } },
      };
    }
    (paths[r.path] ??= {})[r.method] = op;
  }
  return {
    openapi: '3.1.0',
    info: { title: 'rackboot API', version: '1' },
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      schemas: {
        Error: {
          type: 'object',
          properties: {
            error: {
              type: 'object',
              properties: { code: { type: 'string' }, message: { type: 'string' }, details: {} },
              required: ['code', 'message'],
            },
          },
        },
      },
    },
    paths,
  };
}

/** GET /api/v1/openapi.json (public: it holds no data). */
export function registerOpenApi(app: FastifyInstance): void {
  app.get('/api/v1/openapi.json', { config: { access: 'read' } }, async () => openApiDocument());
}
