import { systemsOf } from '../engine/links.ts';
import type { Store } from '../store/store.ts';
import { DEFAULT_MATCH_RULES, keysFor, type MatchRule, STRONG_RULES } from './rules.ts';

/** One object a rule found, as shown to the person who resolves an ambiguous match. */
export interface MatchCandidate {
  recordId: string;
  rule: MatchRule;
  key: string;
  /** The object's name, so a person can tell the candidates apart. */
  name: string | undefined;
}

export type MatchResult =
  | { kind: 'none' }
  | { kind: 'one'; recordId: string; rule: MatchRule; key: string }
  | { kind: 'ambiguous'; rule: MatchRule; candidates: MatchCandidate[] };

export interface FindMatchOptions {
  /** Records that cannot be the match (typically the incoming object's own record). */
  exclude?: readonly string[];
  /** Rules to try, in order (default: DEFAULT_MATCH_RULES of the entity). */
  rules?: readonly MatchRule[];
  /** The object's ids in other systems, for the external_id rule (1C Ид, XML_ID). */
  externalIds?: readonly string[];
}

/**
 * Finds the hub object an incoming one is, by the entity's rules in order: the first rule
 * with any candidate decides. One candidate is a match; several are "ambiguous" and are never
 * guessed — the caller holds the item as a possible duplicate for a person to choose.
 */
export async function findMatch(
  store: Store,
  entity: string,
  data: Record<string, unknown>,
  options: FindMatchOptions = {},
): Promise<MatchResult> {
  const rules = options.rules ?? DEFAULT_MATCH_RULES[entity] ?? [];
  const exclude = new Set(options.exclude ?? []);
  const strong = STRONG_RULES[entity];
  const ownStrong = strong ? keysFor(strong, data) : [];

  for (const rule of rules) {
    const keys = rule === 'external_id' ? [...new Set(options.externalIds ?? [])] : keysFor(rule, data);
    if (keys.length === 0) continue;
    const hits = await candidatesFor(store, entity, rule, keys);
    let found = hits.filter((hit) => !exclude.has(hit.recordId));
    if (strong && rule !== strong && ownStrong.length > 0 && found.length > 0) {
      found = await withoutConflicts(store, entity, strong, ownStrong, found);
    }
    if (found.length === 0) continue;
    // The same record found under two keys of one rule (two phones) is still one record.
    const byRecord = new Map<string, { recordId: string; key: string }>();
    for (const hit of found) if (!byRecord.has(hit.recordId)) byRecord.set(hit.recordId, hit);
    const distinct = [...byRecord.values()];
    if (distinct.length === 1)
      return { kind: 'one', recordId: distinct[0]!.recordId, rule, key: distinct[0]!.key };
    const names = await namesOf(
      store,
      entity,
      distinct.map((d) => d.recordId),
    );
    return {
      kind: 'ambiguous',
      rule,
      candidates: distinct.map((d) => ({
        recordId: d.recordId,
        rule,
        key: d.key,
        name: names.get(d.recordId),
      })),
    };
  }
  return { kind: 'none' };
}

async function candidatesFor(
  store: Store,
  entity: string,
  rule: MatchRule,
  keys: string[],
): Promise<Array<{ recordId: string; key: string }>> {
  if (rule === 'external_id') {
    const rows = await linkedIn(store, entity, await systemsOf(store.db, entity), keys);
    return rows
      .sort((a, b) => (a.record_id < b.record_id ? -1 : a.record_id > b.record_id ? 1 : 0))
      .map((row) => ({ recordId: row.record_id, key: row.key }));
  }
  const rows = await store.db
    .selectFrom('match_keys')
    .select(['record_id', 'key'])
    .where('entity', '=', entity)
    .where('rule', '=', rule)
    .where('key', 'in', keys)
    .orderBy('record_id')
    .execute();
  return rows.map((row) => ({ recordId: row.record_id, key: row.key }));
}

/**
 * Records (not deleted) that one of `systems` knows under one of `externalIds` (the external_id
 * rule: 1C Ид = a site's XML_ID). One lookup of links_pk (entity, system, external_id) per
 * system: there are a few systems, and an index by external id alone would cost every link
 * write an entry.
 */
export async function linkedIn(
  store: Store,
  entity: string,
  systems: readonly string[],
  externalIds: readonly string[],
): Promise<Array<{ record_id: string; key: string }>> {
  const found: Array<{ record_id: string; key: string }> = [];
  if (externalIds.length === 0) return found;
  for (const system of systems) {
    const rows = await store.db
      .selectFrom('links')
      .innerJoin('records', (join) =>
        join.onRef('records.entity', '=', 'links.entity').onRef('records.id', '=', 'links.record_id'),
      )
      .select(['links.record_id as record_id', 'links.external_id as key'])
      .where('links.entity', '=', entity)
      .where('links.system', '=', system)
      .where('links.external_id', 'in', [...externalIds])
      .where('records.deleted', '=', 0)
      .execute();
    found.push(...rows);
  }
  return found;
}

/** Drops candidates whose strong key (INN/KPP) exists and differs from the incoming one's. */
async function withoutConflicts(
  store: Store,
  entity: string,
  strong: MatchRule,
  own: string[],
  found: Array<{ recordId: string; key: string }>,
): Promise<Array<{ recordId: string; key: string }>> {
  const rows = await store.db
    .selectFrom('match_keys')
    .select(['record_id', 'key'])
    .where('entity', '=', entity)
    .where('rule', '=', strong)
    .where(
      'record_id',
      'in',
      found.map((f) => f.recordId),
    )
    .execute();
  const theirs = new Map<string, string[]>();
  for (const row of rows) theirs.set(row.record_id, [...(theirs.get(row.record_id) ?? []), row.key]);
  return found.filter((f) => {
    const keys = theirs.get(f.recordId);
    return !keys || keys.some((key) => own.includes(key));
  });
}

/** Display names of records, read from their canonical data. */
export async function namesOf(
  store: Store,
  entity: string,
  ids: string[],
): Promise<Map<string, string | undefined>> {
  const names = new Map<string, string | undefined>();
  if (ids.length === 0) return names;
  const rows = await store.db
    .selectFrom('records')
    .select(['id', 'data'])
    .where('entity', '=', entity)
    .where('id', 'in', ids)
    .execute();
  for (const row of rows) {
    const data = JSON.parse(row.data) as Record<string, unknown>;
    const name = data.name ?? [data.lastName, data.firstName].filter(Boolean).join(' ');
    names.set(row.id, typeof name === 'string' && name !== '' ? name : undefined);
  }
  return names;
}
