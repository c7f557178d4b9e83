import type { OwnershipConfig } from '../config/schema.ts';
import { CANONICAL } from '../core/entities/canonical.ts';
import { stableStringify } from '../core/hash.ts';
import type { Db } from '../store/store.ts';
import { chunk } from './chunks.ts';

/**
 * Two-way sync without lost updates (`ownership:` in obmen.yaml). Per entity, each system may
 * own some canonical fields:
 * - ingest from a system S keeps the stored value of every field another system owns, so a
 *   stale or wrong value from a non-owner never wins, and the content hash is taken over the
 *   merged result: an echo that differs only in fields S does not own makes no version;
 * - delivery to a system T tells T's connector which fields T owns (DeliveryItem.ownedFields),
 *   and the connector leaves them out of updates, so a change T made meanwhile is not overwritten.
 * Fields nobody owns follow `unowned`: "any" takes each change as it arrives; "newest" is
 * last-writer-wins by the systems' own change times (SourceItem.sourceUpdatedAt).
 */

export type UnownedPolicy = 'any' | 'newest';

/** One entity's rules, compiled. */
export interface EntityOwnership {
  /** canonical field → the system that owns it */
  ownerOf: ReadonlyMap<string, string>;
  unowned: UnownedPolicy;
}

/** Rules per entity; entities without any are absent (and pay nothing). */
export type Ownership = ReadonlyMap<string, EntityOwnership>;

export function compileOwnership(config: OwnershipConfig | undefined): Ownership {
  const out = new Map<string, EntityOwnership>();
  for (const [entity, rules] of Object.entries(config ?? {})) {
    const ownerOf = new Map<string, string>();
    for (const [system, fields] of Object.entries(rules.owners ?? {}))
      for (const field of fields) ownerOf.set(field, system);
    const unowned = rules.unowned ?? 'any';
    // Without owners and with "any", the rules change nothing: keep the entity off the hook.
    if (ownerOf.size > 0 || unowned !== 'any') out.set(entity, { ownerOf, unowned });
  }
  return out;
}

/** The canonical fields `system` owns in `entity`, for the delivery item; undefined when none. */
export function fieldsOwnedBy(
  ownership: Ownership | undefined,
  entity: string,
  system: string,
): string[] | undefined {
  const rules = ownership?.get(entity);
  if (!rules) return undefined;
  const fields: string[] = [];
  for (const [field, owner] of rules.ownerOf) if (owner === system) fields.push(field);
  return fields.length > 0 ? fields : undefined;
}

/** Top-level fields of a canonical entity (ownership is declared per top-level field). */
export function canonicalFields(entity: string): string[] | undefined {
  const schema = CANONICAL.find((e) => e.name === entity)?.schema;
  if (!schema) return undefined;
  // The canonical schemas are objects wrapped in a preprocess step (a pipe).
  type Def = { type: string; out?: { _zod: { def: Def } }; shape?: Record<string, unknown> };
  let def = (schema as unknown as { _zod: { def: Def } })._zod.def;
  while (def.type === 'pipe' && def.out) def = def.out._zod.def;
  return def.shape ? Object.keys(def.shape) : undefined;
}

/** What the hub holds of a record, as a merge needs it. */
export interface StoredState {
  data: Record<string, unknown>;
  sourceUpdatedAt: number | null;
  /** The system the current version came from. */
  origin: string;
}

export interface Merged {
  data: Record<string, unknown>;
  /** The newest change time known (stored or incoming), so an older change stays recognisable. */
  sourceUpdatedAt: number | undefined;
  /** The item was older than the stored state and some of its values were ignored for that. */
  stale: boolean;
}

/**
 * The content to store when `system` sends `incoming` (hub-id form) for a record the hub holds
 * as `stored`: owned fields from their owner, the rest by the `unowned` policy. Pure.
 */
export function mergeOwned(
  rules: EntityOwnership,
  system: string,
  incoming: Record<string, unknown>,
  incomingAt: number | undefined,
  stored: StoredState,
): Merged {
  // Last-writer-wins compares change times of different systems only: a system's own re-read
  // is its current state. An item without a time can't be judged and counts as newest.
  const older =
    rules.unowned === 'newest' &&
    stored.origin !== system &&
    incomingAt !== undefined &&
    stored.sourceUpdatedAt !== null &&
    incomingAt < stored.sourceUpdatedAt;
  const data: Record<string, unknown> = {};
  let stale = false;
  for (const key of new Set([...Object.keys(stored.data), ...Object.keys(incoming)])) {
    const owner = rules.ownerOf.get(key);
    let value: unknown;
    if (owner === system) value = incoming[key];
    else if (owner !== undefined) value = stored.data[key];
    else if (older) {
      value = stored.data[key];
      if (!stale && stableStringify(incoming[key]) !== stableStringify(value)) stale = true;
    } else value = incoming[key];
    if (value !== undefined) data[key] = value;
  }
  const times = [stored.sourceUpdatedAt ?? undefined, incomingAt].filter((t) => t !== undefined);
  return { data, sourceUpdatedAt: times.length > 0 ? Math.max(...times) : undefined, stale };
}

/** Merges incoming content of one record; the identity for records the hub does not hold yet. */
export type OwnershipMerge = (
  recordId: string,
  incoming: Record<string, unknown>,
  incomingAt: number | undefined,
) => Merged | undefined;

/**
 * Ingest's hook: loads the stored state of the chunk's existing records (one query per
 * parameter budget) and returns the merge for them; undefined when the entity has no rules.
 */
export async function ownershipMerger(
  trx: Db,
  ownership: Ownership | undefined,
  entity: string,
  system: string,
  existingIds: readonly string[],
  maxIn: number,
): Promise<OwnershipMerge | undefined> {
  const rules = ownership?.get(entity);
  if (!rules || existingIds.length === 0) return undefined;
  const stored = new Map<string, StoredState>();
  for (const part of chunk(existingIds, maxIn)) {
    const rows = await trx
      .selectFrom('records')
      .select(['id', 'data', 'source_updated_at', 'origin'])
      .where('entity', '=', entity)
      .where('id', 'in', part)
      .execute();
    for (const row of rows) {
      stored.set(row.id, {
        data: JSON.parse(row.data) as Record<string, unknown>,
        sourceUpdatedAt: row.source_updated_at,
        origin: row.origin,
      });
    }
  }
  return (recordId, incoming, incomingAt) => {
    const state = stored.get(recordId);
    return state ? mergeOwned(rules, system, incoming, incomingAt, state) : undefined;
  };
}
