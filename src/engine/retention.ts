import { sql } from 'kysely';
import type { ObmenConfig } from '../config/schema.ts';
import type { Store } from '../store/store.ts';

/** Rows removed by one pruning pass, per table. */
export interface PruneResult {
  outbox: number;
  sessions: number;
  requestLog: number;
  history: number;
  inbox: number;
  jobs: number;
}

const DAY_MS = 86_400_000;

/**
 * Removes what is only kept for looking back: delivered outbox rows, finished sessions and
 * jobs, request logs, processed inbox messages and old record versions. Every delete is a
 * statement of at most `batchSize` rows committed on its own, so pruning a huge backlog never
 * holds a long lock that would stall ingest or delivery. Rows still needing work (pending,
 * in flight, waiting, failed outbox rows; running sessions and jobs; unprocessed or failed
 * inbox messages) are never touched, nor is the newest version of any record.
 */
export async function pruneOnce(
  store: Store,
  retention: ObmenConfig['retention'],
  options: { now?: number; historyVersions?: number; batchSize?: number } = {},
): Promise<PruneResult> {
  const now = options.now ?? Date.now();
  const batch = Math.max(1, options.batchSize ?? 1000);
  const keep = Math.max(1, options.historyVersions ?? 20);
  const before = (days: number) => now - days * DAY_MS;
  const db = store.db;

  const outboxCutoff = before(retention.deliveredDays);
  const outbox = await inBatches(batch, async () => {
    const result = await db
      .deleteFrom('outbox')
      .where('state', '=', 'delivered')
      .where('delivered_at', '<', outboxCutoff)
      .where((eb) =>
        eb(
          eb.refTuple('route', 'record_id'),
          'in',
          eb
            .selectFrom('outbox as o')
            .select(['o.route', 'o.record_id'])
            .where('o.state', '=', 'delivered')
            .where('o.delivered_at', '<', outboxCutoff)
            .limit(batch)
            .$asTuple('route', 'record_id'),
        ),
      )
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  });

  const sessionsCutoff = before(retention.sessionsDays);
  const sessions = await inBatches(batch, async () => {
    const result = await db
      .deleteFrom('sessions')
      .where('status', '!=', 'running')
      .where('finished_at', '<', sessionsCutoff)
      .where('id', 'in', (eb) =>
        eb
          .selectFrom('sessions as s')
          .select('s.id')
          .where('s.status', '!=', 'running')
          .where('s.finished_at', '<', sessionsCutoff)
          .limit(batch),
      )
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  });

  const logCutoff = before(retention.requestLogDays);
  const requestLog = await inBatches(batch, async () => {
    const result = await db
      .deleteFrom('request_log')
      .where('at', '<', logCutoff)
      .where('id', 'in', (eb) =>
        eb.selectFrom('request_log as r').select('r.id').where('r.at', '<', logCutoff).limit(batch),
      )
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  });

  const inboxCutoff = before(retention.inboxDays);
  const inbox = await inBatches(batch, async () => {
    const result = await db
      .deleteFrom('inbox')
      .where('state', '=', 'processed')
      .where('processed_at', '<', inboxCutoff)
      .where('id', 'in', (eb) =>
        eb
          .selectFrom('inbox as i')
          .select('i.id')
          .where('i.state', '=', 'processed')
          .where('i.processed_at', '<', inboxCutoff)
          .limit(batch),
      )
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  });

  const jobs = await inBatches(batch, async () => {
    const result = await db
      .deleteFrom('jobs')
      .where('state', 'in', ['done', 'failed'])
      .where('finished_at', '<', sessionsCutoff)
      .where('id', 'in', (eb) =>
        eb
          .selectFrom('jobs as j')
          .select('j.id')
          .where('j.state', 'in', ['done', 'failed'])
          .where('j.finished_at', '<', sessionsCutoff)
          .limit(batch),
      )
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  });

  const history = await pruneHistory(store, before(retention.historyDays), keep, batch);

  return { outbox, sessions, requestLog, history, inbox, jobs };
}

async function inBatches(batch: number, deleteSome: () => Promise<number>): Promise<number> {
  let total = 0;
  for (;;) {
    const removed = await deleteSome();
    total += removed;
    if (removed < batch) return total;
  }
}

/**
 * Record history: a past version goes when it is older than the cutoff or beyond the newest
 * `keep` versions of its record. The record's current version is in `records`, never here, so
 * it always stays and counts as one of the `keep` (rank 1 in history is the second newest).
 * Walks the table
 * in (entity, id) order with a cursor, so each batch reads from where the last one stopped
 * instead of ranking the whole table again. Deleting a record's oldest versions does not
 * change the rank of the ones left (rank counts from the newest), so a cursor that stays on
 * a partly pruned record still sees the right candidates.
 */
async function pruneHistory(store: Store, cutoff: number, keep: number, batch: number): Promise<number> {
  let total = 0;
  let cursor: { entity: string; id: string } | undefined;
  for (;;) {
    const after = cursor ? sql`where (entity, id) >= (${cursor.entity}, ${cursor.id})` : sql``;
    const found = await sql<{ entity: string; id: string; version: number }>`
      select entity, id, version from (
        select entity, id, version, changed_at,
               row_number() over (partition by entity, id order by version desc) as pos
        from record_history ${after}
      ) ranked
      where changed_at < ${cutoff} or pos >= ${keep}
      order by entity, id, version
      limit ${batch}`.execute(store.db);
    const rows = found.rows;
    if (rows.length === 0) return total;
    total += await deleteVersions(store, rows);
    if (rows.length < batch) return total;
    const last = rows[rows.length - 1];
    if (last) cursor = { entity: last.entity, id: last.id };
  }
}

async function deleteVersions(
  store: Store,
  rows: { entity: string; id: string; version: number }[],
): Promise<number> {
  // Three parameters per row; stay below the dialect's bound-parameter limit.
  const chunk = Math.max(1, Math.floor(store.caps.maxParams / 3));
  let removed = 0;
  for (let start = 0; start < rows.length; start += chunk) {
    const part = rows.slice(start, start + chunk);
    const result = await store.db
      .deleteFrom('record_history')
      .where((eb) =>
        eb(
          eb.refTuple('entity', 'id', 'version'),
          'in',
          part.map((r) => eb.tuple(r.entity, r.id, Number(r.version))),
        ),
      )
      .executeTakeFirst();
    removed += Number(result.numDeletedRows);
  }
  return removed;
}
