import { readFileSync } from 'node:fs';
import Fastify, { type FastifyInstance, type preHandlerAsyncHookHandler } from 'fastify';
import type { Logger } from 'pino';
import type { ObmenConfig } from '../config/schema.ts';
import { CANONICAL_ENTITIES } from '../core/entities/index.ts';
import type { Store } from '../store/store.ts';
import type { ApiContext } from './context.ts';
import { installErrorHandlers } from './errors.ts';
import { failuresRoutes } from './routes/failures.ts';
import { healthRoutes } from './routes/health.ts';
import { queueRoutes } from './routes/queue.ts';
import { recordsRoutes } from './routes/records.ts';
import { replayRoutes } from './routes/replay.ts';
import { sessionsRoutes } from './routes/sessions.ts';

/** Everything the API needs; it opens nothing itself, so the caller owns the store's lifetime. */
export interface ApiOptions {
  store: Store;
  config: ObmenConfig;
  logger?: Logger | false;
  /** Largest accepted request body in bytes (default: config.api.bodyLimit). */
  bodyLimit?: number;
  version?: string;
  /** Runs before every /api/v1 handler (not /health): where authentication plugs in. */
  preHandler?: preHandlerAsyncHookHandler;
  /** Time source for operations that stamp rows (tests pass a manual clock). */
  now?: () => number;
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
  };

  installErrorHandlers(app, bodyLimit, logger);
  healthRoutes(app, ctx, options.version ?? packageVersion());

  // One encapsulated scope for the versioned API: a hook added here guards every /api/v1
  // route at once and never /health.
  await app.register(
    async (v1) => {
      if (options.preHandler) v1.addHook('preHandler', options.preHandler);
      recordsRoutes(v1, ctx);
      sessionsRoutes(v1, ctx);
      failuresRoutes(v1, ctx);
      replayRoutes(v1, ctx);
      queueRoutes(v1, ctx);
    },
    { prefix: '/api/v1' },
  );
  return app;
}
