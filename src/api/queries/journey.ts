import { sql } from 'kysely';
import { getRecord, likePattern } from '../../engine/queries.ts';
import type { ApiContext } from '../context.ts';
import { endpointOf } from '../routes/requests.ts';

export interface Change {
  path: string;
  before: unknown;
  after: unknown;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return Boolean(value) && typeof value === 'object' && !Array.isArray(value);
}

/** Field-level differences between two versions, objects walked by key, arrays compared whole. */
export function diff(before: unknown, after: unknown, path = ''): Change[] {
  if (isPlainObject(before) && isPlainObject(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
    return keys.flatMap((key) => diff(before[key], after[key], path ? `${path}.${key}` : key));
  }
  if (JSON.stringify(before) === JSON.stringify(after)) return [];
  return [{ path: path || '$', before: before ?? null, after: after ?? null }];
}

/** Ids shorter than this would match unrelated request bodies. */
const MIN_SEARCHABLE_ID = 4;

/**
 * One object's way through the hub: versions with their diffs, its id in every system, its
 * delivery per route, and the logged requests that mention one of its ids.
 */
export async function journey(ctx: ApiContext, entity: string, id: string) {
  const record = await getRecord(ctx.store, entity, id);
  if (!record) return undefined;
  const oldestFirst = [...record.history].reverse();
  const versions = oldestFirst
    .map((h, index) => ({
      version: h.version,
      hash: h.hash,
      createdAt: h.changedAt,
      origin: h.origin,
      data: h.data,
      diff: diff(index === 0 ? {} : oldestFirst[index - 1]!.data, h.data),
    }))
    .reverse();
  const ids = [...new Set([id, ...record.links.map((l) => l.externalId)])].filter(
    (value) => value.length >= MIN_SEARCHABLE_ID,
  );
  const requests =
    ids.length === 0
      ? []
      : await ctx.store.db
          .selectFrom('request_log')
          .select(['id', 'at', 'system', 'method', 'url', 'status', 'duration_ms'])
          .where((eb) =>
            eb.or(
              ids.flatMap((value) => [
                sql<boolean>`${sql.ref('request_body')} like ${likePattern(value)} escape '\\'`,
                sql<boolean>`${sql.ref('response_body')} like ${likePattern(value)} escape '\\'`,
                sql<boolean>`${sql.ref('url')} like ${likePattern(value)} escape '\\'`,
              ]),
            ),
          )
          .orderBy('id', 'desc')
          .limit(50)
          .execute();
  return {
    record: {
      entity: record.entity,
      id: record.id,
      version: record.version,
      origin: record.origin,
      deleted: record.deleted,
      updatedAt: record.updatedAt,
      data: record.data,
    },
    versions,
    links: record.links.map((l) => ({ system: l.system, externalId: l.externalId })),
    deliveries: record.deliveries.map((d) => ({
      route: d.route,
      state: d.state,
      attempts: d.attempts,
      deliveredVersion: d.deliveredVersion,
      lastError: d.lastError,
    })),
    requests: requests.map((r) => ({
      id: Number(r.id),
      at: r.at,
      system: r.system,
      method: r.method,
      endpoint: endpointOf(r.url),
      status: r.status,
      durationMs: Number(r.duration_ms),
    })),
  };
}
