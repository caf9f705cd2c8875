import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { routeTable } from '../../src/http/guard.js';
import { ACCESS_EXTENSION, jsonSchemaOf } from '../../src/http/routes/openapi.js';
import { powerActionSchema } from '../../src/http/routes/power.js';
import { provisionSchema } from '../../src/http/routes/provision.js';
import { reportSchema } from '../../src/http/routes/report.js';
import { tokenCreateSchema } from '../../src/http/routes/tokens.js';
import { inventoryFileSchema, machineCreateSchema, machinePatchSchema } from '../../src/http/schemas.js';
import { rolloutSpecSchema } from '../../src/rollout/spec.js';
import { testApp } from '../helpers/app.js';

interface Parameter {
  name: string;
  in: string;
  required?: boolean;
  schema?: Record<string, unknown>;
}
interface Operation {
  summary?: string;
  parameters?: Parameter[];
  requestBody?: { required?: boolean; content: Record<string, { schema: Record<string, unknown> }> };
  responses: Record<string, { description: string; content?: Record<string, { schema: unknown }> }>;
  security?: Array<Record<string, string[]>>;
  [ACCESS_EXTENSION]?: string;
}
interface Document {
  openapi: string;
  info: { title: string; version: string };
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, unknown>; securitySchemes: Record<string, { type: string; scheme?: string }> };
}

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

/** A fastify route URL as OpenAPI writes it: `:ref` → `{ref}`, `*` → `{*}`. */
const openApiPath = (url: string) => url.replace(/:([A-Za-z0-9_]+)/g, '{$1}').replace('*', '{*}');

/** Every `$ref` anywhere in a value. */
function refsIn(v: unknown, out: string[] = []): string[] {
  if (Array.isArray(v)) for (const x of v) refsIn(x, out);
  else if (v && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) {
      if (k === '$ref' && typeof x === 'string') out.push(x);
      else refsIn(x, out);
    }
  }
  return out;
}

let app: FastifyInstance;
let doc: Document;
let operations: Array<{ path: string; method: string; op: Operation }>;

beforeAll(async () => {
  const t = await testApp();
  app = t.app;
  const r = await app.inject({ method: 'GET', url: '/api/v1/openapi.json', headers: t.auth });
  expect(r.statusCode).toBe(200);
  doc = r.json();
  operations = Object.entries(doc.paths).flatMap(([path, ops]) => Object.entries(ops).map(([method, op]) => ({ path, method, op })));
});
afterAll(async () => app.close());

