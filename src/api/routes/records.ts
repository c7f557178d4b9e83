import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { getRecord, listRecords } from '../../engine/queries.ts';
import type { ApiContext } from '../context.ts';
import { notFound } from '../errors.ts';
import { journey } from '../queries/journey.ts';
import { pageQuery, parseInput, textParam } from '../validation.ts';

const listQuery = z.object({ ...pageQuery, q: textParam(200) });

function knownEntity(ctx: ApiContext, entity: string): string {
  if (ctx.entities.has(entity)) return entity;
  throw notFound(
    'unknown_entity',
    `unknown entity "${entity}"; known entities: ${[...ctx.entities].sort().join(', ')}`,
  );
}

export function recordsRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.get<{ Params: { entity: string } }>(
    '/records/:entity',
    { config: { doc: { query: listQuery } } },
    async (request) => {
      const entity = knownEntity(ctx, request.params.entity);
      const query = parseInput(listQuery, request.query, 'query parameter');
      return listRecords(ctx.store, entity, query);
    },
  );

  app.get<{ Params: { entity: string; id: string } }>('/records/:entity/:id', async (request) => {
    const entity = knownEntity(ctx, request.params.entity);
    const record = await getRecord(ctx.store, entity, request.params.id);
    if (!record)
      throw notFound('record_not_found', `there is no ${entity} with id "${request.params.id}" in the hub`);
    return record;
  });

  app.get<{ Params: { entity: string; id: string } }>('/records/:entity/:id/journey', async (request) => {
    const entity = knownEntity(ctx, request.params.entity);
    const result = await journey(ctx, entity, request.params.id);
    if (!result)
      throw notFound('record_not_found', `there is no ${entity} with id "${request.params.id}" in the hub`);
    return result;
  });
}
