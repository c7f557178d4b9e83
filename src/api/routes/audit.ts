import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { listAudit } from '../../ops/audit/audit.ts';
import type { ApiContext } from '../context.ts';
import { intParam, parseInput, textParam } from '../validation.ts';

const query = z.object({ limit: intParam({ min: 1, max: 500, default: 100 }), user: textParam(100) });

/** Who changed what: admins only, since details name systems and users. */
export function auditRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.get('/audit', { config: { access: 'admin', doc: { query } } }, async (request) => {
    const q = parseInput(query, request.query, 'query parameter');
    return { items: await listAudit(ctx.store, q) };
  });
}
