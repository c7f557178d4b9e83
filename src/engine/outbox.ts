import { sql } from 'kysely';
import type { DialectCapabilities } from '../store/capabilities.ts';
import type { Db, Store } from '../store/store.ts';
import { chunk } from './chunks.ts';

/**
 * Outbox operations: one row per (route, object). The row is the whole delivery state of that
 * object on that route; a pending row is updated, never duplicated (coalescing), and at most
 * one lease exists per row (per-key ordering).
 */

export interface MarkRow {
  route: string;
  recordId: string;
  entity: string;
  version: number;
  /** When the row becomes due: now for on-change routes, the next window for scheduled ones. */
  dueAt: number;
}

/**
 * Marks rows pending for a new version. A row in flight keeps its lease; it learns about the
 * newer version through want_version and goes back to pending when the lease completes.
 */
export async function markPending(
  trx: Db,
  caps: DialectCapabilities,
  rows: MarkRow[],
  now: number,
): Promise<void> {
  if (rows.length === 0) return;
  for (const part of chunk(rows, Math.floor(caps.maxParams / 9))) {
    await trx
      .insertInto('outbox')
      .values(
        part.map((row) => ({
          route: row.route,
          record_id: row.recordId,
          entity: row.entity,
          state: 'pending' as const,
          want_version: row.version,
          attempts: 0,
          next_attempt_at: row.dueAt,
          force: 0,
          created_at: now,
          updated_at: now,
        })),
      )
      .onConflict((oc) =>
        oc.columns(['route', 'record_id']).doUpdateSet({
          want_version: sql`excluded.want_version`,
          state: sql`case when outbox.state = 'in_flight' then 'in_flight' else 'pending' end`,
          attempts: sql`case when outbox.state = 'in_flight' then outbox.attempts else 0 end`,
          next_attempt_at: sql`case when outbox.state = 'in_flight' then outbox.next_attempt_at else excluded.next_attempt_at end`,
          waiting_for: sql`case when outbox.state = 'in_flight' then outbox.waiting_for else null end`,
          updated_at: sql`excluded.updated_at`,
        }),
      )
      .execute();
  }
}

export interface ClaimedRow {
  recordId: string;
  wantVersion: number;
  attempts: number;
  force: boolean;
  /** The row was in flight under a lease that expired: its worker died mid-delivery. */
  recovered: boolean;
}

/**
 * Claims up to `limit` due rows of one route as a lease. Due = pending or waiting with
 * next_attempt_at reached, or in flight with an expired lease (the worker that held it is gone).
 */
export async function claimRows(
  store: Store,
  route: string,
  owner: string,
  limit: number,
  leaseMs: number,
  now: number,
): Promise<ClaimedRow[]> {
  return store.tx(async (trx) => {
    let candidates = trx
      .selectFrom('outbox')
      .select(['record_id', 'state'])
      .where('route', '=', route)
      .where((eb) =>
        eb.or([
          eb.and([eb('state', '=', 'pending'), eb('next_attempt_at', '<=', now)]),
          // A waiting row is re-checked when its recheck time comes even if no link woke it
          // (its dependency may have been linked by hand, or parked and retried).
          eb.and([eb('state', '=', 'waiting'), eb('next_attempt_at', '<=', now)]),
          eb.and([eb('state', '=', 'in_flight'), eb('lease_expires_at', '<', now)]),
        ]),
      )
      .orderBy('next_attempt_at')
      .limit(limit);
    // PostgreSQL: SKIP LOCKED lets several workers claim disjoint rows of the same route at
    // once without blocking on each other's row locks; the lock lasts until the UPDATE below
    // commits, so no row is claimed twice. SQLite has a single writer (BEGIN IMMEDIATE in
    // store.tx), which gives the same guarantee.
    if (store.caps.skipLocked) candidates = candidates.forUpdate().skipLocked();
    const picked = await candidates.execute();
    if (picked.length === 0) return [];
    const recoveredIds = new Set(
      picked.filter((row) => row.state === 'in_flight').map((row) => row.record_id),
    );
    const updated = await trx
      .updateTable('outbox')
      .set({
        state: 'in_flight',
        lease_owner: owner,
        lease_expires_at: now + leaseMs,
        lease_version: sql`want_version`,
        // A recovered lease counts as an attempt, so an item that crashes its worker every
        // time ends parked instead of looping forever.
        attempts: sql`case when state = 'in_flight' then attempts + 1 else attempts end`,
        updated_at: now,
      })
      .where('route', '=', route)
      .where(
        'record_id',
        'in',
        picked.map((row) => row.record_id),
      )
      .returning(['record_id', 'want_version', 'attempts', 'force'])
      .execute();
    return updated.map((row) => ({
      recordId: row.record_id,
      wantVersion: row.want_version,
      attempts: row.attempts,
      force: row.force === 1,
      recovered: recoveredIds.has(row.record_id),
    }));
  });
}

/** Extends the leases this owner holds on a route; returns how many are still held. */
export async function heartbeat(store: Store, route: string, owner: string, leaseMs: number, now: number) {
  const result = await store.db
    .updateTable('outbox')
    .set({ lease_expires_at: now + leaseMs })
    .where('route', '=', route)
    .where('lease_owner', '=', owner)
    .where('state', '=', 'in_flight')
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}

