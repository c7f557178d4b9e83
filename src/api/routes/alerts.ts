import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { listAlertHistory } from '../../ops/alerts/state.ts';
import type { ApiContext } from '../context.ts';
import { intParam, parseInput } from '../validation.ts';

const query = z.object({ limit: intParam({ min: 1, max: 500, default: 100 }) });

/** The configured rules and the latest notifications (channel settings stay out: they hold secrets). */
export function alertsRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.get('/alerts', { config: { doc: { query } } }, async (request) => {
    const q = parseInput(query, request.query, 'query parameter');
    const channels = Object.keys(ctx.config.alerts.channels).filter(
      (key) => ctx.config.alerts.channels[key as keyof typeof ctx.config.alerts.channels] !== undefined,
    );
    return {
      rules: ctx.config.alerts.rules,
      channels,
      recent: await listAlertHistory(ctx.store, q.limit),
    };
  });
}