describe('the OpenAPI document is generated from the routes', () => {
  it('lists every registered route with its method and access level, and nothing else', () => {
    const table = routeTable(app);
    expect(table.length).toBeGreaterThan(40);
    for (const r of table) {
      const op = doc.paths[openApiPath(r.url)]?.[r.method.toLowerCase()];
      expect(op, `${r.method} ${r.url}`).toBeDefined();
      expect(op?.[ACCESS_EXTENSION], `${r.method} ${r.url}`).toBe(r.access);
    }
    const registered = new Set(table.map((r) => `${r.method.toLowerCase()} ${openApiPath(r.url)}`));
    expect(operations.filter((o) => !registered.has(`${o.method} ${o.path}`))).toEqual([]);
  });

  it('asks for a bearer API token exactly on the read, operate and admin routes', () => {
    for (const { path, method, op } of operations) {
      const access = op[ACCESS_EXTENSION];
      const where = `${method} ${path} (${access})`;
      if (access === 'read' || access === 'operate' || access === 'admin') {
        expect(op.security, where).toEqual([{ bearer: [] }]);
        expect(Object.keys(op.responses), where).toEqual(expect.arrayContaining(['401', '403']));
      } else if (access === 'machine') {
        // A per-boot token: in the path (config) or as a bearer report token (report, inspection).
        expect([[], [{ reportToken: [] }]], where).toContainEqual(op.security);
      } else {
        expect(op.security, where).toEqual([]);
      }
    }
    expect(doc.paths['/api/v1/report']?.post?.security).toEqual([{ reportToken: [] }]);
    expect(doc.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
  });

  it('carries each route’s own zod schemas: bodies, path and query parameters', () => {
    const body = (method: string, path: string) => doc.paths[path]?.[method]?.requestBody?.content['application/json']?.schema;
    expect(body('post', '/api/v1/machines')).toEqual(jsonSchemaOf(machineCreateSchema));
    expect(body('patch', '/api/v1/machines/{ref}')).toEqual(jsonSchemaOf(machinePatchSchema));
    expect(body('post', '/api/v1/inventory/import')).toEqual(jsonSchemaOf(inventoryFileSchema));
    expect(body('post', '/api/v1/tokens')).toEqual(jsonSchemaOf(tokenCreateSchema));
    expect(body('post', '/api/v1/machines/{ref}/power')).toEqual(jsonSchemaOf(powerActionSchema));
    expect(body('post', '/api/v1/machines/{ref}/provision')).toEqual(jsonSchemaOf(provisionSchema));
    expect(body('post', '/api/v1/rollouts')).toEqual(jsonSchemaOf(rolloutSpecSchema));
    expect(body('post', '/api/v1/report')).toEqual(jsonSchemaOf(reportSchema));
    // Bodies a handler takes as `req.body ?? {}` are not required; the others are.
    expect(doc.paths['/api/v1/machines/{ref}/provision']?.post?.requestBody?.required).toBe(false);
    expect(doc.paths['/api/v1/machines']?.post?.requestBody?.required).toBe(true);

    const params = (method: string, path: string, where: string) =>
      (doc.paths[path]?.[method]?.parameters ?? []).filter((p) => p.in === where).map((p) => p.name).sort();
    expect(params('get', '/api/v1/events', 'query')).toEqual(['after', 'limit', 'mac']);
    expect(params('get', '/api/v1/machines', 'query')).toEqual(['selector']);
    expect(params('get', '/api/v1/events/stream', 'query')).toEqual(['after', 'mac', 'machine']);
    expect(params('get', '/api/v1/drift', 'query')).toEqual(['staleAfterSec']);
    expect(params('get', '/config/{token}/{file}', 'path')).toEqual(['file', 'token']);
    const ref = doc.paths['/api/v1/machines/{ref}']?.get?.parameters?.find((p) => p.name === 'ref');
    expect(ref).toMatchObject({ in: 'path', required: true, schema: { type: 'string', minLength: 1, maxLength: 128 } });
    const file = doc.paths['/config/{token}/{file}']?.get?.parameters?.find((p) => p.name === 'file');
    expect(file?.schema?.enum).toEqual(expect.arrayContaining(['user-data', 'meta-data']));
  });

  it('documents a body on every POST, PUT and PATCH that reads one', () => {
    const bodyless = new Set(['/api/v1/rollouts/{id}/pause', '/api/v1/rollouts/{id}/resume', '/api/v1/rollouts/{id}/abort', '/api/v1/rollouts/{id}/rollback']);
    for (const { path, method, op } of operations) {
      if (!['post', 'put', 'patch'].includes(method) || bodyless.has(path) || !op.summary) continue;
      expect(op.requestBody, `${method} ${path}`).toBeDefined();
    }
  });

  it('gives every route a summary (undocumented routes are listed here on purpose)', () => {
    // Registered by app.ts itself; it still appears with its access level.
    const undocumented = new Set(['get /healthz', 'head /healthz']);
    const missing = operations.filter((o) => !o.op.summary && !undocumented.has(`${o.method} ${o.path}`)).map((o) => `${o.method} ${o.path}`);
    expect(missing).toEqual([]);
  });

  it('is a structurally valid OpenAPI 3 document', () => {
    expect(doc.openapi).toMatch(/^3\.\d+\.\d+$/);
    expect(typeof doc.info.title).toBe('string');
    expect(typeof doc.info.version).toBe('string');
    const ids = new Set<string>();
    for (const [path, ops] of Object.entries(doc.paths)) {
      expect(path.startsWith('/'), path).toBe(true);
      const inPath = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]).sort();
      for (const [method, op] of Object.entries(ops)) {
        const where = `${method} ${path}`;
        expect(METHODS, where).toContain(method);
        const declared = (op.parameters ?? []).filter((p) => p.in === 'path');
        expect(declared.map((p) => p.name).sort(), where).toEqual(inPath);
        for (const p of declared) expect(p.required, where).toBe(true);
        for (const p of op.parameters ?? []) expect(['query', 'header', 'path', 'cookie'], where).toContain(p.in);
        const codes = Object.keys(op.responses);
        expect(codes.some((c) => /^[23]/.test(c)), where).toBe(true);
        for (const c of codes) expect(c, where).toMatch(/^([1-5]\d\d|[1-5]XX|default)$/);
        for (const r of Object.values(op.responses)) expect(typeof r.description, where).toBe('string');
        for (const s of op.security ?? []) for (const name of Object.keys(s)) expect(doc.components.securitySchemes, where).toHaveProperty(name);
        const id = (op as { operationId?: string }).operationId;
        if (id) {
          expect(ids.has(id), where).toBe(false);
          ids.add(id);
        }
      }
    }
    for (const ref of refsIn(doc)) {
      expect(ref).toMatch(/^#\/components\/schemas\//);
      expect(doc.components.schemas, ref).toHaveProperty(ref.slice('#/components/schemas/'.length));
    }
  });
});
