import { configError } from '../core/errors.ts';
import type { Db, Store } from '../store/store.ts';
import { chunk } from './chunks.ts';

/** Operator actions on the outbox, shared by the API and the CLI. */

export interface RetryResult {
  retried: number;
}

export interface RetrySelector {
  route?: string | undefined;
  recordIds?: string[] | undefined;
  /** Required to retry every failure when neither route nor ids narrow the selection. */
  all?: boolean | undefined;
}

/** Ids per statement stay well below the dialect's bound-parameter limit. */
function chunkSize(store: Store): number {
  return Math.max(1, Math.min(1000, store.caps.maxParams - 20));
}

/**
 * Failed rows back to pending now, attempts reset to 0. last_error stays until the next
 * outcome so the operator still sees why the row had failed while it waits for its turn.
 * Filters combine: route and recordIds narrow each other. An empty `recordIds` list selects
 * nothing (it never widens to "the whole route").
 */
export async function retryFailures(
  store: Store,
  selector: RetrySelector,
  now: number = Date.now(),
): Promise<RetryResult> {
  const ids = selector.recordIds;
  if (!selector.all && !selector.route && ids === undefined) {
    throw configError('say which failures to retry: --route, --id or --all');
  }
  if (ids !== undefined && ids.length === 0) return { retried: 0 };
  const unique = ids === undefined ? undefined : [...new Set(ids)];

  const run = async (db: Db, idChunk: string[] | undefined): Promise<number> => {
    let query = db
      .updateTable('outbox')
      .set({ state: 'pending', attempts: 0, next_attempt_at: now, updated_at: now })
      .where('state', '=', 'failed');
    if (selector.route) query = query.where('route', '=', selector.route);
    if (idChunk) query = query.where('record_id', 'in', idChunk);
    const result = await query.executeTakeFirst();
    return Number(result.numUpdatedRows);
  };

  if (!unique) return { retried: await run(store.db, undefined) };
  const parts = chunk(unique, chunkSize(store));
  if (parts.length === 1) return { retried: await run(store.db, parts[0]) };
  return store.tx(async (trx) => {
    let retried = 0;
    for (const part of parts) retried += await run(trx, part);
    return { retried };
  });
}

/**
 * Resend every record of the route's entity (or only `recordIds`) to that route, even where
 * the target already holds the same hash. One set-based upsert per chunk: rows not yet in the
 * outbox are created, existing ones become pending now with force=1 and the current version.
 * A row in flight keeps its lease — taking it away could deliver the object twice at once — and
 * gets force=2: when the holder finishes, the row goes back to pending (force 1) and is written
 * again, whatever the holder wrote or skipped.
 * Deleted records are included: the route's sink decides how a deletion reaches the target.
 */
export async function replayRoute(
  store: Store,
  route: { name: string; entity: string },
  options: { recordIds?: string[] | undefined; now?: number | undefined } = {},
): Promise<{ queued: number }> {
  const now = options.now ?? Date.now();
  const ids = options.recordIds;
  if (ids !== undefined && ids.length === 0) return { queued: 0 };
  const ts = store.caps.timestampType;

  const run = async (db: Db, idChunk: string[] | undefined): Promise<number> => {
    const result = await db
      .insertInto('outbox')
      .columns([
        'route',
        'record_id',
        'entity',
        'state',
        'want_version',
        'attempts',
        'next_attempt_at',
        'force',
        'created_at',
        'updated_at',
      ])
      .expression((eb) => {
        let select = eb
          .selectFrom('records')
          .select((s) => [
            // Casts give PostgreSQL the parameter types an INSERT … SELECT cannot infer.
            s.cast<string>(s.val(route.name), 'text').as('route'),
            'records.id',
            'records.entity',
            s.cast<'pending'>(s.val('pending'), 'text').as('state'),
            'records.version',
            s.lit(0).as('attempts'),
            s.cast<number>(s.val(now), ts).as('next_attempt_at'),
            s.lit(1).as('force'),
            s.cast<number>(s.val(now), ts).as('created_at'),
            s.cast<number>(s.val(now), ts).as('updated_at'),
          ])
          .where('records.entity', '=', route.entity);
        if (idChunk) select = select.where('records.id', 'in', idChunk);
        return select;
      })
      .onConflict((oc) =>
        oc.columns(['route', 'record_id']).doUpdateSet((eb) => {
          const leased = eb('outbox.state', '=', 'in_flight');
          return {
            want_version: eb.ref('excluded.want_version'),
            // 2 = asked while a lease is out: that lease's write may predate the replay (or was
            // skipped as up to date), so the row must be written once more after it.
            force: eb.case().when(leased).then(2).else(1).end(),
            entity: eb.ref('excluded.entity'),
            state: eb.case().when(leased).then(eb.ref('outbox.state')).else(eb.ref('excluded.state')).end(),
            attempts: eb
              .case()
              .when(leased)
              .then(eb.ref('outbox.attempts'))
              .else(eb.ref('excluded.attempts'))
              .end(),
            next_attempt_at: eb
              .case()
              .when(leased)
              .then(eb.ref('outbox.next_attempt_at'))
              .else(eb.ref('excluded.next_attempt_at'))
              .end(),
            // A waiting row's dependencies are looked up again when it is next claimed.
            waiting_for: eb.case().when(leased).then(eb.ref('outbox.waiting_for')).else(null).end(),
            updated_at: eb.ref('excluded.updated_at'),
          };
        }),
      )
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0);
  };

  if (ids === undefined) return { queued: await run(store.db, undefined) };
  const parts = chunk([...new Set(ids)], chunkSize(store));
  return store.tx(async (trx) => {
    let queued = 0;
    for (const part of parts) queued += await run(trx, part);
    return { queued };
  });
}
