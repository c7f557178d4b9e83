import assert from 'node:assert/strict';
import { it } from 'node:test';
import { configSchema } from '../src/config/schema.ts';
import { pruneOnce } from '../src/engine/retention.ts';
import type { OutboxState, RecordHistoryTable } from '../src/store/schema.ts';
import type { Store } from '../src/store/store.ts';
import { forEachDialect } from './support/stores.ts';

const NOW = Date.UTC(2026, 5, 1, 12, 0, 0);
const DAY = 86_400_000;
const retention = configSchema.parse({}).retention; // 7 / 30 / 7 / 90 / 14 days
const ago = (days: number) => NOW - days * DAY;

async function seed(store: Store): Promise<void> {
  const outbox = (record_id: string, state: OutboxState, delivered_at: number | null) => ({
    route: 'r',
    record_id,
    entity: 'product',
    state,
    want_version: 1,
    next_attempt_at: ago(30),
    delivered_at,
    attempts: 0,
    lease_owner: null,
    lease_expires_at: null,
    lease_version: null,
    last_error: null,
    last_error_class: null,
    waiting_for: null,
    force: 0,
    delivered_hash: null,
    delivered_version: null,
    created_at: ago(30),
    updated_at: ago(30),
  });
  await store.db
    .insertInto('outbox')
    .values([
      outbox('delivered-old', 'delivered', ago(8)),
      outbox('delivered-old-2', 'delivered', ago(20)),
      outbox('delivered-new', 'delivered', ago(6)),
      outbox('failed-old', 'failed', ago(20)),
      outbox('pending-old', 'pending', ago(20)),
      outbox('waiting-old', 'waiting', ago(20)),
    ])
    .execute();

  const session = (name: string, status: 'running' | 'ok' | 'failed', finished_at: number | null) => ({
    kind: 'pull',
    name,
    started_at: ago(40),
    finished_at,
    status,
    counts: '{}',
  });
  await store.db
    .insertInto('sessions')
    .values([
      session('ok-old', 'ok', ago(31)),
      session('failed-old', 'failed', ago(31)),
      session('running-old', 'running', null),
      session('ok-new', 'ok', ago(29)),
    ])
    .execute();

  const log = (url: string, at: number) => ({ at, system: 's', method: 'GET', url, duration_ms: 1 });
  await store.db
    .insertInto('request_log')
    .values([log('old', ago(8)), log('old-2', ago(9)), log('new', ago(6))])
    .execute();

  const inbox = (
    payload: string,
    state: 'received' | 'processed' | 'failed',
    processed_at: number | null,
  ) => ({
    system: 's',
    kind: 'webhook',
    received_at: ago(30),
    payload,
    state,
    processed_at,
  });
  await store.db
    .insertInto('inbox')
    .values([
      inbox('processed-old', 'processed', ago(15)),
      inbox('processed-new', 'processed', ago(13)),
      inbox('failed-old', 'failed', ago(15)),
      inbox('received-old', 'received', null),
    ])
    .execute();

  const job = (
    name: string,
    state: 'queued' | 'running' | 'done' | 'failed',
    finished_at: number | null,
  ) => ({
    name,
    kind: 'pull',
    payload: '{}',
    state,
    run_after: ago(40),
    lease_owner: null,
    lease_expires_at: null,
    attempts: 0,
    last_error: null,
    created_at: ago(40),
    finished_at,
  });
  await store.db
    .insertInto('jobs')
    .values([
      job('done-old', 'done', ago(31)),
      job('failed-old', 'failed', ago(31)),
      job('done-new', 'done', ago(29)),
      job('queued-old', 'queued', null),
      job('running-old', 'running', null),
    ])
    .execute();

  const version = (id: string, v: number, changed_at: number) => ({
    entity: 'product',
    id,
    version: v,
    hash: `h${v}`,
    data: '{}',
    origin: 'onec',
    deleted: 0,
    changed_at,
  });
  const history = [
    // All old: only the newest survives.
    ...[1, 2, 3, 4, 5].map((v) => version('a', v, ago(200 - v))),
    // All recent, 30 versions: the newest 5 (historyVersions below) survive.
    ...Array.from({ length: 30 }, (_, i) => version('b', i + 1, ago(10))),
    // One old version only: it is the newest, so it stays.
    version('c', 1, ago(500)),
    // Two old and one recent: the recent one stays.
    version('d', 1, ago(100)),
    version('d', 2, ago(95)),
    version('d', 3, ago(5)),
  ];
  await storeVersions(store, history);
}

