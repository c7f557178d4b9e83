import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import type { ApiContext } from '../context.ts';

/** Liveness with a database round trip, so a load balancer drops an instance whose database is gone. */
export function healthRoutes(app: FastifyInstance, ctx: ApiContext, version: string): void {
  app.get('/health', async (request, reply) => {
    try {
      await sql`select 1`.execute(ctx.store.db);
      return { status: 'ok', database: ctx.store.caps.name, version };
    } catch (error) {
      request.log.warn({ err: error }, 'health check: database did not answer');
      return reply.code(503).send({
        status: 'error',
        database: ctx.store.caps.name,
        version,
        message: `the ${ctx.store.caps.name} database did not answer; check that it is running and reachable`,
      });
    }
  });
}