export type RowOutcome =
  | { kind: 'delivered'; recordId: string; hash: string; version: number }
  | {
      kind: 'retry';
      recordId: string;
      attempts: number;
      nextAttemptAt: number;
      error: string;
      errorClass: string;
    }
  | { kind: 'failed'; recordId: string; attempts: number; error: string; errorClass: string }
  | { kind: 'waiting'; recordId: string; waitingFor: string[]; recheckAt: number; message: string };

/**
 * Writes outcomes for rows this owner leased. Rows whose lease was lost meanwhile (another
 * worker recovered them) are left alone: the other worker's outcome wins.
 */
export async function completeRows(
  trx: Db,
  route: string,
  owner: string,
  outcomes: RowOutcome[],
  now: number,
): Promise<void> {
  const owned = (recordIds: string[]) =>
    trx
      .updateTable('outbox')
      .where('route', '=', route)
      .where('record_id', 'in', recordIds)
      .where('lease_owner', '=', owner)
      .where('state', '=', 'in_flight');
  const base = { lease_owner: null, lease_expires_at: null, updated_at: now };

  // Deliveries are the bulk of outcomes: one statement per chunk, the hash chosen per row.
  const delivered = outcomes.filter(
    (o): o is Extract<RowOutcome, { kind: 'delivered' }> => o.kind === 'delivered',
  );
  for (const part of chunk(delivered, 500)) {
    const hashCase = sql.join(
      part.map((o) => sql`when ${o.recordId} then ${o.hash}`),
      sql` `,
    );
    await owned(part.map((o) => o.recordId))
      .set({
        ...base,
        // A newer version arrived while this one was in flight: deliver again.
        state: sql`case when want_version > lease_version then 'pending' else 'delivered' end`,
        force: sql`case when want_version > lease_version then force else 0 end`,
        next_attempt_at: now,
        attempts: 0,
        last_error: null,
        last_error_class: null,
        waiting_for: null,
        delivered_hash: sql`case record_id ${hashCase} end`,
        delivered_version: sql`lease_version`,
        delivered_at: now,
      } as never)
      .execute();
  }
  for (const outcome of outcomes) {
    switch (outcome.kind) {
      case 'retry':
        await owned([outcome.recordId])
          .set({
            ...base,
            state: 'pending',
            attempts: outcome.attempts,
            next_attempt_at: outcome.nextAttemptAt,
            last_error: outcome.error,
            last_error_class: outcome.errorClass,
          })
          .execute();
        break;
      case 'failed':
        await owned([outcome.recordId])
          .set({
            ...base,
            state: 'failed',
            attempts: outcome.attempts,
            last_error: outcome.error,
            last_error_class: outcome.errorClass,
          })
          .execute();
        break;
      case 'waiting':
        await owned([outcome.recordId])
          .set({
            ...base,
            state: 'waiting',
            next_attempt_at: outcome.recheckAt,
            waiting_for: JSON.stringify(outcome.waitingFor),
            last_error: outcome.message,
            last_error_class: null,
          })
          .execute();
        break;
      default:
        break;
    }
  }
}

/** Makes waiting rows of the given routes due again (a dependency may have been delivered). */
export async function wakeWaiting(
  trx: Db,
  routes: string[],
  now: number,
  onlyDueBy?: number,
): Promise<number> {
  if (routes.length === 0) return 0;
  let query = trx
    .updateTable('outbox')
    .set({ state: 'pending', next_attempt_at: now, updated_at: now })
    .where('state', '=', 'waiting')
    .where('route', 'in', routes);
  if (onlyDueBy !== undefined) query = query.where('next_attempt_at', '<=', onlyDueBy);
  const result = await query.executeTakeFirst();
  return Number(result.numUpdatedRows);
}

/** Queues dependencies for delivery if they have no outbox row on their route yet. */
export async function ensureQueued(
  trx: Db,
  caps: DialectCapabilities,
  rows: Array<{ route: string; recordId: string; entity: string }>,
  now: number,
): Promise<void> {
  if (rows.length === 0) return;
  for (const part of chunk(rows, Math.floor(caps.maxParams / 8))) {
    const versionOf = new Map<string, number>();
    for (const entity of new Set(part.map((row) => row.entity))) {
      const ids = part.filter((row) => row.entity === entity).map((row) => row.recordId);
      const versions = await trx
        .selectFrom('records')
        .select(['id', 'version'])
        .where('entity', '=', entity)
        .where('id', 'in', ids)
        .execute();
      for (const row of versions) versionOf.set(row.id, row.version);
    }
    const values = part
      .filter((row) => versionOf.has(row.recordId))
      .map((row) => ({
        route: row.route,
        record_id: row.recordId,
        entity: row.entity,
        state: 'pending' as const,
        want_version: versionOf.get(row.recordId)!,
        attempts: 0,
        next_attempt_at: now,
        force: 0,
        created_at: now,
        updated_at: now,
      }));
    if (values.length === 0) continue;
    await trx
      .insertInto('outbox')
      .values(values)
      .onConflict((oc) => oc.columns(['route', 'record_id']).doNothing())
      .execute();
  }
}
