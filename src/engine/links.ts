import { sql } from 'kysely';
import type { DialectCapabilities } from '../store/capabilities.ts';
import type { Db, Store } from '../store/store.ts';
import { type BulkColumns, executeBulk } from './bulk.ts';
import { chunk } from './chunks.ts';

/**
 * The identity map's writes: which id an object has in a system, and which content hash that
 * system is known to hold. Used by ingest (the source holds what it sent: echo suppression),
 * by delivery (the target answered with its id) and by passive targets that confirm later
 * (1C acknowledging an orders export).
 */

const LINK_COLUMNS: BulkColumns = {
  entity: 'text',
  record_id: 'text',
  system: 'text',
  external_id: 'text',
  last_hash: 'text',
  updated_at: 'bigint',
};

/**
 * links rows of one scope, in LINK_COLUMNS order, sorted by external id. Ids such as 1C's are
 * random, so each new link lands on its own leaf of links_pk; in key order the statement visits
 * those leaves one after another. Over a 1.5 GB 1C import (with the match keys, also in order)
 * the commits took 5.0 s of CPU instead of 8.2 (bench/README.md).
 */
function linkRows(scope: LinkScope, links: readonly LinkWrite[], now: number) {
  return [...links].sort(byExternalId).map((l) => ({
    entity: scope.entity,
    record_id: l.recordId,
    system: scope.system,
    external_id: l.externalId,
    last_hash: l.hash ?? null,
    updated_at: now,
  }));
}

function byExternalId(a: LinkWrite, b: LinkWrite): number {
  return a.externalId < b.externalId ? -1 : a.externalId > b.externalId ? 1 : 0;
}

/** One entity in one system: the scope every link operation works in. */
export interface LinkScope {
  entity: string;
  system: string;
}

export interface LinkWrite {
  recordId: string;
  externalId: string;
  /**
   * Hash of the content the system now holds. Omitted (undefined) when the caller does not
   * know it: a new link then has none and an existing link keeps the one it had.
   */
  hash?: string | null;
}

/**
 * Inserts links, or updates the hash of a link that already exists for the same external id.
 * The caller has made sure no external id belongs to another object (see recordDeliveredLinks).
 */
export async function upsertLinks(
  trx: Db,
  caps: DialectCapabilities,
  scope: LinkScope,
  links: readonly LinkWrite[],
  now: number,
): Promise<void> {
  for (const part of chunk(links, Math.floor(caps.maxParams / 6))) {
    await executeBulk(trx, caps, 'links.upsert', LINK_COLUMNS, linkRows(scope, part, now), (rows) =>
      trx
        .insertInto('links')
        .values(rows)
        .onConflict((oc) =>
          oc.columns(['entity', 'system', 'external_id']).doUpdateSet({
            // An unknown hash (null) never erases a known one.
            last_hash: sql`coalesce(excluded.last_hash, links.last_hash)`,
            updated_at: sql`excluded.updated_at`,
          }),
        ),
    );
  }
}

/**
 * Inserts the links of objects new to the hub (or reserved by a reference), and says how many
 * went in: an external id another transaction linked meanwhile is left alone. On PostgreSQL
 * the insert waits for that transaction, so a concurrent link is never missed; the caller
 * re-reads and starts over (ingest: IdentityRace) instead of making a second object.
 */
export async function insertNewLinks(
  trx: Db,
  caps: DialectCapabilities,
  scope: LinkScope,
  links: readonly LinkWrite[],
  now: number,
): Promise<number> {
  let inserted = 0;
  for (const part of chunk(links, Math.floor(caps.maxParams / 6))) {
    inserted += await executeBulk(
      trx,
      caps,
      'links.insert-new',
      LINK_COLUMNS,
      linkRows(scope, part, now),
      (rows) =>
        trx
          .insertInto('links')
          .values(rows)
          .onConflict((oc) => oc.doNothing()),
    );
  }
  return inserted;
}

/**
 * Stores the ids a target system gave to hub objects (and the hash it now holds). Two hub
 * objects must never share one target object: such an answer is refused and reported, so the
 * caller can park the second object as a possible duplicate. An object the target re-created
 * under a new id loses its old link.
 * Returns recordId → message for people, for each refused link.
 */
export async function recordDeliveredLinks(
  trx: Db,
  store: Pick<Store, 'caps'>,
  scope: LinkScope,
  links: readonly LinkWrite[],
  now: number,
): Promise<Map<string, string>> {
  const conflicts = new Map<string, string>();
  if (links.length === 0) return conflicts;
  const maxIn = Math.floor(store.caps.maxParams / 2);
  // Two queries, each walking its own unique index (links_pk by external id, links_by_record
  // by record id); one query with `external_id IN … OR record_id IN …` scans instead.
  const byExternal = new Map<string, string>();
  for (const part of chunk([...new Set(links.map((l) => l.externalId))], maxIn)) {
    const holders = await trx
      .selectFrom('links')
      .select(['record_id', 'external_id'])
      .where('entity', '=', scope.entity)
      .where('system', '=', scope.system)
      .where('external_id', 'in', part)
      .execute();
    for (const h of holders) byExternal.set(h.external_id, h.record_id);
  }
  const byRecord = new Map<string, string>();
  for (const part of chunk([...new Set(links.map((l) => l.recordId))], maxIn)) {
    const held = await trx
      .selectFrom('links')
      .select(['record_id', 'external_id'])
      .where('entity', '=', scope.entity)
      .where('record_id', 'in', part)
      .where('system', '=', scope.system)
      .execute();
    for (const h of held) byRecord.set(h.record_id, h.external_id);
  }

  const accepted: LinkWrite[] = [];
  const seen = new Map<string, string>();
  for (const link of links) {
    const holder = byExternal.get(link.externalId) ?? seen.get(link.externalId);
    if (holder && holder !== link.recordId) {
      conflicts.set(
        link.recordId,
        `${scope.system} answered with id ${link.externalId}, which already belongs to ${scope.entity} ${holder}: possible duplicate; check both objects, then retry`,
      );
      continue;
    }
    seen.set(link.externalId, link.recordId);
    accepted.push(link);
  }
  // The target gave an object a new id (it was re-created there): the old link goes.
  const moved = accepted.filter((l) => byRecord.has(l.recordId) && byRecord.get(l.recordId) !== l.externalId);
  for (const part of chunk(moved, maxIn)) {
    await trx
      .deleteFrom('links')
      .where('entity', '=', scope.entity)
      .where('system', '=', scope.system)
      .where(
        'record_id',
        'in',
        part.map((l) => l.recordId),
      )
      .execute();
  }
  await upsertLinks(trx, store.caps, scope, accepted, now);
  return conflicts;
}

/**
 * The systems that hold links for an entity, in order: a skip scan of links_pk (entity,
 * system, external_id), one index descent per system, however many links each has.
 */
export async function systemsOf(db: Db, entity: string): Promise<string[]> {
  const systems: string[] = [];
  for (;;) {
    let query = db.selectFrom('links').select('system').where('entity', '=', entity);
    const after = systems.at(-1);
    if (after !== undefined) query = query.where('system', '>', after);
    const row = await query.orderBy('system').limit(1).executeTakeFirst();
    if (!row) return systems;
    systems.push(row.system);
  }
}
