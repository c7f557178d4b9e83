import { sql } from 'kysely';
import type { Clock } from '../core/clock.ts';
import type { EntityRegistry } from '../core/entities/index.ts';
import { contentHash, stableStringify } from '../core/hash.ts';
import { newRecordId } from '../core/ids.ts';
import { matchBeforeIngest } from '../matching/before-ingest.ts';
import { DEFAULT_MATCH_RULES, type MatchRule, matchKeysOf } from '../matching/rules.ts';
import { refreshStatistics } from '../store/statistics.ts';
import type { Db, Store } from '../store/store.ts';
import { type BulkColumns, executeBulk } from './bulk.ts';
import { chunk, yieldToEventLoop } from './chunks.ts';
import { insertNewLinks, upsertLinks } from './links.ts';
import { type MarkRow, markPending } from './outbox.ts';
import { type Ownership, ownershipMerger } from './ownership.ts';
import {
  asSourceItem,
  type IngestItem,
  isPrepared,
  preparedContent,
  preparedKeys,
  preparedRefs,
} from './prepared.ts';

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
  /**
   * Match objects new to the hub against existing ones (INN/KPP, e-mail, phone; 1C Ид, article,
   * barcode) before creating them, and keep the match keys of what is written. `true` takes the
   * built-in rules (counterparty, contact, product); a record overrides them per entity (`[]`
   * turns one off). Off when absent.
   */
  matching?: boolean | Readonly<Record<string, readonly MatchRule[]>>;
  /** Field ownership and last-writer-wins per entity (engine/ownership.ts); off when absent. */
  ownership?: Ownership;
}

export interface IngestRequest {
  /** The system the items come from (their external ids are that system's ids). */
  system: string;
  entity: string;
  /** As sources send them, or prepared on another thread (engine/prepared.ts). */
  items: readonly IngestItem[];
  /** Saved in the same transaction as the last chunk, so a crash never skips data. */
  cursor?: { source: string; value: string };
}

export interface IngestResult {
  received: number;
  created: number;
  updated: number;
  unchanged: number;
  /**
   * Older than what the hub holds from another system (`unowned: newest`): the changes were
   * ignored, so nothing was written for them. Not counted in `unchanged`.
   */
  stale: number;
  /** Items that did not pass validation: nothing was written for them, the rest went on. */
  invalid: Array<{ externalId: string; message: string }>;
  /** hub id of every valid item, in input order (duplicates coalesced: last one wins). */
  records: Array<{ externalId: string; recordId: string; changed: boolean }>;
  /** New objects linked to an existing record by a matching rule (no second record made). */
  matched: number;
  /** Held as possible duplicates (several candidates): not ingested until a person decides. */
  held: Array<{ externalId: string; holdId: number }>;
}

/** The matching rules of an entity under this context; empty when matching is off for it. */
function matchRulesOf(ctx: IngestContext, entity: string): readonly MatchRule[] {
  if (!ctx.matching) return [];
  // Like the `matching:` config section: entities left out keep the built-in rules.
  const own = ctx.matching === true ? undefined : ctx.matching[entity];
  return own ?? DEFAULT_MATCH_RULES[entity] ?? [];
}

const CHUNK = 1000;

/**
 * Another transaction linked an external id this chunk took for new (a delivery recording the
 * id Bitrix24 gave while the event of that very write is ingested, or two reads of one new
 * object at once): the chunk is rolled back and read again, so it updates that object instead
 * of making a second one.
 */
class IdentityRace extends Error {}

/** Attempts per chunk when it keeps losing identity races (each one means progress elsewhere). */
const CHUNK_ATTEMPTS = 5;

function emptyCounts(received: number): IngestResult {
  return {
    received,
    created: 0,
    updated: 0,
    unchanged: 0,
    stale: 0,
    invalid: [],
    records: [],
    matched: 0,
    held: [],
  };
}

function addCounts(into: IngestResult, from: IngestResult): void {
  into.created += from.created;
  into.updated += from.updated;
  into.unchanged += from.unchanged;
  into.stale += from.stale;
  into.matched += from.matched;
  into.invalid.push(...from.invalid);
  into.records.push(...from.records);
  into.held.push(...from.held);
}

