import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { SessionsTable } from '../../store/schema.ts';
import type { ApiContext } from '../context.ts';
import { ApiError, notFound } from '../errors.ts';
import { intParam, pageQuery, parseInput, textParam } from '../validation.ts';

const STATUSES = ['running', 'ok', 'partial', 'failed'] as const;
const CURSOR = /^(\d{1,15})_(\d{1,15})$/;

const listQuery = z.object({
  ...pageQuery,
  status: z.enum(STATUSES, { error: `must be one of ${STATUSES.join(', ')}` }).optional(),
  kind: textParam(100),
  system: textParam(100),
  from: intParam({ min: 0, default: 0 }),
  to: intParam({ min: 0, default: Number.MAX_SAFE_INTEGER }),
  cursor: z
    .string({ error: 'must be given once, as text' })
    .regex(CURSOR, { error: 'must be the nextCursor of a previous page' })
    .optional(),
});

/** One session as the API shows it: counts parsed, duration computed. */
export function sessionView(s: Omit<SessionsTable, 'id'> & { id: number | bigint }) {
  let counts: unknown = null;
  try {
    counts = JSON.parse(s.counts);
  } catch {
    counts = s.counts;
  }
  return {
    id: Number(s.id),
    kind: s.kind,
    system: s.system,
    name: s.name,
    owner: s.owner,
    status: s.status,
    startedAt: s.started_at,
    finishedAt: s.finished_at,
    durationMs: s.finished_at === null ? null : s.finished_at - s.started_at,
    counts,
    error: s.error,
  };
}

export function sessionsRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.get('/sessions', { config: { doc: { query: listQuery } } }, async (request) => {
    const query = parseInput(listQuery, request.query, 'query parameter');
    let base = ctx.store.db
      .selectFrom('sessions')
      .where('started_at', '>=', query.from)
      .where('started_at', '<=', query.to);
    if (query.status) base = base.where('status', '=', query.status);
    if (query.kind) base = base.where('kind', '=', query.kind);
    if (query.system) base = base.where('system', '=', query.system);
    let page = base.selectAll();
    // Keyset paging: a page stays stable while new sessions start, which an offset would shift.
    const cursor = query.cursor ? CURSOR.exec(query.cursor) : null;
    if (cursor) {
      const at = Number(cursor[1]);
      const id = Number(cursor[2]);
      page = page.where((eb) =>
        eb.or([eb('started_at', '<', at), eb.and([eb('started_at', '=', at), eb('id', '<', id)])]),
      );
    } else {
      page = page.offset(query.offset);
    }
    const [rows, count] = await Promise.all([
      page
        .orderBy('started_at', 'desc')
        .orderBy('id', 'desc')
        .limit(query.limit + 1)
        .execute(),
      base.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
    ]);
    const items = rows.slice(0, query.limit).map(sessionView);
    const last = items[items.length - 1];
    return {
      items,
      total: Number(count.n),
      nextCursor: rows.length > query.limit && last ? `${last.startedAt}_${last.id}` : null,
    };
  });

  app.get<{ Params: { id: string } }>('/sessions/:id', async (request) => {
    if (!/^\d{1,15}$/.test(request.params.id)) {
      throw new ApiError(
        400,
        'invalid_parameter',
        `path parameter "id" must be a session number (got ${JSON.stringify(request.params.id)})`,
      );
    }
    const id = Number(request.params.id);
    const row = await ctx.store.db.selectFrom('sessions').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) throw notFound('session_not_found', `there is no exchange session ${id}`);
    const failedRequests = await ctx.store.db
      .selectFrom('request_log')
      .select(['id', 'error', 'url'])
      .where('session_id', '=', id)
      .where('error', 'is not', null)
      .orderBy('id')
      .limit(100)
      .execute();
    const errors = [
      ...(row.error ?? '')
        .split('\n')
        .filter((line) => line.trim() !== '')
        .map((message) => ({ message })),
      ...failedRequests.map((r) => ({ message: r.error ?? '', requestId: Number(r.id) })),
    ];
    return { session: sessionView(row), errors };
  });
}
