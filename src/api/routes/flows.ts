import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { enqueueJob } from '../../engine/jobs.ts';
import { replayRoute } from '../../engine/operations.ts';
import { drainRoute } from '../../engine/worker.ts';
import type { ApiContext } from '../context.ts';
import { ApiError, notFound } from '../errors.ts';
import { parseInput } from '../validation.ts';

const resendBody = z
  .object({
    route: z.string({ error: 'must be a route name' }).min(1, { error: 'must be a route name' }).max(200),
  })
  .strict();

export function findRoute(ctx: ApiContext, name: string) {
  const route = ctx.config.routes.find((r) => r.name === name);
  if (route) return route;
  const names = ctx.config.routes.map((r) => r.name).join(', ') || 'none';
  throw notFound('unknown_route', `no route "${name}" in the config; configured routes: ${names}`);
}

/** Manual triggers: pull a source now, deliver a route now, resend one object. */
export function flowsRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.post<{ Params: { source: string } }>(
    '/flows/pull/:source',
    { config: { action: 'flow.pull' } },
    async (request, reply) => {
      const name = request.params.source;
      const source = ctx.config.sources.find((s) => s.name === name);
      if (!source) {
        const names = ctx.config.sources.map((s) => s.name).join(', ') || 'none';
        throw notFound('unknown_source', `no source "${name}" in the config; configured sources: ${names}`);
      }
      // A pull already queued or running is the same request: its id is the answer.
      const jobName = `pull:${name}`;
      const id = await enqueueJob(
        ctx.store,
        { name: jobName, kind: 'pull', payload: { source: name } },
        ctx.now(),
      );
      if (id !== undefined) {
        reply.code(202);
        return { jobId: id, alreadyQueued: false };
      }
      const existing = await ctx.store.db
        .selectFrom('jobs')
        .select('id')
        .where('name', '=', jobName)
        .where('state', 'in', ['queued', 'running'])
        .executeTakeFirst();
      reply.code(202);
      return { jobId: existing ? Number(existing.id) : null, alreadyQueued: true };
    },
  );

  app.post<{ Params: { route: string } }>(
    '/flows/deliver/:route',
    { config: { action: 'flow.deliver' } },
    async (request) => {
      const route = findRoute(ctx, request.params.route);
      if (!ctx.runtime) {
        throw new ApiError(
          503,
          'no_worker_here',
          'this obmen process runs the API only; deliveries run in the worker (it picks pending rows up by itself)',
        );
      }
      const totals = await drainRoute(ctx.runtime, route.name);
      return {
        delivered: totals.delivered,
        failed: totals.failed,
        retried: totals.retried,
        waiting: totals.waiting,
      };
    },
  );

  app.post<{ Params: { entity: string; id: string } }>(
    '/records/:entity/:id/resend',
    { config: { action: 'record.resend', doc: { body: resendBody } } },
    async (request) => {
      const body = parseInput(resendBody, request.body, 'body field');
      const route = findRoute(ctx, body.route);
      const { entity, id } = request.params;
      if (route.entity !== entity) {
        throw new ApiError(
          400,
          'invalid_parameter',
          `route "${route.name}" delivers ${route.entity}, not ${entity}; pick a route of this entity`,
        );
      }
      const result = await replayRoute(ctx.store, route, { recordIds: [id], now: ctx.now() });
      if (result.queued === 0)
        throw notFound('record_not_found', `there is no ${entity} with id "${id}" in the hub`);
      return { queued: true };
    },
  );
}
