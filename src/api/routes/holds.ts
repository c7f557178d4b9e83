import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { ObmenError } from '../../core/errors.ts';
import { duplicatesReport } from '../../matching/duplicates.ts';
import { getHold, type HoldDecision, listHolds, resolveHold } from '../../matching/holds.ts';
import { MATCH_RULES } from '../../matching/rules.ts';
import type { ApiContext } from '../context.ts';
import { ApiError, notFound } from '../errors.ts';
import { intParam, pageQuery, parseInput, textParam } from '../validation.ts';

const listQuery = z.object({
  ...pageQuery,
  state: z.enum(['open', 'resolved', 'all'], { error: 'must be open, resolved or all' }).optional(),
  kind: z
    .enum(['possible_duplicate', 'missing_value'], { error: 'must be possible_duplicate or missing_value' })
    .optional(),
  entity: textParam(100),
});

const idParam = z.object({
  id: z
    .string()
    .regex(/^\d{1,15}$/, { error: 'must be a hold id (a whole number)' })
    .transform(Number),
});

const resolveBody = z.union([
  z.object({ link: z.string().min(1) }).strict(),
  z.object({ create: z.literal(true) }).strict(),
  z.object({ retry: z.literal(true) }).strict(),
]);

const duplicatesQuery = z.object({
  entity: z.string({ error: 'must name the entity, e.g. counterparty' }).min(1).max(100),
  system: textParam(100),
  rule: z.enum(MATCH_RULES, { error: `must be one of ${MATCH_RULES.join(', ')}` }).optional(),
  limit: intParam({ min: 1, max: 5000, default: 500 }),
});

/** Who acts, for the hold's history: the signed-in user when auth set one, else "api". */
function actorOf(request: FastifyRequest): string {
  const user = (request as FastifyRequest & { user?: { login?: string } }).user;
  return user?.login ? `user:${user.login}` : 'api';
}

/**
 * Holds (possible duplicates, missing reference values) and the duplicates report:
 *   GET  /holds                 list (open by default)
 *   GET  /holds/:id             one hold with its candidates
 *   POST /holds/:id/resolve     { link: recordId } | { create: true } | { retry: true }
 *   GET  /duplicates?entity=…   groups of objects sharing an INN, phone, e-mail…
 */
export function holdsRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.get('/holds', async (request) => {
    const query = parseInput(listQuery, request.query, 'query parameter');
    if (query.entity !== undefined && !ctx.entities.has(query.entity)) {
      throw new ApiError(
        400,
        'invalid_parameter',
        `query parameter "entity": unknown entity "${query.entity}"`,
      );
    }
    return listHolds(ctx.store, query);
  });

  app.get<{ Params: { id: string } }>('/holds/:id', async (request) => {
    const { id } = parseInput(idParam, request.params, 'path parameter');
    const hold = await getHold(ctx.store, id);
    if (!hold) throw notFound('hold_not_found', `no hold ${id}`);
    return hold;
  });

  app.post<{ Params: { id: string } }>('/holds/:id/resolve', async (request) => {
    const { id } = parseInput(idParam, request.params, 'path parameter');
    const parsed = resolveBody.safeParse(request.body ?? {});
    if (!parsed.success) {
      throw new ApiError(
        400,
        'invalid_parameter',
        `the request body must be { "link": "<record id>" }, { "create": true } or { "retry": true } (got ${JSON.stringify(request.body ?? null).slice(0, 60)})`,
      );
    }
    const decision = parsed.data as HoldDecision;
    const hold = await getHold(ctx.store, id);
    if (!hold) throw notFound('hold_not_found', `no hold ${id}`);
    try {
      return await resolveHold(ctx.store, id, decision, actorOf(request), ctx.now());
    } catch (error) {
      if (error instanceof ObmenError && error.errorClass === 'config') {
        throw new ApiError(409, 'cannot_resolve', error.message);
      }
      throw error;
    }
  });

  app.get('/duplicates', async (request) => {
    const query = parseInput(duplicatesQuery, request.query, 'query parameter');
    if (!ctx.entities.has(query.entity)) {
      throw new ApiError(
        400,
        'invalid_parameter',
        `query parameter "entity": unknown entity "${query.entity}"`,
      );
    }
    return duplicatesReport(ctx.store, {
      entity: query.entity,
      ...(query.system ? { system: query.system } : {}),
      ...(query.rule ? { rules: [query.rule] } : {}),
      limit: query.limit,
    });
  });
}
