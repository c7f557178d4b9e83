import { type RawBuilder, sql } from 'kysely';
import type { DialectCapabilities } from '../store/capabilities.ts';
import type { Db, Store } from '../store/store.ts';
import { type BulkColumns, executeBulk } from './bulk.ts';
import { chunk } from './chunks.ts';

/**
 * Outbox operations: one row per (route, object). The row is the whole delivery state of that
 * object on that route; a pending row is updated, never duplicated (coalescing), and at most
 * one lease exists per row (per-key ordering).
 */

/** Rows per UPDATE … FROM (VALUES …): at most 5 parameters each, far below both limits. */
const OUTCOME_CHUNK = 1000;

const MARK_COLUMNS: BulkColumns = {
  route: 'text',
  record_id: 'text',
  entity: 'text',
  state: 'text',
  want_version: 'integer',
  attempts: 'integer',
  next_attempt_at: 'bigint',
  force: 'integer',
  created_at: 'bigint',
  updated_at: 'bigint',
};

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
  for (const part of chunk(rows, Math.floor(caps.maxParams / 10))) {
    await executeBulk(
      trx,
      caps,
      'outbox.mark',
      MARK_COLUMNS,
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
      (values) =>
        trx
          .insertInto('outbox')
          .values(values)
          .onConflict((oc) =>
            oc.columns(['route', 'record_id']).doUpdateSet({
              want_version: sql`excluded.want_version`,
              state: sql`case when outbox.state = 'in_flight' then 'in_flight' else 'pending' end`,
              attempts: sql`case when outbox.state = 'in_flight' then outbox.attempts else 0 end`,
              next_attempt_at: sql`case when outbox.state = 'in_flight' then outbox.next_attempt_at else excluded.next_attempt_at end`,
              waiting_for: sql`case when outbox.state = 'in_flight' then outbox.waiting_for else null end`,
              updated_at: sql`excluded.updated_at`,
            }),
          ),
    );
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
    // One `UPDATE … WHERE record_id IN (due rows … LIMIT) RETURNING` per kind of due row: the
    // rows are found, leased and returned in one round trip. Each subquery is an index range
    // scan on outbox_claim (route, state, next_attempt_at) that stops after what is still
    // needed; a single `state = … OR state = …` query sorted by next_attempt_at cannot use the
    // index for the order and reads every row of the route (all delivered ones too) each time.
    // PostgreSQL: SKIP LOCKED lets several workers claim disjoint rows of the same route at
    // once without blocking on each other's row locks; the lock lasts until the transaction
    // commits, so no row is claimed twice. SQLite has a single writer (BEGIN IMMEDIATE in
    // store.tx), which gives the same guarantee.
    const claim = async (state: 'pending' | 'waiting' | 'in_flight', take: number) => {
      // MATERIALIZED: the due rows are picked once. As a plain subquery PostgreSQL may run it
      // again for every row it updates, and a re-run skips the rows this statement already
      // changed and returns the next ones, claiming more than `take`.
      const rows = await trx
        .with(
          (cte) => cte('due').materialized(),
          (db) => {
            let due = db
              .selectFrom('outbox')
              .select(['route', 'record_id'])
              .where('route', '=', route)
              .where('state', '=', state);
            due =
              state === 'in_flight'
                ? // The worker that held the lease is gone.
                  due.where('lease_expires_at', '<', now)
                : due.where('next_attempt_at', '<=', now).orderBy('next_attempt_at');
            due = due.limit(take);
            return store.caps.skipLocked ? due.forUpdate().skipLocked() : due;
          },
        )
        .updateTable('outbox')
        .set({
          state: 'in_flight',
          lease_owner: owner,
          lease_expires_at: now + leaseMs,
          lease_version: sql`want_version`,
          // A replay asked during an earlier lease (force 2) is served by this one.
          force: sql`case when "force" = 2 then 1 else "force" end`,
          // A recovered lease counts as an attempt, so an item that crashes its worker every
          // time ends parked instead of looping forever.
          ...(state === 'in_flight' ? { attempts: sql`attempts + 1` } : {}),
          updated_at: now,
        })
        // (route, record_id) from the due rows rather than `route = …`: a route the planner's
        // statistics do not know yet would make the outbox look like one row, and the
        // semi-join would scan the due rows once per outbox row.
        .where(({ eb, refTuple, selectFrom }) =>
          eb(
            refTuple('route', 'record_id'),
            'in',
            selectFrom('due').select(['route', 'record_id']).$asTuple('route', 'record_id'),
          ),
        )
        .returning(['record_id', 'want_version', 'attempts', 'force'])
        .execute();
      return rows.map((row) => ({
        recordId: row.record_id,
        wantVersion: row.want_version,
        attempts: row.attempts,
        force: row.force !== 0,
        recovered: state === 'in_flight',
      }));
    };
    // Recovered leases first (they are the oldest work), then waiting rows whose recheck time
    // came (their dependency may have been linked by hand, or parked and retried), then new work.
    const claimed: ClaimedRow[] = [];
    for (const state of ['in_flight', 'waiting', 'pending'] as const) {
      if (claimed.length >= limit) break;
      claimed.push(...(await claim(state, limit - claimed.length)));
    }
    return claimed;
  });
}