const RECORD_COLUMNS: BulkColumns = {
  entity: 'text',
  id: 'text',
  version: 'integer',
  hash: 'text',
  data: 'utf8',
  origin: 'text',
  deleted: 'integer',
  source_updated_at: 'bigint',
  created_at: 'bigint',
  updated_at: 'bigint',
};
const MATCH_KEY_COLUMNS: BulkColumns = { entity: 'text', rule: 'text', key: 'text', record_id: 'text' };

/**
 * Batch upsert of canonical objects from one system. A new version is made only when the
 * content hash changes; links are looked up or created; every route consuming the entity gets
 * one pending outbox row per changed object (coalesced with any row already pending).
 */
export async function ingest(ctx: IngestContext, request: IngestRequest): Promise<IngestResult> {
  const result = emptyCounts(request.items.length);
  const definition = ctx.registry.get(request.entity);
  if (!definition) {
    const message = `unknown entity "${request.entity}" from system ${request.system}; known: ${ctx.registry.names().join(', ')}`;
    result.invalid = request.items.map((item) => ({ externalId: item.externalId, message }));
    return result;
  }

  // Coalesce duplicates inside the batch: the last state of an object wins.
  const latest = new Map<string, IngestItem>();
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
  // Ownership merges objects field by field: prepared content becomes an object again for it.
  const items = ctx.ownership?.has(request.entity)
    ? [...latest.values()].map(asSourceItem)
    : [...latest.values()];
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
    for (let attempt = 1; ; attempt++) {
      // Counted apart, so an attempt rolled back counts nothing.
      const counts = emptyCounts(0);
      try {
        await ctx.store.tx((trx) =>
          ingestChunk(
            ctx,
            trx,
            request,
            parts[index]!,
            releases,
            now,
            counts,
            isLast ? request.cursor : undefined,
          ),
        );
      } catch (error) {
        if (error instanceof IdentityRace && attempt < CHUNK_ATTEMPTS) continue;
        throw error;
      }
      addCounts(result, counts);
      break;
    }
    // A big import must not run on statistics taken before it (PostgreSQL).
    refreshStatistics(ctx.store);
    await yieldToEventLoop();
  }
  if (parts.length === 0 && request.cursor) {
    const cursor = request.cursor;
    await ctx.store.tx((trx) => saveCursor(trx, cursor.source, cursor.value, ctx.clock.now()));
  }
  return result;
}

interface Prepared {
  item: IngestItem;
  recordId: string;
  /** The validated content in source-id form; empty for a prepared item (its text is ready). */
  data: Record<string, unknown>;
  /** Position in the chunk: results are reported in input order. */
  at: number;
}

/** An object whose new version a chunk writes; `json` is its stored text (see ingestChunk, step 5). */
interface Changed {
  p: Prepared;
  json: string | Uint8Array;
  hash: string;
  version: number;
  deleted: boolean;
}

interface Current {
  recordId: string;
  /** Absent for a reserved id (a link without a record yet). */
  version: number | null;
  hash: string | null;
}

