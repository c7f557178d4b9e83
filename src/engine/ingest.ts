import { sql } from 'kysely';
import type { Clock } from '../core/clock.ts';
import type { SourceItem } from '../core/connector.ts';
import type { EntityRegistry } from '../core/entities/index.ts';
import { contentHash, stableStringify } from '../core/hash.ts';
import { newRecordId } from '../core/ids.ts';
import type { Db, Store } from '../store/store.ts';
import { chunk } from './chunks.ts';
import { type MarkRow, markPending } from './outbox.ts';

/** A route as ingest sees it: which entity it consumes, where it goes, when rows become due. */
export interface RouteTarget {
  name: string;
  entity: string;
  target: string;
  /** When rows marked now become due (now for on-change routes, the next window otherwise). */
  releaseAt(now: number): Promise<number> | number;
}

export interface IngestContext {
  store: Store;
  registry: EntityRegistry;
  routes: readonly RouteTarget[];
  historyVersions: number;
  clock: Clock;
}

export interface IngestRequest {
  /** The system the items come from (their external ids are that system's ids). */
  system: string;
  entity: string;
  items: readonly SourceItem[];
  /** Saved in the same transaction as the last chunk, so a crash never skips data. */
  cursor?: { source: string; value: string };
}

export interface IngestResult {
  received: number;
  created: number;
  updated: number;
  unchanged: number;
  /** Items that did not pass validation: nothing was written for them, the rest went on. */
  invalid: Array<{ externalId: string; message: string }>;
  /** hub id of every valid item, in input order (duplicates coalesced: last one wins). */
  records: Array<{ externalId: string; recordId: string; changed: boolean }>;
}

const CHUNK = 1000;

/**
 * Batch upsert of canonical objects from one system. A new version is made only when the
 * content hash changes; links are looked up or created; every route consuming the entity gets
 * one pending outbox row per changed object (coalesced with any row already pending).
 */
export async function ingest(ctx: IngestContext, request: IngestRequest): Promise<IngestResult> {
  const result: IngestResult = {
    received: request.items.length,
    created: 0,
    updated: 0,
    unchanged: 0,
    invalid: [],
    records: [],
  };
  const definition = ctx.registry.get(request.entity);
  if (!definition) {
    const message = `unknown entity "${request.entity}" from system ${request.system}; known: ${ctx.registry.names().join(', ')}`;
    result.invalid = request.items.map((item) => ({ externalId: item.externalId, message }));
    return result;
  }

  // Coalesce duplicates inside the batch: the last state of an object wins.
  const latest = new Map<string, SourceItem>();
  for (const item of request.items) {
    if (!item.externalId) {
      result.invalid.push({
        externalId: '',
        message: `${request.entity} from ${request.system} has no id; every item needs its id in the source system`,
      });
      continue;
    }
    latest.delete(item.externalId);
    latest.set(item.externalId, item);
  }
  const items = [...latest.values()];
  const routes = ctx.routes.filter(
    (route) => route.entity === request.entity && route.target !== request.system,
  );
  const parts = chunk(items, CHUNK);
  for (let index = 0; index < parts.length; index++) {
    const isLast = index === parts.length - 1;
    const now = ctx.clock.now();
    const releases = await Promise.all(
      routes.map(async (route) => ({ route, dueAt: await route.releaseAt(now) })),
    );
    await ctx.store.tx((trx) =>
      ingestChunk(
        ctx,
        trx,
        request,
        parts[index]!,
        releases,
        now,
        result,
        isLast ? request.cursor : undefined,
      ),
    );
  }
  if (parts.length === 0 && request.cursor) {
    const cursor = request.cursor;
    await ctx.store.tx((trx) => saveCursor(trx, cursor.source, cursor.value, ctx.clock.now()));
  }
  return result;
}

interface Prepared {
  item: SourceItem;
  recordId: string;
  isNewLink: boolean;
  data: Record<string, unknown>;
}

