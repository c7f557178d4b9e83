import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { z } from 'zod';
import { likePattern } from '../../engine/queries.ts';
import type { ApiContext } from '../context.ts';
import { parseInput } from '../validation.ts';

const query = z.object({
  q: z
    .string({ error: 'must be given once, as text' })
    .trim()
    .min(2, { error: 'must be at least 2 characters' })
    .max(200, { error: 'must be at most 200 characters' }),
});

const LIMIT = 50;
type Match = 'name' | 'article' | 'inn' | 'externalId';

function textOf(data: unknown, field: string): string | undefined {
  if (!data || typeof data !== 'object') return undefined;
  const value = (data as Record<string, unknown>)[field];
  return typeof value === 'string' || typeof value === 'number' ? String(value) : undefined;
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Finds objects by name, article, INN (in the canonical data) or by any system's id (the links). */
export function searchRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.get('/search', { config: { doc: { query } } }, async (request) => {
    const { q } = parseInput(query, request.query, 'query parameter');
    const needle = q.toLowerCase();
    const [linked, byData] = await Promise.all([
      ctx.store.db
        .selectFrom('links')
        .innerJoin('records', (join) =>
          join.onRef('records.entity', '=', 'links.entity').onRef('records.id', '=', 'links.record_id'),
        )
        .select(['links.entity', 'links.record_id', 'links.system', 'links.external_id', 'records.data'])
        .where((eb) => eb.or([eb('links.external_id', '=', q), eb('links.record_id', '=', q)]))
        .limit(LIMIT)
        .execute(),
      ctx.store.db
        .selectFrom('records')
        .select(['entity', 'id', 'data'])
        .where(sql<boolean>`lower(${sql.ref('data')}) like lower(${likePattern(q)}) escape '\\'`)
        .orderBy('updated_at', 'desc')
        .limit(LIMIT * 4)
        .execute(),
    ]);
    const items: Array<{ entity: string; id: string; title: string; matchedBy: Match; system?: string }> = [];
    const seen = new Set<string>();
    for (const row of linked) {
      const data = parse(row.data);
      items.push({
        entity: row.entity,
        id: row.record_id,
        title: textOf(data, 'name') ?? row.record_id,
        matchedBy: 'externalId',
        system: row.system,
      });
      seen.add(`${row.entity}|${row.record_id}`);
    }
    // The LIKE found the text somewhere in the JSON; only a hit in a field people search by counts.
    for (const row of byData) {
      if (items.length >= LIMIT) break;
      if (seen.has(`${row.entity}|${row.id}`)) continue;
      const data = parse(row.data);
      const matchedBy = (['name', 'article', 'inn'] as const).find((field) =>
        textOf(data, field)?.toLowerCase().includes(needle),
      );
      if (!matchedBy) continue;
      seen.add(`${row.entity}|${row.id}`);
      items.push({ entity: row.entity, id: row.id, title: textOf(data, 'name') ?? row.id, matchedBy });
    }
    return { items };
  });
}
