import type { FastifyInstance } from 'fastify';
import { emptyCounts, queueDepth } from '../../engine/queries.ts';
import type { ApiContext } from '../context.ts';

/**
 * Outbox depth per route. Configured routes appear even with no rows yet (a silent route is
 * worth seeing); rows of routes no longer configured appear too, so nothing is hidden.
 */
export function queueRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.get('/queue', async () => {
    const depth = await queueDepth(ctx.store);
    const configured = new Map(ctx.config.routes.map((r) => [r.name, r]));
    const seen = new Set(depth.map((d) => d.route));
    const routes = [
      ...depth,
      ...[...configured.keys()]
        .filter((name) => !seen.has(name))
        .map((route) => ({
          route,
          counts: emptyCounts(),
          total: 0,
        })),
    ]
      .sort((a, b) => a.route.localeCompare(b.route))
      .map((d) => {
        const route = configured.get(d.route);
        return {
          route: d.route,
          entity: route?.entity ?? null,
          target: route?.target ?? null,
          configured: route !== undefined,
          counts: d.counts,
          total: d.total,
        };
      });
    return { routes };
  });
}
