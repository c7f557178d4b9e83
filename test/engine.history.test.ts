import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildApi } from '../src/api/server.ts';
import { ManualClock } from '../src/core/clock.ts';
import { up as historyPastOnly } from '../src/store/migrations/0009_history_past_only.ts';
import type { Store } from '../src/store/store.ts';
import { createTestHub, hubConfig, product, type TestHub } from './support/hub.ts';
import { forEachDialect } from './support/stores.ts';

/**
 * record_history holds past versions only: the current version of an object lives in
 * `records`, and the version a change replaces is copied into history. Readers (the record
 * API) still show every version, the current one first.
 */
forEachDialect('record history: past versions only', (db) => {
  let store: Store;
  let hub: TestHub;
  let clock: ManualClock;
  let app: FastifyInstance | undefined;
  const T0 = Date.UTC(2026, 10, 22, 10, 0, 0);
  const config = hubConfig({
    database: { historyVersions: 3 },
    systems: { onec: { kind: 'noop' }, site: { kind: 'noop' } },
    routes: [{ name: 'products-to-site', entity: 'product', target: 'site' }],
  });

  beforeEach(async () => {
    store = await db().open();
    clock = new ManualClock(T0);
    hub = await createTestHub(store, config, { clock });
  });
  afterEach(async () => {
    await app?.close();
    app = undefined;
    await hub.close();
    await store.close();
  });

  const history = (id: string) =>
    store.db
      .selectFrom('record_history')
      .select(['version', 'hash', 'data', 'origin', 'changed_at'])
      .where('entity', '=', 'product')
      .where('id', '=', id)
      .orderBy('version')
      .execute();
  const current = (id: string) =>
    store.db
      .selectFrom('records')
      .select(['version', 'hash', 'data', 'updated_at'])
      .where('entity', '=', 'product')
      .where('id', '=', id)
      .executeTakeFirstOrThrow();

  test('a first ingest writes no history row', async () => {
    const result = await hub.ingest('onec', 'product', [product('p1', 'Чайник'), product('p2', 'Утюг')]);
    assert.equal(result.created, 2);
    const rows = await store.db.selectFrom('record_history').selectAll().execute();
    assert.deepEqual(rows, []);
  });

  test('a change copies the version it replaces into history, as it was', async () => {
    const first = await hub.ingest('onec', 'product', [product('p1', 'Чайник')]);
    const id = first.records[0]!.recordId;
    const v1 = await current(id);
    clock.advance(60_000);
    await hub.ingest('onec', 'product', [product('p1', 'Чайник электрический')]);
    const v2 = await current(id);
    assert.equal(v2.version, 2);
    assert.equal(JSON.parse(v2.data).name, 'Чайник электрический');
    assert.deepEqual(await history(id), [
      { version: 1, hash: v1.hash, data: v1.data, origin: 'onec', changed_at: T0 },
    ]);
    // Unchanged content makes no version and copies nothing.
    await hub.ingest('onec', 'product', [product('p1', 'Чайник электрический')]);
    assert.equal((await history(id)).length, 1);
  });

  test('ingest keeps historyVersions versions, the current one included', async () => {
    const first = await hub.ingest('onec', 'product', [product('p1', 'v1')]);
    const id = first.records[0]!.recordId;
    for (const name of ['v2', 'v3', 'v4', 'v5']) {
      clock.advance(1000);
      await hub.ingest('onec', 'product', [product('p1', name)]);
    }
    assert.equal((await current(id)).version, 5);
    assert.deepEqual(
      (await history(id)).map((h) => [h.version, JSON.parse(h.data).name]),
      [
        [3, 'v3'],
        [4, 'v4'],
      ],
    );
  });

  test('the record API lists the current version and the past ones, newest first', async () => {
    const first = await hub.ingest('onec', 'product', [product('p1', 'Чайник')]);
    const id = first.records[0]!.recordId;
    clock.advance(60_000);
    await hub.ingest('onec', 'product', [product('p1', 'Чайник электрический')]);
    app = await buildApi({ store, config, version: '9.9.9-test', now: () => clock.now(), auth: false });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = app.server.address() as AddressInfo;
    const response = await fetch(`http://127.0.0.1:${port}/api/v1/records/product/${id}`);
    assert.equal(response.status, 200);
    const body = (await response.json()) as {
      version: number;
      history: Array<{ version: number; changedAt: number; data: { name: string } }>;
    };
    assert.equal(body.version, 2);
    assert.deepEqual(
      body.history.map((h) => [h.version, h.changedAt, h.data.name]),
      [
        [2, T0 + 60_000, 'Чайник электрический'],
        [1, T0, 'Чайник'],
      ],
    );
  });

  test('migration 0009 removes the history rows that repeat the current version, and no other', async () => {
    const first = await hub.ingest('onec', 'product', [product('p1', 'v1'), product('p2', 'v1')]);
    const [p1, p2] = first.records.map((r) => r.recordId) as [string, string];
    clock.advance(1000);
    await hub.ingest('onec', 'product', [product('p1', 'v2')]);
    // As the previous ingest wrote it: every version, the current one included, in history.
    for (const id of [p1, p2]) {
      const row = await current(id);
      await store.db
        .insertInto('record_history')
        .values({
          entity: 'product',
          id,
          version: row.version,
          hash: row.hash,
          data: row.data,
          origin: 'onec',
          deleted: 0,
          changed_at: row.updated_at,
        })
        .execute();
    }
    await historyPastOnly(store.db);
    assert.deepEqual(
      (await history(p1)).map((h) => h.version),
      [1],
    );
    assert.deepEqual(await history(p2), []);
  });
});
