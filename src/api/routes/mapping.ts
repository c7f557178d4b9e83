import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { ApiContext } from '../context.ts';
import { ApiError, notFound } from '../errors.ts';
import { parseInput } from '../validation.ts';
import { findRoute } from './flows.ts';

const testBody = z
  .object({
    recordId: z.string({ error: 'must be a record id' }).min(1).max(1000).optional(),
    sample: z.unknown().optional(),
  })
  .strict();

function mappingApi(ctx: ApiContext) {
  if (ctx.mapping) return ctx.mapping;
  throw new ApiError(503, 'mapping_unavailable', 'the mapping engine is not attached to this API process');
}

/** A route's mapping and its dry run; the mapping engine itself is plugged in through ApiContext.mapping. */
export function mappingRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.get<{ Params: { route: string } }>('/mapping/:route', async (request) => {
    const route = findRoute(ctx, request.params.route);
    const found = await mappingApi(ctx).get(route.name);
    if (!found) throw notFound('mapping_not_found', `route "${route.name}" has no mapping`);
    return { route: route.name, spec: found.spec, versions: found.versions, effective: found.effective };
  });

  // A dry run changes nothing, but it reads any record: operators may run it, like a resend.
  app.post<{ Params: { route: string } }>(
    '/mapping/:route/test',
    { config: { access: 'operator', noAudit: true, doc: { body: testBody } } },
    async (request) => {
      const route = findRoute(ctx, request.params.route);
      const body = parseInput(testBody, request.body ?? {}, 'body field');
      if (body.recordId === undefined && body.sample === undefined) {
        throw new ApiError(
          400,
          'invalid_parameter',
          'send "recordId" (a record of the hub) or "sample" (an object)',
        );
      }
      return mappingApi(ctx).test(route.name, body);
    },
  );
}
