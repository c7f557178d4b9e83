import type { FastifyInstance } from 'fastify';
import type { ApiContext } from '../context.ts';
import { overview } from '../queries/overview.ts';

export function overviewRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.get('/overview', async () => overview(ctx));
}
