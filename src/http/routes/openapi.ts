import swagger, { type SwaggerTransform } from '@fastify/swagger';
import type { FastifyInstance, FastifySchema, FastifySchemaCompiler } from 'fastify';
import { ZodType, type z } from 'zod';
import { zodToJsonSchema } from 'zod-to-json-schema';
import { ACCESS_LEVELS, type Access } from '../access.js';

/** Where the generated document is served (management listener, any API token). */
export const OPENAPI_PATH = '/api/v1/openapi.json';

/** The OpenAPI extension naming each operation's access level (src/http/access.ts). */
export const ACCESS_EXTENSION = 'x-rackboot-access';

/** What a route declares about itself for the document: zod schemas of its inputs (and outputs where kept). */
export interface RouteDoc {
  summary: string;
  description?: string;
  body?: z.ZodTypeAny;
  /** Optional bodies (the handler takes `req.body ?? {}`): documented as not required. */
  bodyOptional?: boolean;
  querystring?: z.ZodTypeAny;
  params?: z.ZodTypeAny;
  /** Success answers by status code (JSON); error answers are added for every route from its access level. */
  response?: Record<number, z.ZodTypeAny>;
  /** Media type of a success answer without a declared schema (default application/json). */
  produces?: string;
  /** Status of a success answer without a declared schema (default 200). */
  success?: number;
  /** Overrides the security derived from the access level (e.g. the report token). */
  security?: ReadonlyArray<Record<string, readonly string[]>>;
}

/**
 * Validation stays in the handlers: they parse the same zod schemas with `parseBody`, which gives
 * the typed value, our `{ error: { code, message, details } }` body and each route's own order of
 * checks (the report token before the body, the machine before the power action). Fastify's own
 * compilers (ajv, fast-json-stringify) must not see zod objects, so a documented route carries
 * compilers that let everything through unchanged.
 */
const passThrough: FastifySchemaCompiler<unknown> = () => () => true;
const jsonSerializer = () => (data: unknown) => JSON.stringify(data);

/**
 * Route options for a documented route: spread into the options next to `config.access`.
 * Works on any fastify instance (tests build bare ones), since the compilers travel with the route.
 */
export function documented(doc: RouteDoc): { schema: FastifySchema; validatorCompiler: FastifySchemaCompiler<unknown>; serializerCompiler?: () => (data: unknown) => string } {
  const schema: FastifySchema & Record<string, unknown> = { summary: doc.summary };
  if (doc.description) schema.description = doc.description;
  if (doc.body) schema.body = doc.body;
  if (doc.bodyOptional) schema['x-body-optional'] = true;
  if (doc.querystring) schema.querystring = doc.querystring;
  if (doc.params) schema.params = doc.params;
  if (doc.security) schema.security = doc.security;
  if (doc.response) schema.response = doc.response;
  if (doc.produces) schema.produces = [doc.produces];
  if (doc.success) schema['x-success'] = doc.success;
  return { schema, validatorCompiler: passThrough, ...(doc.response ? { serializerCompiler: jsonSerializer } : {}) };
}

/** The JSON schema (OpenAPI 3.0 dialect) of a zod schema, as a request sends it (before transforms). */
export function jsonSchemaOf(s: z.ZodTypeAny): Record<string, unknown> {
  const { $schema: _s, ...json } = zodToJsonSchema(s, { target: 'openApi3', $refStrategy: 'none', effectStrategy: 'input' }) as Record<string, unknown>;
  return json;
}

/** One answer as OpenAPI writes it. */
const answer = (description: string, type: string, schema: unknown) => ({ description, content: { [type]: { schema } } });
const errorAnswer = (description: string) => answer(description, 'application/json', { $ref: '#/components/schemas/Error' });

/** Error answers an operation of this access level can give (the guard's, then bad input and unknowns). */
function errorResponses(access: Access | undefined): Record<string, Record<string, unknown>> {
  const out: Record<string, Record<string, unknown>> = {
    '400': errorAnswer('Invalid input or request target'),
    '404': errorAnswer('Unknown (or not on this listener)'),
  };
  if (access === 'read' || access === 'operate' || access === 'admin') {
    out['401'] = errorAnswer('No, unknown, revoked or expired API token');
    out['403'] = errorAnswer(`Token role below ${access}`);
  }
  if (access === 'machine') out['403'] = errorAnswer("Not from the machine's own address, or a used token");
  return out;
}