/**
 * Gives back leases taken but not worked on (a batch claimed ahead when the one before it
 * failed): the rows are due again at once, for this or any other worker.
 */
export async function releaseRows(
  store: Store,
  route: string,
  owner: string,
  recordIds: string[],
  now: number,
): Promise<void> {
  for (const part of chunk(recordIds, Math.floor(store.caps.maxParams / 2))) {
    await store.db
      .updateTable('outbox')
      .set({
        state: 'pending',
        lease_owner: null,
        lease_expires_at: null,
        next_attempt_at: now,
        updated_at: now,
      })
      .where('route', '=', route)
      .where('record_id', 'in', part)
      .where('lease_owner', '=', owner)
      .where('state', '=', 'in_flight')
      .execute();
  }
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
  // One statement per kind of outcome and chunk: `UPDATE … FROM (VALUES …)` joins each row
  // to its own values through the primary key (route, record_id). Both databases name the
  // columns of an unaliased VALUES list column1, column2, …; numbers travel as text on
  // PostgreSQL, hence the casts. SQLite has UPDATE FROM since 3.33 (better-sqlite3 bundles
  // a newer one).
  // The route and the lease owner are compared with values carried in every VALUES row, not
  // with constants: the outbox must never look small to PostgreSQL's planner. Its statistics
  // (autovacuum's, taken at some moment) may say no row has this owner, or this route, yet;
  // with `lease_owner = 'me'` it scanned the outbox once for that "one row" and joined it to
  // the whole VALUES list per row found (n × m: 1.5 s per 1,000 rows at 20k rows). As join
  // conditions they are checked on the row the primary key found.
  // `state || ''` keeps SQLite's planner from walking outbox_claim (route, state) for every
  // in-flight row of the route with the VALUES list as the inner loop (n × m); it then looks
  // each row up by primary key instead.
  const update = async (set: RawBuilder<unknown>, rows: unknown[][]) => {
    for (const part of chunk(rows, OUTCOME_CHUNK)) {
      const width = part[0]!.length;
      const routeColumn = sql.raw(`v.column${width + 1}`);
      const ownerColumn = sql.raw(`v.column${width + 2}`);
      const values = sql.join(part.map((row) => sql`(${sql.join([...row, route, owner])})`));
      await sql`update outbox set ${set}, lease_owner = null, lease_expires_at = null, updated_at = ${now}
        from (values ${values}) as v
        where outbox.route = ${routeColumn} and outbox.record_id = v.column1
          and outbox.lease_owner = ${ownerColumn} and outbox.state || '' = 'in_flight'`.execute(trx);
    }
  };
  const rowsOf = <K extends RowOutcome['kind']>(
    kind: K,
    pick: (o: Extract<RowOutcome, { kind: K }>) => unknown[],
  ) => outcomes.filter((o): o is Extract<RowOutcome, { kind: K }> => o.kind === kind).map(pick);

  const delivered = rowsOf('delivered', (o) => [o.recordId, o.hash]);
  if (delivered.length > 0)
    await update(
      // A newer version, or a replay (force 2), arrived while this one was in flight: deliver again.
      sql`state = case when want_version > lease_version or "force" = 2 then 'pending' else 'delivered' end,
        "force" = case when "force" = 2 then 1 when want_version > lease_version then "force" else 0 end,
        next_attempt_at = ${now}, attempts = 0, last_error = null, last_error_class = null,
        waiting_for = null, delivered_hash = v.column2, delivered_version = lease_version,
        delivered_at = ${now}`,
      delivered,
    );
  const retries = rowsOf('retry', (o) => [o.recordId, o.attempts, o.nextAttemptAt, o.error, o.errorClass]);
  if (retries.length > 0)
    await update(
      sql`state = 'pending', attempts = cast(v.column2 as bigint),
        next_attempt_at = cast(v.column3 as bigint), last_error = v.column4, last_error_class = v.column5`,
      retries,
    );
  const failed = rowsOf('failed', (o) => [o.recordId, o.attempts, o.error, o.errorClass]);
  if (failed.length > 0)
    await update(
      sql`state = 'failed', attempts = cast(v.column2 as bigint), last_error = v.column3,
        last_error_class = v.column4`,
      failed,
    );
  const waiting = rowsOf('waiting', (o) => [
    o.recordId,
    o.recheckAt,
    JSON.stringify(o.waitingFor),
    o.message,
  ]);
  if (waiting.length > 0)
    await update(
      sql`state = 'waiting', next_attempt_at = cast(v.column2 as bigint), waiting_for = v.column3,
        last_error = v.column4, last_error_class = null`,
      waiting,
    );
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
