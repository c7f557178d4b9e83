import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { listSessions } from '../../engine/queries.ts';
import type { ApiContext } from '../context.ts';
import { pageQuery, parseInput, textParam } from '../validation.ts';

const STATUSES = ['running', 'ok', 'partial', 'failed'] as const;

const listQuery = z.object({
  ...pageQuery,
  status: z.enum(STATUSES, { error: `must be one of ${STATUSES.join(', ')}` }).optional(),
  kind: textParam(100),
});

export function sessionsRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.get('/sessions', async (request) => {
    const query = parseInput(listQuery, request.query, 'query parameter');
    return listSessions(ctx.store, query);
  });
}
