import { sql } from 'kysely';
import type { Store } from '../store/store.ts';

/**
 * A small durable queue for source pulls and maintenance. A job is named (e.g.
 * "pull:onec-products"); at most one job of a name is queued or running at a time, so a slow
 * pull is never stacked up behind copies of itself. Claims are leases: a worker that dies
 * leaves a running job whose lease expires, and the next claim takes it over.
 */

/** A job handed to a worker, with the lease it must heartbeat. */
export interface ClaimedJob {
  id: number;
  name: string;
  kind: string;
  payload: unknown;
  /** Including this one. */
  attempts: number;
  leaseExpiresAt: number;
}

/** Second key of the per-name enqueue lock; the first key keeps it apart from other advisory locks. */
const ENQUEUE_LOCK_CLASS = 727003;

/** Adds a job; undefined when a queued or running job of the same name exists already. */
export async function enqueueJob(
  store: Store,
  job: { name: string; kind: string; payload?: unknown; runAfter?: number },
  now: number = Date.now(),
): Promise<number | undefined> {
  return store.tx(async (trx) => {
    // Check-then-insert must not interleave for one name. On SQLite the transaction is
    // BEGIN IMMEDIATE: writers are serialised, so it cannot. On PostgreSQL two READ COMMITTED
    // transactions could both see "none" and both insert, so same-name enqueues take a
    // transaction-scoped lock on the name first (other names proceed in parallel). A lock
    // rather than a partial unique index keeps this free of a migration and of turning
    // unique-violation errors back into "already queued".
    if (store.caps.advisoryLocks) {
      await sql`select pg_advisory_xact_lock(${ENQUEUE_LOCK_CLASS}, hashtext(current_schema() || ':' || ${job.name}))`.execute(
        trx,
      );
    }
    const existing = await trx
      .selectFrom('jobs')
      .select('id')
      .where('name', '=', job.name)
      .where('state', 'in', ['queued', 'running'])
      .executeTakeFirst();
    if (existing) return undefined;
    const row = await trx
      .insertInto('jobs')
      .values({
        name: job.name,
        kind: job.kind,
        payload: JSON.stringify(job.payload ?? null),
        state: 'queued',
        run_after: job.runAfter ?? now,
        lease_owner: null,
        lease_expires_at: null,
        attempts: 0,
        last_error: null,
        created_at: now,
        finished_at: null,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    return Number(row.id);
  });
}

/**
 * Claims the oldest due queued job, or a running job whose lease expired (its worker crashed),
 * for `owner` until now + leaseMs.
 */
export async function claimJob(
  store: Store,
  owner: string,
  options: { leaseMs: number; kinds?: string[]; now?: number },
): Promise<ClaimedJob | undefined> {
  const now = options.now ?? Date.now();
  const leaseExpiresAt = now + options.leaseMs;
  if (options.kinds && options.kinds.length === 0) return undefined;
  return store.tx(async (trx) => {
    let query = trx
      .selectFrom('jobs')
      .select(['id', 'name', 'kind', 'payload', 'attempts'])
      .where((eb) =>
        eb.or([
          eb.and([eb('state', '=', 'queued'), eb('run_after', '<=', now)]),
          eb.and([eb('state', '=', 'running'), eb('lease_expires_at', '<=', now)]),
        ]),
      )
      .orderBy('run_after')
      .orderBy('id')
      .limit(1);
    if (options.kinds) query = query.where('kind', 'in', options.kinds);
    // Several workers claim at once on PostgreSQL. FOR UPDATE alone would make them queue up
    // behind the first one's row lock and then find it taken; SKIP LOCKED lets each pass over
    // rows another worker is claiming right now and take the next one, without waiting.
    // SQLite has no row locks: BEGIN IMMEDIATE already gives the claim the whole database.
    if (store.caps.skipLocked) query = query.forUpdate().skipLocked();
    const row = await query.executeTakeFirst();
    if (!row) return undefined;
    const attempts = row.attempts + 1;
    await trx
      .updateTable('jobs')
      .set({ state: 'running', lease_owner: owner, lease_expires_at: leaseExpiresAt, attempts })
      .where('id', '=', row.id)
      .execute();
    return {
      id: Number(row.id),
      name: row.name,
      kind: row.kind,
      payload: JSON.parse(row.payload) as unknown,
      attempts,
      leaseExpiresAt,
    };
  });
}

/** Extends the lease; false if it was lost (expired and taken, or finished) — stop working then. */
export async function heartbeatJob(
  store: Store,
  id: number,
  owner: string,
  leaseMs: number,
  now: number = Date.now(),
): Promise<boolean> {
  const result = await store.db
    .updateTable('jobs')
    .set({ lease_expires_at: now + leaseMs })
    .where('id', '=', id)
    .where('state', '=', 'running')
    .where('lease_owner', '=', owner)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

/** Marks the job done; a no-op when the lease was lost, since the new holder now owns the outcome. */
export async function completeJob(
  store: Store,
  id: number,
  owner: string,
  now: number = Date.now(),
): Promise<void> {
  await store.db
    .updateTable('jobs')
    .set({ state: 'done', finished_at: now, lease_owner: null, lease_expires_at: null, last_error: null })
    .where('id', '=', id)
    .where('state', '=', 'running')
    .where('lease_owner', '=', owner)
    .execute();
}

/** Records a failure: back to queued at retryAt when given, otherwise failed for good. */
export async function failJob(
  store: Store,
  id: number,
  owner: string,
  error: string,
  retryAt?: number,
  now: number = Date.now(),
): Promise<void> {
  const retry = retryAt !== undefined;
  await store.db
    .updateTable('jobs')
    .set({
      state: retry ? 'queued' : 'failed',
      run_after: retry ? retryAt : sql<number>`run_after`,
      finished_at: retry ? null : now,
      lease_owner: null,
      lease_expires_at: null,
      last_error: error.length > 4000 ? `${error.slice(0, 4000)}…` : error,
    })
    .where('id', '=', id)
    .where('state', '=', 'running')
    .where('lease_owner', '=', owner)
    .execute();
}