/** Who may call: API routes need a bearer token; public and machine routes carry their own proof (or none). */
function securityOf(access: Access | undefined): Array<Record<string, string[]>> {
  return access === 'read' || access === 'operate' || access === 'admin' ? [{ bearer: [] }] : [];
}

const zodOrNot = (v: unknown) => (v instanceof ZodType ? jsonSchemaOf(v) : v);
const OK_DESCRIPTIONS: Record<string, string> = { '200': 'OK', '201': 'Created', '202': 'Accepted', '204': 'No content', '302': 'Redirect' };

/** Turns one route's zod schemas into JSON schemas and adds its access level, security and error answers. */
export const routeTransform: SwaggerTransform = ({ schema, url, route }) => {
  const access = (route.config as { access?: Access } | undefined)?.access;
  const s = (schema ?? {}) as Record<string, unknown>;
  // Our own markers (read here and by registerOpenApi) stay out of the operation.
  const { 'x-body-optional': _o, 'x-success': _s, produces: _p, ...rest } = s;
  const out: Record<string, unknown> = { ...rest, [ACCESS_EXTENSION]: access ?? null, security: s.security ?? securityOf(access) };
  for (const part of ['body', 'querystring', 'params', 'headers'] as const) if (s[part] !== undefined) out[part] = zodOrNot(s[part]);
  const ok = Object.fromEntries(
    Object.entries((s.response ?? {}) as Record<string, unknown>).map(([code, r]) => [code, answer(OK_DESCRIPTIONS[code] ?? 'OK', 'application/json', zodOrNot(r))]),
  );
  const success = String(s['x-success'] ?? 200);
  if (Object.keys(ok).length === 0) ok[success] = answer(OK_DESCRIPTIONS[success] ?? 'OK', (s.produces as string[] | undefined)?.[0] ?? 'application/json', {});
  out.response = { ...ok, ...errorResponses(access) };
  return { schema: out as FastifySchema, url };
};

/** Marks optional request bodies as such (swagger always says required). */
function finishDocument(doc: Record<string, unknown>, optionalBodies: Set<string>): Record<string, unknown> {
  const paths = (doc.paths ?? {}) as Record<string, Record<string, { requestBody?: { required?: boolean } }>>;
  for (const key of optionalBodies) {
    const [method, path] = key.split(' ', 2) as [string, string];
    const body = paths[path]?.[method]?.requestBody;
    if (body) body.required = false;
  }
  return doc;
}

/**
 * Generates the OpenAPI document from the routes' own declarations (`documented(...)`) with
 * @fastify/swagger and serves it at GET /api/v1/openapi.json. Register before the other routes:
 * swagger collects routes as they are added.
 */
export async function registerOpenApi(app: FastifyInstance): Promise<void> {
  const optionalBodies = new Set<string>();
  app.addHook('onRoute', (route) => {
    if (!(route.schema as Record<string, unknown> | undefined)?.['x-body-optional']) return;
    for (const m of [route.method].flat()) optionalBodies.add(`${String(m).toLowerCase()} ${route.url.replace(/:([A-Za-z0-9_]+)/g, '{$1}')}`);
  });
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'rackboot API',
        version: '1',
        description: `Every operation names who may call it in ${ACCESS_EXTENSION} (one of ${ACCESS_LEVELS.join(', ')}); see the README's security model.`,
      },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', description: 'API token (rackboot tokens create); its role must reach the route access level' },
          reportToken: { type: 'http', scheme: 'bearer', description: "Per-boot report token from the machine's boot script" },
        },
        schemas: {
          Error: {
            type: 'object',
            properties: {
              error: {
                type: 'object',
                properties: { code: { type: 'string' }, message: { type: 'string' }, details: { nullable: true } },
                required: ['code', 'message'],
              },
            },
            required: ['error'],
          },
        },
      },
    },
    exposeHeadRoutes: true,
    transform: routeTransform,
    transformObject: (d) => finishDocument(('openapiObject' in d ? d.openapiObject : d.swaggerObject) as Record<string, unknown>, optionalBodies),
  });
  app.get(OPENAPI_PATH, { config: { access: 'read' }, ...documented({ summary: 'This document: every route with its schemas and access level' }) }, async () => app.swagger());
}
