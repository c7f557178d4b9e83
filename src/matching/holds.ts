import { configError } from '../core/errors.ts';
import { newRecordId } from '../core/ids.ts';
import type { HoldsTable } from '../store/schema.ts';
import type { Store } from '../store/store.ts';
import type { MatchCandidate } from './find.ts';

/** A hold as callers see it: JSON columns parsed. */
export interface Hold {
  id: number;
  kind: HoldsTable['kind'];
  state: HoldsTable['state'];
  entity: string;
  system: string | null;
  externalId: string | null;
  route: string | null;
  recordId: string | null;
  field: string | null;
  value: string | null;
  message: string;
  data: Record<string, unknown> | null;
  candidates: MatchCandidate[];
  resolution: HoldResolution | null;
  resolvedBy: string | null;
  resolvedAt: number | null;
  createdAt: number;
  updatedAt: number;
}

/** What a person decided: this is that existing object, a new one, or (missing value) try again. */
export type HoldDecision = { link: string } | { create: true } | { retry: true };
export type HoldResolution = { link: string } | { create: true; recordId: string } | { retry: true };

type Row = Omit<HoldsTable, 'id'> & { id: number };

function toHold(row: Row): Hold {
  return {
    id: Number(row.id),
    kind: row.kind,
    state: row.state,
    entity: row.entity,
    system: row.system,
    externalId: row.external_id,
    route: row.route,
    recordId: row.record_id,
    field: row.field,
    value: row.value,
    message: row.message,
    data: row.data ? (JSON.parse(row.data) as Record<string, unknown>) : null,
    candidates: row.candidates ? (JSON.parse(row.candidates) as MatchCandidate[]) : [],
    resolution: row.resolution ? (JSON.parse(row.resolution) as HoldResolution) : null,
    resolvedBy: row.resolved_by,
    resolvedAt: row.resolved_at,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export interface PossibleDuplicate {
  entity: string;
  /** The system the incoming object came from, and its id there. */
  system: string;
  externalId: string;
  data: Record<string, unknown>;
  candidates: readonly MatchCandidate[];
}

/**
 * Holds an incoming object that matches several existing ones. Holding the same object again
 * (the next poll brings it again) refreshes the open hold instead of adding a second one.
 */
export async function holdPossibleDuplicate(
  store: Store,
  item: PossibleDuplicate,
  now = Date.now(),
): Promise<Hold> {
  const rule = item.candidates[0]?.rule ?? 'match';
  const shown = item.candidates
    .map((c) => `${c.name ?? c.recordId} (${c.recordId}, ${c.rule} ${c.key})`)
    .join('; ');
  const message = `${item.entity} ${item.externalId} from ${item.system} matches ${item.candidates.length} existing objects by ${rule}: ${shown}. Choose the one it is (link) or create a new one`;
  return store.tx(async (trx) => {
    const open = await trx
      .selectFrom('holds')
      .select('id')
      .where('kind', '=', 'possible_duplicate')
      .where('entity', '=', item.entity)
      .where('system', '=', item.system)
      .where('external_id', '=', item.externalId)
      .where('state', '=', 'open')
      .executeTakeFirst();
    const values = {
      message,
      data: JSON.stringify(item.data),
      candidates: JSON.stringify(item.candidates),
      updated_at: now,
    };
    let id: number;
    if (open) {
      id = Number(open.id);
      await trx.updateTable('holds').set(values).where('id', '=', id).execute();
    } else {
      const inserted = await trx
        .insertInto('holds')
        .values({
          ...values,
          kind: 'possible_duplicate',
          state: 'open',
          entity: item.entity,
          system: item.system,
          external_id: item.externalId,
          created_at: now,
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      id = Number(inserted.id);
    }
    const row = await trx.selectFrom('holds').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    return toHold(row as Row);
  });
}

export interface MissingValue {
  entity: string;
  route: string;
  recordId: string;
  field: string;
  value: string;
  /** The Russian message from the mapping's hold outcome. */
  message: string;
}

/** Records a delivery held for a reference value the target lacks (one open hold per route, record and field). */
export async function holdMissingValue(store: Store, item: MissingValue, now = Date.now()): Promise<Hold> {
  return store.tx(async (trx) => {
    const open = await trx
      .selectFrom('holds')
      .select('id')
      .where('kind', '=', 'missing_value')
      .where('route', '=', item.route)
      .where('record_id', '=', item.recordId)
      .where('field', '=', item.field)
      .where('state', '=', 'open')
      .executeTakeFirst();
    let id: number;
    if (open) {
      id = Number(open.id);
      await trx
        .updateTable('holds')
        .set({ value: item.value, message: item.message, updated_at: now })
        .where('id', '=', id)
        .execute();
    } else {
      const inserted = await trx
        .insertInto('holds')
        .values({
          kind: 'missing_value',
          state: 'open',
          entity: item.entity,
          route: item.route,
          record_id: item.recordId,
          field: item.field,
          value: item.value,
          message: item.message,
          created_at: now,
          updated_at: now,
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      id = Number(inserted.id);
    }
    const row = await trx.selectFrom('holds').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    return toHold(row as Row);
  });
}

export interface HoldFilter {
  state?: HoldsTable['state'] | 'all';
  kind?: HoldsTable['kind'];
  entity?: string;
  limit?: number;
  offset?: number;
}

/** Holds, newest first; open ones by default. */
export async function listHolds(
  store: Store,
  filter: HoldFilter = {},
): Promise<{ items: Hold[]; total: number }> {
  let query = store.db.selectFrom('holds');
  const state = filter.state ?? 'open';
  if (state !== 'all') query = query.where('state', '=', state);
  if (filter.kind) query = query.where('kind', '=', filter.kind);
  if (filter.entity) query = query.where('entity', '=', filter.entity);
  const total = await query.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
  const rows = await query
    .selectAll()
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .limit(filter.limit ?? 100)
    .offset(filter.offset ?? 0)
    .execute();
  return { items: rows.map((row) => toHold(row as Row)), total: Number(total.n) };
}

export async function getHold(store: Store, id: number): Promise<Hold | undefined> {
  const row = await store.db.selectFrom('holds').selectAll().where('id', '=', id).executeTakeFirst();
  return row ? toHold(row as Row) : undefined;
}

/**
 * Applies a person's decision. For a possible duplicate both answers end in a link for the
 * incoming object's id, so the next read of it goes straight to the chosen (or a fresh) hub
 * object without matching again: `link` ties it to an existing record, `create` reserves a new
 * hub id for it. A missing value is resolved by `retry` once the value exists in the target.
 * Errors are config-class ObmenErrors with the reason for the person (the API turns them into 400).
 */
export async function resolveHold(
  store: Store,
  id: number,
  decision: HoldDecision,
  actor: string,
  now = Date.now(),
): Promise<Hold> {
  return store.tx(async (trx) => {
    const row = await trx.selectFrom('holds').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) throw configError(`hold ${id} does not exist`);
    const hold = toHold(row as Row);
    if (hold.state !== 'open') {
      throw configError(
        `hold ${id} is already resolved (${JSON.stringify(hold.resolution)} by ${hold.resolvedBy})`,
      );
    }
    let resolution: HoldResolution;
    if (hold.kind === 'missing_value') {
      if (!('retry' in decision)) {
        throw configError(
          `hold ${id} waits for a reference value; resolve it with { retry: true } once the value exists`,
        );
      }
      resolution = { retry: true };
    } else {
      if ('retry' in decision) {
        throw configError(
          `hold ${id} is a possible duplicate; resolve it with { link: recordId } or { create: true }`,
        );
      }
      const system = hold.system!;
      const externalId = hold.externalId!;
      let recordId: string;
      if ('link' in decision) {
        recordId = decision.link;
        const exists = await trx
          .selectFrom('records')
          .select('id')
          .where('entity', '=', hold.entity)
          .where('id', '=', recordId)
          .executeTakeFirst();
        if (!exists) throw configError(`hold ${id}: ${hold.entity} ${recordId} does not exist in the hub`);
        const taken = await trx
          .selectFrom('links')
          .select('external_id')
          .where('entity', '=', hold.entity)
          .where('system', '=', system)
          .where('record_id', '=', recordId)
          .executeTakeFirst();
        if (taken && taken.external_id !== externalId) {
          throw configError(
            `hold ${id}: ${hold.entity} ${recordId} is already linked to ${taken.external_id} in ${system}; one object cannot have two ids there — choose another candidate or create a new object`,
          );
        }
        resolution = { link: recordId };
      } else {
        recordId = newRecordId();
        resolution = { create: true, recordId };
      }
      await trx
        .insertInto('links')
        .values({
          entity: hold.entity,
          record_id: recordId,
          system,
          external_id: externalId,
          last_hash: null,
          updated_at: now,
        })
        .onConflict((oc) =>
          oc
            .columns(['entity', 'system', 'external_id'])
            .doUpdateSet({ record_id: recordId, updated_at: now }),
        )
        .execute();
    }
    await trx
      .updateTable('holds')
      .set({
        state: 'resolved',
        resolution: JSON.stringify(resolution),
        resolved_by: actor,
        resolved_at: now,
        updated_at: now,
      })
      .where('id', '=', id)
      .execute();
    return { ...hold, state: 'resolved', resolution, resolvedBy: actor, resolvedAt: now, updatedAt: now };
  });
}