/** The value under `key`, created first if missing. */
function entry<K, V>(map: Map<K, V>, key: K, make: () => V): V {
  let value = map.get(key);
  if (value === undefined) {
    value = make();
    map.set(key, value);
  }
  return value;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

async function ingestChunk(
  ctx: IngestContext,
  trx: Db,
  request: IngestRequest,
  chunkItems: IngestItem[],
  releases: Array<{ route: RouteTarget; dueAt: number }>,
  now: number,
  result: IngestResult,
  cursor: { source: string; value: string } | undefined,
): Promise<void> {
  const { entity, system } = request;
  const { registry } = ctx;
  const maxIn = Math.floor(ctx.store.caps.maxParams / 2);
  let items = chunkItems;

  // 1. Own ids and current hashes in one query (links ⨝ records).
  const current = await lookupCurrent(
    trx,
    entity,
    system,
    items.map((item) => item.externalId),
    maxIn,
  );
  const rules = matchRulesOf(ctx, entity);
  if (rules.length > 0) items = await matchNew(ctx, trx, request, items, current, rules, now, result);
  const reported: Array<IngestResult['records'][number] | undefined> = new Array(items.length);
  const ownIds = new Map<string, string>();
  for (const [externalId, row] of current) ownIds.set(externalId, row.recordId);
  // Source id → hub id per referenced entity; a miss is looked up once, then remembered.
  const refIds = new Map<string, Map<string, string>>([[entity, ownIds]]);
  const looked = new Map<string, Set<string>>();
  const resolveRefs = async (refs: Iterable<{ entity: string; id: string }>) => {
    const wanted = new Map<string, Set<string>>();
    for (const ref of refs) {
      if (refIds.get(ref.entity)?.has(ref.id) || looked.get(ref.entity)?.has(ref.id)) continue;
      entry(wanted, ref.entity, () => new Set<string>()).add(ref.id);
    }
    for (const [refEntity, ids] of wanted) {
      const map = entry(refIds, refEntity, () => new Map<string, string>());
      const seen = entry(looked, refEntity, () => new Set<string>());
      for (const [externalId, recordId] of await lookupLinks(trx, refEntity, system, [...ids], maxIn))
        map.set(externalId, recordId);
      for (const id of ids) seen.add(id);
    }
  };
  // Hub-id form of the content; without references there is nothing to copy or replace.
  const mapped = (data: Record<string, unknown>, refs: readonly unknown[]) =>
    refs.length === 0
      ? { data, missing: [] }
      : registry.mapRefs(entity, data, (refEntity, id) => refIds.get(refEntity)?.get(id));
  const hubIdOf = (refEntity: string, id: string) => refIds.get(refEntity)?.get(id);

  // 2. Fast path: an object whose content, as sent, hashes to what the hub holds is unchanged,
  //    and costs no validation. Content that was stored once passed validation, and validating
  //    it again gives the same content, so skipping it changes nothing. Anything else (new,
  //    changed, not yet in canonical form, a reference not known) takes the full path below.
  //    A prepared item (engine/prepared.ts) was validated already: its text needs only the
  //    hub ids of its references.
  const emptyDelete = (item: IngestItem) =>
    !isPrepared(item) && item.deleted === true && (!item.data || Object.keys(item.data).length === 0);
  const refsOfItem = (item: IngestItem) =>
    isPrepared(item)
      ? preparedRefs(item.prepared)
      : registry.refsOf(entity, item.data as Record<string, unknown>);
  const candidates: number[] = [];
  for (let at = 0; at < items.length; at++) {
    const item = items[at]!;
    if (
      current.get(item.externalId)?.hash &&
      !emptyDelete(item) &&
      (isPrepared(item) || isPlainObject(item.data))
    )
      candidates.push(at);
  }
  const candidateRefs = candidates.map((at) => refsOfItem(items[at]!));
  await resolveRefs(candidateRefs.flat());
  const slow: number[] = [];
  const fast = new Set<number>();
  for (let c = 0; c < candidates.length; c++) {
    const at = candidates[c]!;
    const item = items[at]!;
    let hash: string | undefined;
    if (isPrepared(item)) {
      hash = preparedContent(item.prepared, hubIdOf, item.deleted === true)?.hash;
    } else {
      const { data, missing } = mapped(item.data as Record<string, unknown>, candidateRefs[c]!);
      if (missing.length === 0) hash = contentHash(stableStringify(data), item.deleted === true);
    }
    const before = current.get(item.externalId)!;
    if (hash !== undefined && hash === before.hash) {
      fast.add(at);
      result.unchanged++;
      reported[at] = { externalId: item.externalId, recordId: before.recordId, changed: false };
    }
  }
  for (let at = 0; at < items.length; at++) if (!fast.has(at)) slow.push(at);

  // 3. Validate the rest; invalid items are reported and skipped, the rest goes on.
  const prepared: Prepared[] = [];
  /** Hub ids made here for objects no link knew: their links are claimed in writeChanged. */
  const fresh = new Set<string>();
  for (const at of slow) {
    const item = items[at]!;
    let data: Record<string, unknown> = {};
    if (!emptyDelete(item) && !isPrepared(item)) {
      const checked = registry.validate(entity, item.data);
      if (!checked.ok) {
        result.invalid.push({
          externalId: item.externalId,
          message: `${entity} ${item.externalId} from ${system}: ${checked.issues.join('; ')}`,
        });
        continue;
      }
      data = checked.data;
    }
    // New objects get a fresh hub id; a reserved one (referenced before it arrived) is kept.
    let recordId = ownIds.get(item.externalId);
    if (!recordId) {
      recordId = newRecordId();
      ownIds.set(item.externalId, recordId);
      fresh.add(recordId);
    }
    prepared.push({ item, recordId, data, at });
  }

  if (prepared.length > 0) {
    // 4. References: source ids → hub ids; objects not seen yet get a reserved hub id (a
    //    link without a record) so the reference holds when the object arrives later.
    const refsOf = prepared.map((p) =>
      isPrepared(p.item) ? preparedRefs(p.item.prepared) : registry.refsOf(entity, p.data),
    );
    const refs = refsOf.flat();
    await resolveRefs(refs);
    const reserved: Array<{ entity: string; externalId: string; recordId: string }> = [];
    for (const ref of refs) {
      const map = refIds.get(ref.entity)!;
      if (map.has(ref.id)) continue;
      const recordId = newRecordId();
      map.set(ref.id, recordId);
      reserved.push({ entity: ref.entity, externalId: ref.id, recordId });
    }
    for (const refEntity of new Set(reserved.map((r) => r.entity))) {
      const links = reserved.filter((r) => r.entity === refEntity);
      const inserted = await insertNewLinks(trx, ctx.store.caps, { entity: refEntity, system }, links, now);
      if (inserted < links.length)
        throw new IdentityRace(`a referenced ${refEntity} of ${system} was linked meanwhile`);
    }

    // 5. Hash comparison against the current version.
    const keptData = await lookupData(
      trx,
      entity,
      prepared.filter((p) => emptyDelete(p.item) && current.get(p.item.externalId)?.version != null),
      maxIn,
    );
    const changed: Changed[] = [];
    // Two-way sync: fields another system owns keep their stored values (engine/ownership.ts).
    const merge = ctx.ownership?.has(entity)
      ? await ownershipMerger(
          trx,
          ctx.ownership,
          entity,
          system,
          prepared.filter((p) => current.get(p.item.externalId)?.version != null).map((p) => p.recordId),
          maxIn,
        )
      : undefined;
    for (let i = 0; i < prepared.length; i++) {
      const p = prepared[i]!;
      const deleted = p.item.deleted === true;
      const before = current.get(p.item.externalId);
      const exists = before?.version != null;
      const item = p.item;
      // The text to store: a prepared item's is its UTF-8, bound as it is (engine/bulk.ts).
      let json: string | Uint8Array;
      let hash: string;
      let stale = false;
      if (isPrepared(item)) {
        // Every reference has a hub id by now (found or reserved above).
        ({ json, hash } = preparedContent(item.prepared, hubIdOf, deleted)!);
      } else {
        let content = emptyDelete(item) ? undefined : mapped(p.data, refsOf[i]!).data;
        const merged = content && merge?.(p.recordId, content, item.sourceUpdatedAt);
        if (merged) {
          content = p.data = merged.data;
          p.item = { ...item, sourceUpdatedAt: merged.sourceUpdatedAt };
          stale = merged.stale;
        }
        // A deletion without content keeps the last known content.
        json = content ? stableStringify(content) : (keptData.get(p.recordId) ?? '{}');
        hash = contentHash(json, deleted);
      }
      const same = exists && before.hash === hash;
      reported[p.at] = { externalId: p.item.externalId, recordId: p.recordId, changed: !same };
      if (same) {
        if (stale) result.stale++;
        else result.unchanged++;
        continue;
      }
      if (exists) result.updated++;
      else result.created++;
      changed.push({ p, json, hash, deleted, version: (before?.version ?? 0) + 1 });
    }
    if (changed.length > 0) {
      await writeChanged(ctx, trx, request, changed, fresh, releases, now);
      // Match keys follow the data in the same transaction, so matching never sees stale keys.
      if (matchRulesOf(ctx, entity).length > 0) await writeMatchKeys(ctx, trx, entity, changed);
    }
  }
  for (const record of reported) if (record) result.records.push(record);
  if (cursor) await saveCursor(trx, cursor.source, cursor.value, now);
}

/**
 * Matching for the objects of a chunk this system sends for the first time (those with a link
 * already cost nothing here): one that matches an existing record from another system is linked
 * to it, so the chunk updates that record instead of creating a second one; one with several
 * candidates is held as a possible duplicate and left out. Runs in the chunk's transaction, so
 * links, holds and records commit together. Returns the chunk without the held items.
 */
async function matchNew(
  ctx: IngestContext,
  trx: Db,
  request: IngestRequest,
  items: IngestItem[],
  current: Map<string, Current>,
  rules: readonly MatchRule[],
  now: number,
  result: IngestResult,
): Promise<IngestItem[]> {
  const fresh = items.filter((item) => !current.has(item.externalId) && !item.deleted);
  if (fresh.length === 0) return items;
  // matchBeforeIngest works on a Store; this view of it runs everything in the chunk's trx.
  const inChunk: Store = {
    db: trx,
    caps: ctx.store.caps,
    location: ctx.store.location,
    tx: (fn) => fn(trx),
    close: async () => {},
  };
  const matched = await matchBeforeIngest(inChunk, request.entity, request.system, fresh, {
    rules,
    now,
    unlinked: true,
  });
  result.matched += matched.matched.length;
  if (matched.matched.length > 0) {
    const linked = await lookupCurrent(
      trx,
      request.entity,
      request.system,
      matched.matched.map((m) => m.externalId),
      Math.floor(ctx.store.caps.maxParams / 2),
    );
    for (const [externalId, row] of linked) current.set(externalId, row);
  }
  if (matched.held.length === 0) return items;
  result.held.push(...matched.held);
  const held = new Set(matched.held.map((h) => h.externalId));
  return items.filter((item) => !held.has(item.externalId));
}

/**
 * Replaces the match keys (matchKeysOf, as indexMatchKeysBatch would) of the changed objects on
 * the engine's bulk path: only objects that existed before can hold stale keys, so a first
 * load deletes nothing, and the inserts reuse cached statements (the library's own batch
 * rebuilds a several-thousand-parameter statement per chunk, which doubled the ingest cost).
 * A deleted object keeps no keys: nothing should match it.
 */
async function writeMatchKeys(
  ctx: IngestContext,
  trx: Db,
  entity: string,
  changed: ReadonlyArray<{ p: Prepared; version: number; deleted: boolean }>,
): Promise<void> {
  const { caps } = ctx.store;
  const existed = changed.filter((c) => c.version > 1).map((c) => c.p.recordId);
  for (const part of chunk(existed, Math.floor(caps.maxParams / 2))) {
    await trx.deleteFrom('match_keys').where('entity', '=', entity).where('record_id', 'in', part).execute();
  }
  const rows: Array<{ entity: string; rule: string; key: string; record_id: string }> = [];
  for (const c of changed) {
    if (c.deleted) continue;
    const item = c.p.item;
    for (const { rule, key } of isPrepared(item)
      ? preparedKeys(item.prepared)
      : matchKeysOf(entity, c.p.data))
      rows.push({ entity, rule, key, record_id: c.p.recordId });
  }
  // In key order, as links are written (engine/links.ts): articles and barcodes are random keys.
  rows.sort((a, b) =>
    a.rule !== b.rule ? (a.rule < b.rule ? -1 : 1) : a.key < b.key ? -1 : a.key > b.key ? 1 : 0,
  );
  for (const part of chunk(rows, Math.floor(caps.maxParams / 5))) {
    await executeBulk(trx, caps, 'ingest.match_keys', MATCH_KEY_COLUMNS, part, (values) =>
      trx
        .insertInto('match_keys')
        .values(values)
        .onConflict((oc) => oc.doNothing()),
    );
  }
}

/** Stores new versions (the replaced ones into history), the origin's link hash and the outbox rows. */
async function writeChanged(
  ctx: IngestContext,
  trx: Db,
  request: IngestRequest,
  changed: Changed[],
  fresh: ReadonlySet<string>,
  releases: Array<{ route: RouteTarget; dueAt: number }>,
  now: number,
): Promise<void> {
  const { entity, system } = request;
  const maxIn = Math.floor(ctx.store.caps.maxParams / 2);
  // The origin system holds this content now: remember its hash on the link, so the change
  // is never written back to where it came from (echo suppression). New objects claim their
  // link first: one another transaction took meanwhile sends the chunk round again.
  const linkOf = (c: (typeof changed)[number]) => ({
    recordId: c.p.recordId,
    externalId: c.p.item.externalId,
    hash: c.hash,
  });
  const added = changed.filter((c) => fresh.has(c.p.recordId)).map(linkOf);
  if ((await insertNewLinks(trx, ctx.store.caps, { entity, system }, added, now)) < added.length)
    throw new IdentityRace(`a new ${entity} of ${system} was linked meanwhile`);
  const known = changed.filter((c) => !fresh.has(c.p.recordId)).map(linkOf);
  await upsertLinks(trx, ctx.store.caps, { entity, system }, known, now);
  // Records and their history: history holds past versions only, so the version a change
  // replaces is copied there first (one statement, from the row itself); a new object writes
  // no history at all. The current version lives only in `records`.
  const { caps } = ctx.store;
  const replaced = changed.filter((c) => c.version > 1).map((c) => c.p.recordId);
  for (const part of chunk(replaced, maxIn)) {
    await trx
      .insertInto('record_history')
      .columns(['entity', 'id', 'version', 'hash', 'data', 'origin', 'deleted', 'changed_at'])
      .expression(
        trx
          .selectFrom('records')
          .select(['entity', 'id', 'version', 'hash', 'data', 'origin', 'deleted', 'updated_at'])
          .where('entity', '=', entity)
          .where('id', 'in', part),
      )
      .onConflict((oc) => oc.doNothing())
      .execute();
  }
  for (const part of chunk(changed, Math.floor(caps.maxParams / 10))) {
    await executeBulk(
      trx,
      caps,
      'ingest.records',
      RECORD_COLUMNS,
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
      (rows) =>
        trx
          .insertInto('records')
          .values(rows)
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
          ),
    );
  }
  await pruneHistory(trx, ctx, entity, changed, maxIn);

  // Fan-out: one coalesced outbox row per route and object.
  const marks: MarkRow[] = [];
  for (const { route, dueAt } of releases) {
    for (const c of changed) {
      marks.push({ route: route.name, recordId: c.p.recordId, entity, version: c.version, dueAt });
    }
  }
  await markPending(trx, ctx.store.caps, marks, now);
}

