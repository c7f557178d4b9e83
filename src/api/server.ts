import { readFileSync } from 'node:fs';
import cookie from '@fastify/cookie';
import Fastify, { type FastifyInstance, type preHandlerAsyncHookHandler } from 'fastify';
import type { Logger } from 'pino';
import type { ObmenConfig } from '../config/schema.ts';
import { parseDuration } from '../config/units.ts';
import { CANONICAL_ENTITIES } from '../core/entities/index.ts';
import type { SecretBox } from '../core/secrets.ts';
import type { Runtime } from '../engine/runtime.ts';
import { installAuthGuard } from '../ops/auth/guard.ts';
import { defaultAccess } from '../ops/auth/roles.ts';
import { createLoginThrottle } from '../ops/auth/throttle.ts';
import { renderMetrics } from '../ops/metrics/metrics.ts';
import { createRequestLatency } from '../ops/metrics/request-latency.ts';
import { openApiDocument, type RouteInfo } from '../ops/openapi/document.ts';
import { DOCS_PAGE } from '../ops/openapi/page.ts';
import type { Store } from '../store/store.ts';
import type { ApiContext, MappingApi } from './context.ts';
import { installErrorHandlers } from './errors.ts';
import { alertsRoutes } from './routes/alerts.ts';
import { auditRoutes } from './routes/audit.ts';
import { authRoutes } from './routes/auth.ts';
import { failuresRoutes } from './routes/failures.ts';
import { flowsRoutes } from './routes/flows.ts';
import { healthRoutes } from './routes/health.ts';
import { mappingRoutes } from './routes/mapping.ts';
import { overviewRoutes } from './routes/overview.ts';
import { queueRoutes } from './routes/queue.ts';
import { recordsRoutes } from './routes/records.ts';
import { replayRoutes } from './routes/replay.ts';
import { requestsRoutes } from './routes/requests.ts';
import { searchRoutes } from './routes/search.ts';
import { sessionsRoutes } from './routes/sessions.ts';
import { systemsRoutes } from './routes/systems.ts';
import { usersRoutes } from './routes/users.ts';

/** Everything the API needs; it opens nothing itself, so the caller owns the store's lifetime. */
export interface ApiOptions {
  store: Store;
  config: ObmenConfig;
  logger?: Logger | false;
  /** Largest accepted request body in bytes (default: config.api.bodyLimit). */
  bodyLimit?: number;
  version?: string;
  /** Runs before every /api/v1 handler (not /health), after authentication. */
  preHandler?: preHandlerAsyncHookHandler;
  /** Time source for operations that stamp rows (tests pass a manual clock). */
  now?: () => number;
  /**
   * Authentication of /api/v1, /metrics and /api/docs (default true). false makes every
   * request act as the admin "system": for tests of other routes only.
   */
  auth?: boolean;
  /** Encrypts credentials saved from the dashboard (createSecretBox(keyFromEnv())). */
  secretBox?: SecretBox;
  /** This process's engine, for "deliver now"; without it the endpoint answers 503. */
  runtime?: Runtime;
  /** The mapping engine's view for GET /mapping/:route and its dry run. */
  mapping?: MappingApi;
  /** Extra /api/v1 routes (e.g. holds) registered inside the guarded scope. */
  extraRoutes?: Array<(app: FastifyInstance, ctx: ApiContext) => void>;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Every route with the access it needs: the OpenAPI document and the auth tests read it. */
    apiRoutes: RouteInfo[];
  }
}

function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version?: string;
    };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/** Builds the HTTP API (not listening: the caller listens and closes). */
export async function buildApi(options: ApiOptions): Promise<FastifyInstance> {
  const bodyLimit = options.bodyLimit ?? options.config.api.bodyLimit;
  const logger = options.logger || undefined;
  const version = options.version ?? packageVersion();
  // Record ids come from other systems and can be long (composite 1C keys); the router's
  // default cap of 100 characters would answer 404 for them.
  const base = { bodyLimit, routerOptions: { maxParamLength: 1000 } };
  const app = (
    logger ? Fastify({ ...base, loggerInstance: logger }) : Fastify({ ...base, logger: false })
  ) as FastifyInstance;
  const ctx: ApiContext = {
    store: options.store,
    config: options.config,
    entities: new Set([...CANONICAL_ENTITIES, ...options.config.entities.map((e) => e.name)]),
    now: options.now ?? Date.now,
    box: options.secretBox,
    runtime: options.runtime,
    mapping: options.mapping,
    throttle: createLoginThrottle(
      options.config.auth.maxLoginFailures,
      parseDuration(options.config.auth.loginWindow),
    ),
  };
  const routes: RouteInfo[] = [];
  app.decorate('apiRoutes', routes);
  app.decorateRequest('principal', null);
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    for (const method of methods) {
      if (method === 'HEAD' || method === 'OPTIONS') continue;
      routes.push({
        method,
        url: route.url,
        access: route.config?.access ?? defaultAccess(method),
        ...(route.config?.doc ? { doc: route.config.doc } : {}),
      });
    }
  });
  await app.register(cookie);

  installErrorHandlers(app, bodyLimit, logger);
  healthRoutes(app, ctx, version);
  const guard = { store: options.store, now: ctx.now, enabled: options.auth !== false };

  // One encapsulated scope for the versioned API: a hook added here guards every /api/v1
  // route at once and never /health or the connectors' inbound endpoints.
  await app.register(
    async (v1) => {
      installAuthGuard(v1, guard);
      if (options.preHandler) v1.addHook('preHandler', options.preHandler);
      authRoutes(v1, ctx);
      usersRoutes(v1, ctx);
      overviewRoutes(v1, ctx);
      recordsRoutes(v1, ctx);
      searchRoutes(v1, ctx);
      sessionsRoutes(v1, ctx);
      failuresRoutes(v1, ctx);
      replayRoutes(v1, ctx);
      flowsRoutes(v1, ctx);
      queueRoutes(v1, ctx);
      requestsRoutes(v1, ctx);
      systemsRoutes(v1, ctx);
      mappingRoutes(v1, ctx);
      auditRoutes(v1, ctx);
      alertsRoutes(v1, ctx);
      for (const extra of options.extraRoutes ?? []) extra(v1, ctx);
    },
    { prefix: '/api/v1' },
  );

  // Metrics and the API description are behind the same auth (viewer): queue names and
  // system names are not for the open internet.
  const latency = createRequestLatency(options.store);
  await app.register(async (ops) => {
    installAuthGuard(ops, guard);
    ops.get('/metrics', async (_request, reply) => {
      const text = await renderMetrics(options.store, options.config, latency, ctx.now());
      return reply.type('text/plain; version=0.0.4; charset=utf-8').send(text);
    });
    ops.get('/api/docs/openapi.json', async () => openApiDocument(routes, version));
    ops.get('/api/docs', async (_request, reply) => reply.type('text/html; charset=utf-8').send(DOCS_PAGE));
  });
  return app;
}