async function ingestChunk(
  ctx: IngestContext,
  trx: Db,
  request: IngestRequest,
  items: SourceItem[],
  releases: Array<{ route: RouteTarget; dueAt: number }>,
  now: number,
  result: IngestResult,
  cursor: { source: string; value: string } | undefined,
): Promise<void> {
  const { entity, system } = request;
  const maxIn = Math.floor(ctx.store.caps.maxParams / 2);

  // 1. Validate; invalid items are reported and skipped, the rest goes on.
  const valid: Array<{ item: SourceItem; data: Record<string, unknown> | undefined }> = [];
  for (const item of items) {
    const emptyDelete = item.deleted === true && (!item.data || Object.keys(item.data).length === 0);
    if (emptyDelete) {
      valid.push({ item, data: undefined });
      continue;
    }
    const checked = ctx.registry.validate(entity, item.data);
    if (checked.ok) valid.push({ item, data: checked.data });
    else
      result.invalid.push({
        externalId: item.externalId,
        message: `${entity} ${item.externalId} from ${system}: ${checked.issues.join('; ')}`,
      });
  }
  if (valid.length === 0) {
    if (cursor) await saveCursor(trx, cursor.source, cursor.value, now);
    return;
  }

  // 2. Own ids through the identity map; new objects get a fresh hub id.
  const ownIds = await lookupLinks(
    trx,
    entity,
    system,
    valid.map((v) => v.item.externalId),
    maxIn,
  );
  const prepared: Prepared[] = valid.map(({ item, data }) => {
    const known = ownIds.get(item.externalId);
    const recordId = known ?? newRecordId();
    if (!known) ownIds.set(item.externalId, recordId);
    return { item, recordId, isNewLink: !known, data: data ?? {} };
  });

  // 3. References: source ids → hub ids; objects not seen yet get a reserved hub id (a link
  //    without a record) so the reference holds when the object arrives later.
  const wanted = new Map<string, Set<string>>();
  for (const p of prepared) {
    if (p.item.deleted && Object.keys(p.data).length === 0) continue;
    for (const ref of ctx.registry.refsOf(entity, p.data)) {
      if (ref.entity === entity && ownIds.has(ref.id)) continue;
      let set = wanted.get(ref.entity);
      if (!set) {
        set = new Set();
        wanted.set(ref.entity, set);
      }
      set.add(ref.id);
    }
  }
  const refIds = new Map<string, Map<string, string>>();
  refIds.set(entity, ownIds);
  const reserved: Array<{ entity: string; externalId: string; recordId: string }> = [];
  for (const [refEntity, ids] of wanted) {
    const found = refEntity === entity ? ownIds : await lookupLinks(trx, refEntity, system, [...ids], maxIn);
    for (const id of ids) {
      if (found.has(id)) continue;
      const recordId = newRecordId();
      found.set(id, recordId);
      reserved.push({ entity: refEntity, externalId: id, recordId });
    }
    refIds.set(refEntity, found);
  }
  if (reserved.length > 0) {
    for (const part of chunk(reserved, Math.floor(ctx.store.caps.maxParams / 6))) {
      await trx
        .insertInto('links')
        .values(
          part.map((r) => ({
            entity: r.entity,
            record_id: r.recordId,
            system,
            external_id: r.externalId,
            last_hash: null,
            updated_at: now,
          })),
        )
        .execute();
    }
  }

  // 4. Current versions, hash comparison.
  const existing = new Map<string, { version: number; hash: string; data: string }>();
  for (const part of chunk(prepared, maxIn)) {
    const rows = await trx
      .selectFrom('records')
      .select(['id', 'version', 'hash', 'data'])
      .where('entity', '=', entity)
      .where(
        'id',
        'in',
        part.map((p) => p.recordId),
      )
      .execute();
    for (const row of rows) existing.set(row.id, row);
  }

  const changed: Array<{
    p: Prepared;
    json: string;
    hash: string;
    version: number;
    deleted: boolean;
    isNew: boolean;
  }> = [];
  for (const p of prepared) {
    const deleted = p.item.deleted === true;
    const before = existing.get(p.recordId);
    let json: string;
    if (deleted && Object.keys(p.data).length === 0) {
      // A deletion without content keeps the last known content.
      json = before?.data ?? '{}';
    } else {
      const mapped = ctx.registry.mapRefs(entity, p.data, (refEntity, id) => refIds.get(refEntity)?.get(id));
      json = stableStringify(mapped.data);
    }
    const hash = contentHash(json, deleted);
    result.records.push({
      externalId: p.item.externalId,
      recordId: p.recordId,
      changed: before?.hash !== hash,
    });
    if (before && before.hash === hash) {
      result.unchanged++;
      continue;
    }
    if (before) result.updated++;
    else result.created++;
    changed.push({ p, json, hash, deleted, version: (before?.version ?? 0) + 1, isNew: !before });
  }

  if (changed.length > 0) {
    // 5. Records and their history.
    for (const part of chunk(changed, Math.floor(ctx.store.caps.maxParams / 10))) {
      await trx
        .insertInto('records')
        .values(
          part.map((c) => ({
            entity,
            id: c.p.recordId,
            version: c.version,
            hash: c.hash,
            data: c.json,
            origin: system,
            deleted: c.deleted ? 1 : 0,
            source_updated_at: c.p.item.sourceUpdatedAt ?? null,
            created_at: now,
            updated_at: now,
          })),
        )
        .onConflict((oc) =>
          oc.columns(['entity', 'id']).doUpdateSet({
            version: sql`excluded.version`,
            hash: sql`excluded.hash`,
            data: sql`excluded.data`,
            origin: sql`excluded.origin`,
            deleted: sql`excluded.deleted`,
            source_updated_at: sql`excluded.source_updated_at`,
            updated_at: sql`excluded.updated_at`,
          }),
        )
        .execute();
      await trx
        .insertInto('record_history')
        .values(
          part.map((c) => ({
            entity,
            id: c.p.recordId,
            version: c.version,
            hash: c.hash,
            data: c.json,
            origin: system,
            deleted: c.deleted ? 1 : 0,
            changed_at: now,
          })),
        )
        .execute();
    }
    await pruneHistory(trx, ctx, entity, changed, maxIn);

    // 6. The origin system holds this content now: remember its hash on the link, so the
    //    change is never written back to where it came from (echo suppression).
    for (const part of chunk(changed, Math.floor(ctx.store.caps.maxParams / 6))) {
      await trx
        .insertInto('links')
        .values(
          part.map((c) => ({
            entity,
            record_id: c.p.recordId,
            system,
            external_id: c.p.item.externalId,
            last_hash: c.hash,
            updated_at: now,
          })),
        )
        .onConflict((oc) =>
          oc.columns(['entity', 'system', 'external_id']).doUpdateSet({
            last_hash: sql`excluded.last_hash`,
            updated_at: sql`excluded.updated_at`,
          }),
        )
        .execute();
    }

    // 7. Fan-out: one coalesced outbox row per route and object.
    const marks: MarkRow[] = [];
    for (const { route, dueAt } of releases) {
      for (const c of changed) {
        marks.push({ route: route.name, recordId: c.p.recordId, entity, version: c.version, dueAt });
      }
    }
    await markPending(trx, ctx.store.caps, marks, now);
  }
  if (cursor) await saveCursor(trx, cursor.source, cursor.value, now);
}

