import { type ZodType, z } from 'zod';
import type { RouteAccess } from '../auth/roles.ts';

/** A route as registered on the server, collected by an onRoute hook. */
export interface RouteInfo {
  method: string;
  /** Fastify pattern, e.g. /api/v1/records/:entity/:id */
  url: string;
  access: RouteAccess;
  /** The zod schemas the handler parses its input with. */
  doc?: { body?: ZodType | undefined; query?: ZodType | undefined };
}

/** JSON Schema of what a caller sends (the input side of transforms such as "50" → 50). */
function jsonSchema(schema: ZodType): Record<string, unknown> {
  try {
    const out = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
    delete out.$schema;
    return out;
  } catch {
    return { type: 'object' };
  }
}

/** Query parameters from an object schema, one OpenAPI parameter per property. */
function queryParameters(schema: ZodType): Array<Record<string, unknown>> {
  const json = jsonSchema(schema);
  const properties = (json.properties ?? {}) as Record<string, Record<string, unknown>>;
  const required = new Set((json.required as string[] | undefined) ?? []);
  return Object.entries(properties).map(([name, property]) => ({
    name,
    in: 'query',
    required: required.has(name),
    schema: property,
    ...(typeof property.description === 'string' ? { description: property.description } : {}),
  }));
}

const SUMMARIES: Record<string, string> = {
  'POST /api/v1/auth/login': 'Log in; sets the session cookie and returns the CSRF token',
  'POST /api/v1/auth/logout': 'Log out (ends the session)',
  'GET /api/v1/auth/me': 'The logged-in user and the CSRF token',
  'GET /api/v1/overview': 'Systems health, queue depth, last sessions, per-day counts, success rate',
  'GET /api/v1/sessions':
    'Exchange sessions, newest first (filters: kind, status, system, from, to; cursor paging)',
  'GET /api/v1/sessions/:id': 'One session with its errors',
  'GET /api/v1/failures': 'Parked deliveries (filters: route, errorClass)',
  'GET /api/v1/failures/groups': 'Parked deliveries counted per route and error class',
  'POST /api/v1/failures/retry': 'Retry parked deliveries: { route?, ids?, errorClass?, all? }',
  'POST /api/v1/failures/:id/retry': 'Retry one parked delivery by "<route>:<recordId>"',
  'POST /api/v1/failures/:route/:recordId/retry': 'Retry one parked delivery',
  'GET /api/v1/search': 'Find objects by name, article, INN or any system id (q)',
  'GET /api/v1/records/:entity': 'Records of an entity (q, limit, offset)',
  'GET /api/v1/records/:entity/:id': 'One record with links, history and deliveries',
  'GET /api/v1/records/:entity/:id/journey':
    'Versions with diffs, links, deliveries and requests of one object',
  'POST /api/v1/records/:entity/:id/resend': 'Resend one object on a route: { route }',
  'GET /api/v1/requests': 'Request log of outbound calls (system, endpoint, status, from, to; cursor paging)',
  'GET /api/v1/requests/:id': 'One logged request with bodies (secrets redacted)',
  'GET /api/v1/systems': 'Systems with their settings; credentials only say whether they are set',
  'PUT /api/v1/systems/:name':
    'Change url, limits, options, credentials of a system (secrets are write-only)',
  'POST /api/v1/systems/:name/test': 'Test the connection to a system',
  'POST /api/v1/flows/pull/:source': 'Queue a pull of a source now',
  'POST /api/v1/flows/deliver/:route': 'Deliver everything due on a route now',
  'POST /api/v1/routes/:route/replay': 'Resend all (or the listed) objects of a route: { ids? }',
  'GET /api/v1/mapping/:route':
    'The mapping of a route, its versions and its effective field table (defaults and overrides)',
  'POST /api/v1/mapping/:route/test': 'Dry-run the mapping on a record or a sample',
  'GET /api/v1/queue': 'Outbox depth per route and state',
  'GET /api/v1/audit': 'Audit log of state-changing actions',
  'GET /api/v1/users': 'Users',
  'POST /api/v1/users': 'Create a user or change its password and role: { login, password, role }',
  'POST /api/v1/tokens': 'Issue an API token (shown once): { name, role }',
  'GET /api/v1/tokens': 'API tokens (never the tokens themselves)',
  'DELETE /api/v1/tokens/:id': 'Revoke an API token',
  'GET /api/v1/alerts': 'Alert rules and the latest notifications',
};

const ROLE_TEXT: Record<RouteAccess, string> = {
  public: 'no login needed',
  viewer: 'role viewer or higher',
  operator: 'role operator or higher',
  admin: 'role admin',
};

function openApiPath(url: string): { path: string; params: string[] } {
  const params: string[] = [];
  const path = url.replace(/:([A-Za-z0-9_]+)/g, (_m, name: string) => {
    params.push(name);
    return `{${name}}`;
  });
  return { path, params };
}

const errorResponse = {
  description: 'Error',
  content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
};

/** The OpenAPI 3.1 document of every /api/v1 route, built from the routes the server actually has. */
export function openApiDocument(routes: RouteInfo[], version: string) {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    if (!route.url.startsWith('/api/v1/')) continue;
    const { path, params } = openApiPath(route.url);
    const key = `${route.method} ${route.url}`;
    const method = route.method.toLowerCase();
    const operation: Record<string, unknown> = {
      operationId: `${method}${path.replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ?? '').toUpperCase())}`,
      summary: SUMMARIES[key] ?? key,
      description: `Access: ${ROLE_TEXT[route.access]}.`,
      tags: [path.split('/')[3] ?? 'api'],
      'x-obmen-access': route.access,
      parameters: [
        ...params.map((name) => ({ name, in: 'path', required: true, schema: { type: 'string' } })),
        ...(route.doc?.query ? queryParameters(route.doc.query) : []),
      ],
      responses: {
        '200': { description: 'OK', content: { 'application/json': { schema: { type: 'object' } } } },
        '400': errorResponse,
        ...(route.access === 'public' ? {} : { '401': errorResponse, '403': errorResponse }),
        '404': errorResponse,
      },
      ...(route.access === 'public' ? { security: [] } : {}),
    };
    if (method !== 'get') {
      operation.requestBody = {
        required: Boolean(route.doc?.body),
        content: {
          'application/json': { schema: route.doc?.body ? jsonSchema(route.doc.body) : { type: 'object' } },
        },
      };
    }
    paths[path] = { ...(paths[path] ?? {}), [method]: operation };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'obmen API',
      version,
      description:
        'The dashboard API of obmen. Log in with POST /api/v1/auth/login (cookie + x-csrf-token on changes) or send "Authorization: Bearer obm_…".',
    },
    servers: [{ url: '/' }],
    paths,
    components: {
      schemas: {
        Error: {
          type: 'object',
          required: ['error'],
          properties: {
            error: {
              type: 'object',
              required: ['code', 'message'],
              properties: { code: { type: 'string' }, message: { type: 'string' } },
            },
          },
        },
      },
      securitySchemes: {
        cookie: { type: 'apiKey', in: 'cookie', name: 'obmen_session' },
        bearer: { type: 'http', scheme: 'bearer', description: 'API token obm_…' },
      },
    },
    security: [{ cookie: [] }, { bearer: [] }],
  };
}