/** external id → hub id and the current version's hash (none for a reserved id). */
async function lookupCurrent(
  trx: Db,
  entity: string,
  system: string,
  externalIds: string[],
  maxIn: number,
): Promise<Map<string, Current>> {
  const found = new Map<string, Current>();
  for (const part of chunk(externalIds, maxIn)) {
    const rows = await trx
      .selectFrom('links as l')
      .leftJoin('records as r', (join) =>
        join.onRef('r.entity', '=', 'l.entity').onRef('r.id', '=', 'l.record_id'),
      )
      .select(['l.external_id', 'l.record_id', 'r.version', 'r.hash'])
      .where('l.entity', '=', entity)
      .where('l.system', '=', system)
      .where('l.external_id', 'in', part)
      .execute();
    for (const row of rows)
      found.set(row.external_id, { recordId: row.record_id, version: row.version, hash: row.hash });
  }
  return found;
}

/** Current canonical JSON of some records (needed only for deletions sent without content). */
async function lookupData(
  trx: Db,
  entity: string,
  prepared: Prepared[],
  maxIn: number,
): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  for (const part of chunk(prepared, maxIn)) {
    const rows = await trx
      .selectFrom('records')
      .select(['id', 'data'])
      .where('entity', '=', entity)
      .where(
        'id',
        'in',
        part.map((p) => p.recordId),
      )
      .execute();
    for (const row of rows) found.set(row.id, row.data);
  }
  return found;
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

/**
 * Keeps the newest `historyVersions` versions of each changed object, the current one (in
 * `records`) included: history keeps the `historyVersions - 1` before it.
 */
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