async function lookupLinks(
  trx: Db,
  entity: string,
  system: string,
  externalIds: string[],
  maxIn: number,
): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  for (const part of chunk(externalIds, maxIn)) {
    const rows = await trx
      .selectFrom('links')
      .select(['external_id', 'record_id'])
      .where('entity', '=', entity)
      .where('system', '=', system)
      .where('external_id', 'in', part)
      .execute();
    for (const row of rows) found.set(row.external_id, row.record_id);
  }
  return found;
}

/** Keeps the newest `historyVersions` versions of each changed object. */
async function pruneHistory(
  trx: Db,
  ctx: IngestContext,
  entity: string,
  changed: Array<{ p: Prepared; version: number }>,
  maxIn: number,
): Promise<void> {
  const keep = ctx.historyVersions;
  const old = changed.filter((c) => c.version > keep);
  for (const part of chunk(old, maxIn)) {
    await trx
      .deleteFrom('record_history')
      .where('entity', '=', entity)
      .where(
        'id',
        'in',
        part.map((c) => c.p.recordId),
      )
      .where(({ eb, selectFrom }) =>
        eb(
          'version',
          '<=',
          selectFrom('records as r')
            .select(sql<number>`r.version - ${keep}`.as('limit'))
            .whereRef('r.entity', '=', 'record_history.entity')
            .whereRef('r.id', '=', 'record_history.id'),
        ),
      )
      .execute();
  }
}

export async function saveCursor(trx: Db, source: string, value: string, now: number): Promise<void> {
  await trx
    .insertInto('cursors')
    .values({ source, value, updated_at: now })
    .onConflict((oc) => oc.column('source').doUpdateSet({ value, updated_at: now }))
    .execute();
}

export async function loadCursor(store: Store, source: string): Promise<string | undefined> {
  const row = await store.db
    .selectFrom('cursors')
    .select('value')
    .where('source', '=', source)
    .executeTakeFirst();
  return row?.value;
}
