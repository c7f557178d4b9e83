import { chunk } from '../engine/chunks.ts';
import { systemsOf } from '../engine/links.ts';
import { type IngestItem, isPrepared, preparedData, preparedKeysOf } from '../engine/prepared.ts';
import type { Store } from '../store/store.ts';
import { linkedIn, type MatchCandidate, namesOf } from './find.ts';
import { holdPossibleDuplicate } from './holds.ts';
import { DEFAULT_MATCH_RULES, keysFor, type MatchRule, STRONG_RULES } from './rules.ts';

export interface MatchBeforeIngestResult<T extends IngestItem = IngestItem> {
  /** Items to ingest: known ones, matched ones (now linked to the existing record) and new ones. */
  items: T[];
  /** Matched to an existing object by a rule (a link was created). */
  matched: Array<{ externalId: string; recordId: string; rule: MatchRule; key: string }>;
  /** Held as possible duplicates: left out of `items` until a person resolves the hold. */
  held: Array<{ externalId: string; holdId: number }>;
}

const KEYS_PER_QUERY = 1000;

/**
 * Runs before `ingest` for one batch of one system: every object the hub has never seen from
 * this system is matched against existing objects (INN/KPP, e-mail, phone; 1C Ид, article,
 * barcode). One match links the object's id to the existing record, so ingest updates that
 * record instead of creating a second one; several matches (or a match already linked to
 * another object of the same system — a duplicate inside that system) hold the item as a
 * possible duplicate. Key lookups are batched: one query per rule per 1,000 keys.
 */
export async function matchBeforeIngest<T extends IngestItem>(
  store: Store,
  entity: string,
  system: string,
  items: readonly T[],
  options: {
    rules?: readonly MatchRule[];
    now?: number;
    /** The caller has just looked the items up: none of them is linked for this system yet. */
    unlinked?: boolean;
  } = {},
): Promise<MatchBeforeIngestResult<T>> {
  const rules = options.rules ?? DEFAULT_MATCH_RULES[entity] ?? [];
  const result: MatchBeforeIngestResult<T> = { items: [...items], matched: [], held: [] };
  if (rules.length === 0 || items.length === 0) return result;

  // Objects already linked for this system need no matching.
  const ids = options.unlinked ? [] : [...new Set(items.map((item) => item.externalId))];
  const known = new Set<string>();
  for (const part of chunk(ids, KEYS_PER_QUERY)) {
    const rows = await store.db
      .selectFrom('links')
      .select('external_id')
      .where('entity', '=', entity)
      .where('system', '=', system)
      .where('external_id', 'in', part)
      .execute();
    for (const row of rows) known.add(row.external_id);
  }
  let pending = items.filter((item) => !known.has(item.externalId) && !item.deleted);
  if (pending.length === 0) return result;
  // Every record has a link to the system it came from, and matching never merges two ids of
  // one system: when no other system has objects of this entity, nothing can match (a first
  // import from one source costs an index probe instead of a lookup per rule).
  const others = (await systemsOf(store.db, entity)).filter((other) => other !== system);
  if (others.length === 0) return result;

  const strong = STRONG_RULES[entity];
  const decided = new Map<
    string,
    | { kind: 'one'; recordId: string; rule: MatchRule; key: string }
    | { kind: 'ambiguous'; rule: MatchRule; hits: Array<{ recordId: string; key: string }> }
  >();
  for (const rule of rules) {
    const wanted = new Map<T, string[]>();
    for (const item of pending) {
      const keys = rule === 'external_id' ? [item.externalId] : keysOf(rule, item);
      if (keys.length > 0) wanted.set(item, keys);
    }
    const hits = await lookupKeys(store, entity, others, rule, [...new Set([...wanted.values()].flat())]);
    if (hits.size === 0) continue; // nothing found by this rule: every item goes on to the next one
    let strongOf: Map<string, string[]> | undefined;
    if (strong && rule !== strong) {
      const candidates = [...new Set([...hits.values()].flat())];
      strongOf = await keysOfRecords(store, entity, strong, candidates);
    }
    const still: T[] = [];
    for (const item of pending) {
      const keys = wanted.get(item);
      const byRecord = new Map<string, string>();
      for (const key of keys ?? [])
        for (const recordId of hits.get(key) ?? []) if (!byRecord.has(recordId)) byRecord.set(recordId, key);
      if (strongOf && strong) {
        const own = keysOf(strong, item);
        if (own.length > 0) {
          for (const recordId of [...byRecord.keys()]) {
            const theirs = strongOf.get(recordId);
            if (theirs && !theirs.some((key) => own.includes(key))) byRecord.delete(recordId);
          }
        }
      }
      if (byRecord.size === 0) {
        still.push(item);
        continue;
      }
      const found = [...byRecord].map(([recordId, key]) => ({ recordId, key }));
      decided.set(
        item.externalId,
        found.length === 1 ? { kind: 'one', rule, ...found[0]! } : { kind: 'ambiguous', rule, hits: found },
      );
    }
    pending = still;
    if (pending.length === 0) break;
  }
  if (decided.size === 0) return result;

  // A record already holding an id of this system is another object of that system: two ids
  // the source itself keeps apart (1C offers sharing their product's article, two CRM contacts
  // with one phone) are never merged or held here — the duplicates report shows them instead.
  const targets = [
    ...new Set(
      [...decided.values()].flatMap((d) => (d.kind === 'one' ? [d.recordId] : d.hits.map((h) => h.recordId))),
    ),
  ];
  const taken = new Set<string>();
  for (const part of chunk(targets, KEYS_PER_QUERY)) {
    const rows = await store.db
      .selectFrom('links')
      .select('record_id')
      .where('entity', '=', entity)
      .where('system', '=', system)
      .where('record_id', 'in', part)
      .execute();
    for (const row of rows) taken.add(row.record_id);
  }

  const now = options.now ?? Date.now();
  const heldIds = new Set<string>();
  const links: Array<{ externalId: string; recordId: string }> = [];
  const linked = new Set<string>();
  for (const item of items) {
    const decision = decided.get(item.externalId);
    if (!decision || heldIds.has(item.externalId) || linked.has(item.externalId)) continue;
    const all =
      decision.kind === 'one' ? [{ recordId: decision.recordId, key: decision.key }] : decision.hits;
    const hits = all.filter((h) => !taken.has(h.recordId));
    if (hits.length === 0) continue; // only objects of this same system: a new object
    if (hits.length === 1) {
      const [hit] = hits as [{ recordId: string; key: string }];
      taken.add(hit.recordId);
      linked.add(item.externalId);
      links.push({ externalId: item.externalId, recordId: hit.recordId });
      result.matched.push({
        externalId: item.externalId,
        recordId: hit.recordId,
        rule: decision.rule,
        key: hit.key,
      });
      continue;
    }
    const names = await namesOf(
      store,
      entity,
      hits.map((h) => h.recordId),
    );
    const candidates: MatchCandidate[] = hits.map((h) => ({
      recordId: h.recordId,
      rule: decision.rule,
      key: h.key,
      name: names.get(h.recordId),
    }));
    const hold = await holdPossibleDuplicate(
      store,
      {
        entity,
        system,
        externalId: item.externalId,
        data: isPrepared(item) ? preparedData(item.prepared) : item.data,
        candidates,
      },
      now,
    );
    heldIds.add(item.externalId);
    result.held.push({ externalId: item.externalId, holdId: hold.id });
  }
  if (links.length > 0) {
    await store.tx(async (trx) => {
      for (const part of chunk(links, KEYS_PER_QUERY)) {
        await trx
          .insertInto('links')
          .values(
            part.map((l) => ({
              entity,
              record_id: l.recordId,
              system,
              external_id: l.externalId,
              last_hash: null,
              updated_at: now,
            })),
          )
          .onConflict((oc) => oc.doNothing())
          .execute();
      }
    });
  }
  if (heldIds.size > 0) result.items = result.items.filter((item) => !heldIds.has(item.externalId));
  return result;
}

