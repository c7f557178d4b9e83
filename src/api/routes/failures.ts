import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { ERROR_CLASSES } from '../../core/errors.ts';
import { retryFailures } from '../../engine/operations.ts';
import { listFailures } from '../../engine/queries.ts';
import type { ApiContext } from '../context.ts';
import { ApiError, notFound } from '../errors.ts';
import { pageQuery, parseInput, textParam } from '../validation.ts';

const listQuery = z.object({
  ...pageQuery,
  route: textParam(200),
  errorClass: z.enum(ERROR_CLASSES, { error: `must be one of ${ERROR_CLASSES.join(', ')}` }).optional(),
});

const recordIds = z
  .array(z.string({ error: 'must hold record ids as text' }).min(1, { error: 'must not hold empty ids' }), {
    error: 'must be a list of record ids',
  })
  .min(1, { error: 'must hold at least one record id (leave it out to retry the whole route)' })
  .max(10000, { error: 'must hold at most 10000 ids per request' });

const retryBody = z
  .object({
    route: z.string({ error: 'must be a route name' }).min(1, { error: 'must be a route name' }).optional(),
    recordIds: recordIds.optional(),
    all: z.boolean({ error: 'must be true or false' }).optional(),
  })
  .strict();

/**
 * Retries one parked delivery and explains a miss: a retry that silently does nothing would
 * leave the operator wondering whether it worked.
 */
async function retryOne(ctx: ApiContext, route: string, recordId: string) {
  const result = await retryFailures(ctx.store, { route, recordIds: [recordId] }, ctx.now());
  if (result.retried > 0) return result;
  const row = await ctx.store.db
    .selectFrom('outbox')
    .select('state')
    .where('route', '=', route)
    .where('record_id', '=', recordId)
    .executeTakeFirst();
  if (!row) {
    throw notFound('delivery_not_found', `record "${recordId}" has no delivery on route "${route}"`);
  }
  throw new ApiError(
    409,
    'not_failed',
    `the delivery of record "${recordId}" on route "${route}" is ${row.state}, not failed; there is nothing to retry`,
  );
}

export function failuresRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.get('/failures', async (request) => {
    const query = parseInput(listQuery, request.query, 'query parameter');
    return listFailures(ctx.store, query);
  });

  app.post('/failures/retry', async (request) => {
    const body = parseInput(retryBody, request.body, 'body field');
    if (!body.all && !body.route && !body.recordIds) {
      throw new ApiError(
        400,
        'invalid_parameter',
        'say which failures to retry: body field "route", "recordIds", or "all": true',
      );
    }
    return retryFailures(ctx.store, body, ctx.now());
  });

  // `:id` is "<route>:<recordId>" (the `id` of GET /failures items). Route names cannot hold
  // ':', so the first ':' splits it even when the record id has colons of its own.
  app.post<{ Params: { id: string } }>('/failures/:id/retry', async (request) => {
    const id = request.params.id;
    const colon = id.indexOf(':');
    if (colon <= 0 || colon === id.length - 1) {
      throw new ApiError(
        400,
        'invalid_parameter',
        `path parameter "id" must be "<route>:<recordId>" as in GET /api/v1/failures (got ${JSON.stringify(id)})`,
      );
    }
    return retryOne(ctx, id.slice(0, colon), id.slice(colon + 1));
  });

  app.post<{ Params: { route: string; recordId: string } }>(
    '/failures/:route/:recordId/retry',
    async (request) => retryOne(ctx, request.params.route, request.params.recordId),
  );
}
