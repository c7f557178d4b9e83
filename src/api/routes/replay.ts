import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { replayRoute } from '../../engine/operations.ts';
import type { ApiContext } from '../context.ts';
import { notFound } from '../errors.ts';
import { parseInput } from '../validation.ts';

const idList = () =>
  z
    .array(z.string({ error: 'must hold record ids as text' }).min(1, { error: 'must not hold empty ids' }), {
      error: 'must be a list of record ids',
    })
    .min(1, { error: 'must hold at least one record id (leave it out to replay the whole route)' })
    .max(10000, { error: 'must hold at most 10000 ids per request' })
    .optional();

// `ids` is the dashboard contract's name, `recordIds` the CLI-era one: both are accepted.
const replayBody = z.object({ recordIds: idList(), ids: idList() }).strict();

/** Resends a configured route's records (all, or the listed ones) even if the target has them. */
export function replayRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.post<{ Params: { route: string } }>(
    '/routes/:route/replay',
    { config: { action: 'route.replay', doc: { body: replayBody } } },
    async (request) => {
      const route = ctx.config.routes.find((r) => r.name === request.params.route);
      if (!route) {
        const names = ctx.config.routes.map((r) => r.name).join(', ') || 'none';
        throw notFound(
          'unknown_route',
          `no route "${request.params.route}" in the config; configured routes: ${names}`,
        );
      }
      const body = parseInput(replayBody, request.body ?? {}, 'body field');
      return replayRoute(ctx.store, route, { recordIds: body.recordIds ?? body.ids, now: ctx.now() });
    },
  );
}