/** key → record ids holding it, for one rule; external_id looks at the other systems' links. */
async function lookupKeys(
  store: Store,
  entity: string,
  others: readonly string[],
  rule: MatchRule,
  keys: string[],
): Promise<Map<string, string[]>> {
  const hits = new Map<string, string[]>();
  for (const part of chunk(keys, KEYS_PER_QUERY)) {
    const rows =
      rule === 'external_id'
        ? await linkedIn(store, entity, others, part)
        : await store.db
            .selectFrom('match_keys')
            .select(['record_id', 'key'])
            .where('entity', '=', entity)
            .where('rule', '=', rule)
            .where('key', 'in', part)
            .execute();
    for (const row of rows) hits.set(row.key, [...(hits.get(row.key) ?? []), row.record_id]);
  }
  // Sorted here, not in SQL: an ORDER BY record_id made SQLite scan the record index instead of
  // looking the keys up (99 ms instead of 1 ms per 1,000 keys at 300k keys).
  for (const ids of hits.values()) ids.sort();
  return hits;
}

async function keysOfRecords(
  store: Store,
  entity: string,
  rule: MatchRule,
  recordIds: string[],
): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  for (const part of chunk(recordIds, KEYS_PER_QUERY)) {
    const rows = await store.db
      .selectFrom('match_keys')
      .select(['record_id', 'key'])
      .where('entity', '=', entity)
      .where('rule', '=', rule)
      .where('record_id', 'in', part)
      .execute();
    for (const row of rows) out.set(row.record_id, [...(out.get(row.record_id) ?? []), row.key]);
  }
  return out;
}

/** An item's keys by one rule; a prepared item brings them (engine/prepared.ts). */
function keysOf(rule: MatchRule, item: IngestItem): string[] {
  if (!isPrepared(item)) return keysFor(rule, item.data);
  return preparedKeysOf(item.prepared, rule);
}
