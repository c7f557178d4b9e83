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
    // The dashboard contract's name for recordIds.
    ids: recordIds.optional(),
    all: z.boolean({ error: 'must be true or false' }).optional(),
    errorClass: z.enum(ERROR_CLASSES, { error: `must be one of ${ERROR_CLASSES.join(', ')}` }).optional(),
  })
  .strict();

/** Parked deliveries counted per route and error class, with one message to show what they are. */
async function failureGroups(ctx: ApiContext) {
  const rows = await ctx.store.db
    .selectFrom('outbox')
    .select((eb) => [
      'route',
      'last_error_class',
      eb.fn.countAll<number>().as('n'),
      eb.fn.max('last_error').as('sample'),
    ])
    .where('state', '=', 'failed')
    .groupBy(['route', 'last_error_class'])
    .orderBy('route')
    .execute();
  return rows.map((row) => ({
    route: row.route,
    errorClass: row.last_error_class,
    count: Number(row.n),
    sample: row.sample,
  }));
}

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
  app.get('/failures', { config: { doc: { query: listQuery } } }, async (request) => {
    const query = parseInput(listQuery, request.query, 'query parameter');
    const page = await listFailures(ctx.store, query);
    return {
      ...page,
      items: page.items.map((item) => ({
        ...item,
        error: item.lastError,
        lastAttemptAt: item.updatedAt,
        title: item.name ?? item.article ?? item.recordId,
      })),
    };
  });

  app.get('/failures/groups', async () => ({ groups: await failureGroups(ctx) }));

  app.post(
    '/failures/retry',
    { config: { action: 'failures.retry', doc: { body: retryBody } } },
    async (request) => {
      const body = parseInput(retryBody, request.body, 'body field');
      const ids = body.recordIds ?? body.ids;
      if (!body.all && !body.route && !ids && !body.errorClass) {
        throw new ApiError(
          400,
          'invalid_parameter',
          'say which failures to retry: body field "route", "ids", "errorClass", or "all": true',
        );
      }
      if (!body.errorClass)
        return retryFailures(ctx.store, { route: body.route, recordIds: ids, all: body.all }, ctx.now());
      // One error class of a group: the parked rows of that class, narrowed by route and ids.
      let query = ctx.store.db
        .selectFrom('outbox')
        .select(['route', 'record_id'])
        .where('state', '=', 'failed')
        .where('last_error_class', '=', body.errorClass);
      if (body.route) query = query.where('route', '=', body.route);
      const rows = await query.execute();
      const wanted = ids ? new Set(ids) : undefined;
      const byRoute = new Map<string, string[]>();
      for (const row of rows) {
        if (wanted && !wanted.has(row.record_id)) continue;
        byRoute.set(row.route, [...(byRoute.get(row.route) ?? []), row.record_id]);
      }
      let retried = 0;
      for (const [route, recordIds] of byRoute) {
        retried += (await retryFailures(ctx.store, { route, recordIds }, ctx.now())).retried;
      }
      return { retried };
    },
  );

  // `:id` is "<route>:<recordId>" (the `id` of GET /failures items). Route names cannot hold
  // ':', so the first ':' splits it even when the record id has colons of its own.
  app.post<{ Params: { id: string } }>(
    '/failures/:id/retry',
    { config: { action: 'failures.retry' } },
    async (request) => {
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
    },
  );

  app.post<{ Params: { route: string; recordId: string } }>(
    '/failures/:route/:recordId/retry',
    { config: { action: 'failures.retry' } },
    async (request) => retryOne(ctx, request.params.route, request.params.recordId),
  );
}