/** A version as a record_history row has it. */
type Version = RecordHistoryTable;

/**
 * Stores versions as ingest does: each record's newest version is the current one, in
 * `records`; record_history holds only the versions before it.
 */
async function storeVersions(store: Store, versions: Version[]): Promise<void> {
  const newest = new Map<string, Version>();
  for (const v of versions) {
    const key = `${v.entity}|${v.id}`;
    if ((newest.get(key)?.version ?? 0) < v.version) newest.set(key, v);
  }
  await store.db
    .insertInto('records')
    .values(
      [...newest.values()].map((v) => ({
        entity: v.entity,
        id: v.id,
        version: v.version,
        hash: v.hash,
        data: v.data,
        origin: v.origin,
        deleted: v.deleted,
        source_updated_at: null,
        created_at: v.changed_at,
        updated_at: v.changed_at,
      })),
    )
    .execute();
  const past = versions.filter((v) => newest.get(`${v.entity}|${v.id}`) !== v);
  if (past.length > 0) await store.db.insertInto('record_history').values(past).execute();
}

forEachDialect('retention', (db) => {
  it('prunes exactly the expired, finished rows, in small batches', async () => {
    const store = await db().open();
    try {
      await seed(store);
      const result = await pruneOnce(store, retention, { now: NOW, historyVersions: 5, batchSize: 2 });
      assert.deepEqual(result, {
        outbox: 2,
        sessions: 2,
        requestLog: 2,
        history: 4 + 25 + 2,
        inbox: 1,
        jobs: 2,
      });

      const outbox = await store.db.selectFrom('outbox').select('record_id').orderBy('record_id').execute();
      assert.deepEqual(
        outbox.map((r) => r.record_id),
        ['delivered-new', 'failed-old', 'pending-old', 'waiting-old'],
      );
      const sessions = await store.db.selectFrom('sessions').select('name').orderBy('name').execute();
      assert.deepEqual(
        sessions.map((r) => r.name),
        ['ok-new', 'running-old'],
      );
      const logs = await store.db.selectFrom('request_log').select('url').execute();
      assert.deepEqual(
        logs.map((r) => r.url),
        ['new'],
      );
      const inbox = await store.db.selectFrom('inbox').select('payload').orderBy('payload').execute();
      assert.deepEqual(
        inbox.map((r) => r.payload),
        ['failed-old', 'processed-new', 'received-old'],
      );
      const jobs = await store.db.selectFrom('jobs').select('name').orderBy('name').execute();
      assert.deepEqual(
        jobs.map((r) => r.name),
        ['done-new', 'queued-old', 'running-old'],
      );
      const history = await store.db
        .selectFrom('record_history')
        .select(['id', 'version'])
        .orderBy('id')
        .orderBy('version')
        .execute();
      const current = await store.db
        .selectFrom('records')
        .select(['id', 'version'])
        .where('entity', '=', 'product')
        .orderBy('id')
        .execute();
      assert.deepEqual(
        [...history, ...current].map((r) => `${r.id}${r.version}`).sort(),
        ['a5', 'b26', 'b27', 'b28', 'b29', 'b30', 'c1', 'd3'],
        'the current versions (a5, b30, c1, d3) are in records, the kept past ones in history',
      );
      assert.deepEqual(
        current.map((r) => `${r.id}${r.version}`),
        ['a5', 'b30', 'c1', 'd3'],
      );

      const again = await pruneOnce(store, retention, { now: NOW, historyVersions: 5, batchSize: 2 });
      assert.deepEqual(again, { outbox: 0, sessions: 0, requestLog: 0, history: 0, inbox: 0, jobs: 0 });
    } finally {
      await store.close();
    }
  });

  it('keeps historyVersions per record by default (20)', async () => {
    const store = await db().open();
    try {
      await storeVersions(
        store,
        Array.from({ length: 25 }, (_, i) => ({
          entity: 'product',
          id: 'x',
          version: i + 1,
          hash: 'h',
          data: '{}',
          origin: 'o',
          deleted: 0,
          changed_at: ago(1),
        })),
      );
      const result = await pruneOnce(store, retention, { now: NOW });
      assert.equal(result.history, 5);
      const left = await store.db.selectFrom('record_history').select('version').orderBy('version').execute();
      assert.equal(left[0]?.version, 6);
      assert.equal(left.length, 19, 'versions 6–24 in history, 25 (the current) in records: 20 in all');
    } finally {
      await store.close();
    }
  });
});
