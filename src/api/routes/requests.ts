import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { z } from 'zod';
import { redactText } from '../../http/redact.ts';
import type { ApiContext } from '../context.ts';
import { ApiError, notFound } from '../errors.ts';
import { intParam, parseInput, textParam } from '../validation.ts';

const listQuery = z.object({
  system: textParam(100),
  endpoint: textParam(200),
  status: z
    .string({ error: 'must be given once' })
    .regex(/^(\d{3}|[1-5]xx|error)$/, {
      error: 'must be an HTTP status (e.g. 503), a class (5xx) or "error"',
    })
    .optional(),
  from: intParam({ min: 0, default: 0 }),
  to: intParam({ min: 0, default: Number.MAX_SAFE_INTEGER }),
  limit: intParam({ min: 1, max: 500, default: 50 }),
  cursor: z
    .string({ error: 'must be given once' })
    .regex(/^\d{1,15}$/, { error: 'must be the nextCursor of a previous page' })
    .optional(),
});

/** The path of a logged URL, the "endpoint" the dashboard filters and groups by. */
export function endpointOf(url: string): string {
  try {
    return new URL(url).pathname;
  } catch {
    return url.split('?')[0] ?? url;
  }
}

function item(row: {
  id: number | bigint;
  at: number;
  system: string;
  method: string;
  url: string;
  status: number | null;
  duration_ms: number;
  error: string | null;
}) {
  return {
    id: Number(row.id),
    at: row.at,
    system: row.system,
    method: row.method,
    url: redactText(row.url),
    endpoint: endpointOf(row.url),
    status: row.status,
    durationMs: Math.round(Number(row.duration_ms) * 10) / 10,
    error: row.error,
  };
}

/** The request log of outbound calls; bodies were redacted when written and are redacted again when shown. */
export function requestsRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.get('/requests', { config: { doc: { query: listQuery } } }, async (request) => {
    const query = parseInput(listQuery, request.query, 'query parameter');
    let q = ctx.store.db
      .selectFrom('request_log')
      .select(['id', 'at', 'system', 'method', 'url', 'status', 'duration_ms', 'error'])
      .where('at', '>=', query.from)
      .where('at', '<=', query.to);
    if (query.system) q = q.where('system', '=', query.system);
    // The endpoint is the URL's path: match it as a literal substring, never as a pattern.
    if (query.endpoint) {
      const pattern = `%${query.endpoint.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
      q = q.where(sql<boolean>`${sql.ref('url')} like ${pattern} escape '\\'`);
    }
    if (query.status === 'error') q = q.where('error', 'is not', null);
    else if (query.status?.endsWith('xx')) {
      const base = Number(query.status[0]) * 100;
      q = q.where('status', '>=', base).where('status', '<', base + 100);
    } else if (query.status) q = q.where('status', '=', Number(query.status));
    if (query.cursor) q = q.where('id', '<', Number(query.cursor));
    const rows = await q
      .orderBy('id', 'desc')
      .limit(query.limit + 1)
      .execute();
    const items = rows.slice(0, query.limit).map(item);
    const last = items[items.length - 1];
    return { items, nextCursor: rows.length > query.limit && last ? String(last.id) : null };
  });

  app.get<{ Params: { id: string } }>('/requests/:id', async (request) => {
    if (!/^\d{1,15}$/.test(request.params.id)) {
      throw new ApiError(
        400,
        'invalid_parameter',
        `path parameter "id" must be a request number (got ${JSON.stringify(request.params.id)})`,
      );
    }
    const row = await ctx.store.db
      .selectFrom('request_log')
      .selectAll()
      .where('id', '=', Number(request.params.id))
      .executeTakeFirst();
    if (!row) throw notFound('request_not_found', `there is no logged request ${request.params.id}`);
    return {
      ...item(row),
      sessionId: row.session_id,
      // The log does not keep headers: credentials travel in them, and nothing else there helps an operator.
      requestHeaders: {},
      requestBody: row.request_body === null ? null : redactText(row.request_body),
      responseHeaders: {},
      responseBody: row.response_body === null ? null : redactText(row.response_body),
    };
  });
}
