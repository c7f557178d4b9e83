import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { sql } from 'kysely';
import { ManualClock } from '../src/core/clock.ts';
import { stableStringify } from '../src/core/hash.ts';
import { newRecordId, uuidV7 } from '../src/core/ids.ts';
import { ingest, loadCursor } from '../src/engine/ingest.ts';
import { drainRoute } from '../src/engine/worker.ts';
import type { Store } from '../src/store/store.ts';
import { createTestHub, hubConfig, product, type TestHub } from './support/hub.ts';
import { waitUntil } from './support/processes.ts';
import { forEachDialect } from './support/stores.ts';

describe('hub ids (UUIDv7)', () => {
  test('are RFC 9562 version 7, unique, and sort in the order they were made', () => {
    const before = Date.now();
    const ids = Array.from({ length: 20_000 }, () => newRecordId());
    const after = Date.now();
    assert.equal(new Set(ids).size, ids.length);
    for (const id of ids)
      assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    for (let i = 1; i < ids.length; i++) assert.ok(ids[i - 1]! < ids[i]!, `${ids[i - 1]} < ${ids[i]}`);
    // The first 48 bits are the Unix milliseconds of creation (20,000 ids in one ms would
    // borrow at most a few ms ahead, never go back).
    const first = Number.parseInt(ids[0]!.replace(/-/g, '').slice(0, 12), 16);
    assert.ok(first >= before && first <= after + 10, `${first} within [${before}, ${after}]`);
  });

  test('carry the given time in their first 48 bits', () => {
    const ms = Date.now() + 86_400_000; // ahead of every id made so far in this process
    const id = uuidV7(ms);
    assert.equal(Number.parseInt(id.replace(/-/g, '').slice(0, 12), 16), ms);
    assert.ok(newRecordId() > id, 'ids made afterwards still sort after it');
  });
});

describe('stableStringify', () => {
  // The previous implementation, kept as the reference: stored hashes depend on this text.
  const reference = (value: unknown): string => {
    if (value === null || typeof value !== 'object')
      return value === undefined ? 'null' : JSON.stringify(value);
    if (Array.isArray(value)) return `[${value.map(reference).join(',')}]`;
    const parts: string[] = [];
    for (const key of Object.keys(value).sort()) {
      const item = (value as Record<string, unknown>)[key];
      if (item !== undefined) parts.push(`${JSON.stringify(key)}:${reference(item)}`);
    }
    return `{${parts.join(',')}}`;
  };

  test('gives byte for byte the text the hashes were made with', () => {
    const samples: unknown[] = [
      { b: 1, a: [3, { z: null, y: undefined, x: 'Чайник "Vitek"\n' }], c: { '10': true, '9': false } },
      { a: 1, b: 2, c: 3 },
      [undefined, null, 0, -0.5, 'x', [], {}],
      { undef: undefined },
      { Я: 1, я: 2, A: 3, a: 4, _: 5, '': 6 },
      'plain',
      42,
      null,
    ];
    for (const sample of samples) assert.equal(stableStringify(sample), reference(sample));
  });
});

forEachDialect('engine ingest', (db) => {
  let store: Store;
  let hub: TestHub;
  let clock: ManualClock;

  beforeEach(async () => {
    store = await db().open();
    clock = new ManualClock(Date.UTC(2026, 10, 22, 10, 0, 0));
    hub = await createTestHub(
      store,
      hubConfig({
        systems: { onec: { kind: 'noop' }, site: { kind: 'noop' } },
        routes: [
          { name: 'products-to-site', entity: 'product', target: 'site' },
          { name: 'groups-to-site', entity: 'product_group', target: 'site' },
        ],
      }),
      { clock },
    );
  });
  afterEach(async () => {
    await hub.close();
    await store.close();
  });

  const count = async (table: 'record_history' | 'records' | 'outbox') =>
    Number(
      (
        await store.db
          .selectFrom(table)
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .executeTakeFirstOrThrow()
      ).n,
    );
  const data = async (id: string) =>
    JSON.parse(
      (await store.db.selectFrom('records').select('data').where('id', '=', id).executeTakeFirstOrThrow())
        .data,
    ) as Record<string, unknown>;

  test('an object another transaction links while a chunk reads it is updated, not made twice', async () => {
    // A delivery records the id the site gave product p1 while the site's own report of that
    // object (a webhook echo of the write) is ingested: the ingest read no link for it.
    await hub.ingest('onec', 'product', [product('p1', 'Чайник')]);
    const recordId = (
      await store.db
        .selectFrom('links')
        .select('record_id')
        .where('external_id', '=', 'p1')
        .executeTakeFirstOrThrow()
    ).record_id;
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let linked!: (pid: number | undefined) => void;
    const linkedBy = new Promise<number | undefined>((resolve) => {
      linked = resolve;
    });
    const delivery = store.tx(async (trx) => {
      await trx
        .insertInto('links')
        .values({
          entity: 'product',
          record_id: recordId,
          system: 'site',
          external_id: 'S-1',
          last_hash: null,
          updated_at: 0,
        })
        .execute();
      const pid =
        db().dialect === 'postgres'
          ? (await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(trx)).rows[0]!.pid
          : undefined;
      linked(pid);
      await gate;
    });
    const pid = await linkedBy;
    const ingesting = hub.ingest('site', 'product', [product('S-1', 'Чайник (с сайта)', { article: 'S-1' })]);
    if (pid !== undefined) {
      // PostgreSQL: the ingest has read no link for S-1 and now waits on the delivery's row.
      await waitUntil(
        async () =>
          (
            await sql<{
              n: number;
            }>`select count(*)::int as n from pg_stat_activity where ${pid} = any(pg_blocking_pids(pid))`.execute(
              store.db,
            )
          ).rows[0]!.n > 0,
        10_000,
        'the ingest waits for the delivery',
      );
    }
    release();
    await delivery;
    const result = await ingesting;
    assert.deepEqual([result.created, result.updated], [0, 1]);
    assert.equal(await count('records'), 1, 'one product, not a second one without links');
    assert.equal((await data(recordId))['name'], 'Чайник (с сайта)');
    const site = await store.db
      .selectFrom('links')
      .select('record_id')
      .where('system', '=', 'site')
      .execute();
    assert.deepEqual(site, [{ record_id: recordId }]);
  });

  test('a mixed batch: unchanged, changed, new and invalid objects, reported in input order', async () => {
    const first = await hub.ingest('onec', 'product', [product('p1', 'Чайник'), product('p2', 'Утюг')]);
    assert.equal(first.created, 2);
    const stamp = await store.db
      .selectFrom('outbox')
      .select(['record_id', 'updated_at', 'want_version'])
      .orderBy('record_id')
      .execute();
    clock.advance(60_000);

    const second = await hub.ingest('onec', 'product', [
      product('p3', 'Пылесос'),
      product('p2', 'Утюг'),
      { externalId: 'bad', data: { name: '' } },
      product('p1', 'Чайник электрический'),
    ]);
    assert.deepEqual(
      { created: second.created, updated: second.updated, unchanged: second.unchanged },
      { created: 1, updated: 1, unchanged: 1 },
    );
    assert.deepEqual(
      second.records.map((r) => [r.externalId, r.changed]),
      [
        ['p3', true],
        ['p2', false],
        ['p1', true],
      ],
    );
    assert.equal(second.invalid.length, 1);
    assert.match(second.invalid[0]!.message, /^product bad from onec: /);
    const ids = new Map(first.records.map((r) => [r.externalId, r.recordId]));
    assert.equal(second.records[1]!.recordId, ids.get('p2'), 'the unchanged object keeps its hub id');
    assert.equal(second.records[2]!.recordId, ids.get('p1'));
    assert.equal(await count('records'), 3, 'two first versions and one new object');
    assert.equal(await count('record_history'), 1, 'the version p1 had before it changed');
    const outbox = await store.db
      .selectFrom('outbox')
      .select(['record_id', 'updated_at', 'want_version'])
      .where('record_id', '=', ids.get('p2')!)
      .executeTakeFirstOrThrow();
    assert.deepEqual(
      outbox,
      stamp.find((row) => row.record_id === ids.get('p2')),
      'the unchanged object’s outbox row is not touched',
    );
  });

  test('content the schema normalises is unchanged when sent again the same way', async () => {
    const raw = { externalId: 'p1', data: { name: '  Чайник  ', article: ' A-1 ', vatRate: '20' } };
    await hub.ingest('onec', 'product', [raw]);
    const again = await hub.ingest('onec', 'product', [raw]);
    assert.equal(again.unchanged, 1);
    assert.equal(await count('record_history'), 0, 'no version was replaced');
    const stored = await data(again.records[0]!.recordId);
    assert.equal(stored.name, 'Чайник');
    assert.equal(stored.vatRate, 20);
  });

  test('an object changed meanwhile by another system is written again by its source', async () => {
    const first = await hub.ingest('onec', 'product', [product('p1', 'Чайник')]);
    const id = first.records[0]!.recordId;
    // Another system's newer content, as ingest would have stored it.
    await store.db
      .updateTable('records')
      .set({ data: JSON.stringify({ article: 'A-p1', name: 'Kettle' }), hash: 'other-hash', version: 2 })
      .where('id', '=', id)
      .execute();
    const again = await hub.ingest('onec', 'product', [product('p1', 'Чайник')]);
    assert.equal(again.updated, 1, 'onec’s content differs from what the hub holds now');
    assert.equal((await data(id)).name, 'Чайник');
  });

  test('references resolve to hub ids across batches, and the fast path keeps them', async () => {
    // A child before its parent: the parent's hub id is reserved and kept when it arrives.
    const child = await hub.ingest('onec', 'product_group', [
      { externalId: 'g2', data: { name: 'Чайники', parentId: 'g1' } },
    ]);
    const parent = await hub.ingest('onec', 'product_group', [{ externalId: 'g1', data: { name: 'Кухня' } }]);
    assert.equal(parent.created, 1);
    const parentId = parent.records[0]!.recordId;
    assert.equal((await data(child.records[0]!.recordId)).parentId, parentId);

    // A reference to an object of the same entity ingested in an earlier batch.
    const sibling = await hub.ingest('onec', 'product_group', [
      { externalId: 'g3', data: { name: 'Утюги', parentId: 'g1' } },
    ]);
    assert.equal(sibling.created, 1);
    assert.equal((await data(sibling.records[0]!.recordId)).parentId, parentId);

    const items = [product('p1', 'Чайник', { groupId: 'g2' })];
    const first = await hub.ingest('onec', 'product', items);
    assert.equal((await data(first.records[0]!.recordId)).groupId, child.records[0]!.recordId);
    const again = await hub.ingest('onec', 'product', items);
    assert.equal(again.unchanged, 1);
    const moved = await hub.ingest('onec', 'product', [product('p1', 'Чайник', { groupId: 'g3' })]);
    assert.equal(moved.updated, 1, 'a reference to another object is a change');
    assert.equal((await data(first.records[0]!.recordId)).groupId, sibling.records[0]!.recordId);
  });

  test('a deletion without content keeps the last content; sending it again changes nothing', async () => {
    const first = await hub.ingest('onec', 'product', [product('p1', 'Чайник')]);
    const gone = await hub.ingest('onec', 'product', [{ externalId: 'p1', data: {}, deleted: true }]);
    assert.equal(gone.updated, 1);
    const row = await store.db
      .selectFrom('records')
      .select(['deleted', 'data'])
      .where('id', '=', first.records[0]!.recordId)
      .executeTakeFirstOrThrow();
    assert.equal(row.deleted, 1);
    assert.equal((JSON.parse(row.data) as { name: string }).name, 'Чайник');
    const again = await hub.ingest('onec', 'product', [{ externalId: 'p1', data: {}, deleted: true }]);
    assert.equal(again.unchanged, 1);
  });

  test('more objects than one chunk: every one stored once, the cursor saved with the last', async () => {
    const items = Array.from({ length: 2_345 }, (_, i) => product(`p${i}`, `Товар ${i}`));
    const result = await ingest(hub.runtime.ingest, {
      system: 'onec',
      entity: 'product',
      items,
      cursor: { source: 'onec-products', value: 'c-1' },
    });
    assert.equal(result.created, 2_345);
    assert.equal(result.records.length, 2_345);
    assert.deepEqual(
      result.records.slice(0, 3).map((r) => r.externalId),
      ['p0', 'p1', 'p2'],
    );
    assert.equal(await count('records'), 2_345);
    assert.equal(await count('outbox'), 2_345);
    assert.equal(await loadCursor(store, 'onec-products'), 'c-1');
    const again = await ingest(hub.runtime.ingest, { system: 'onec', entity: 'product', items });
    assert.equal(again.unchanged, 2_345);
    assert.equal(await count('record_history'), 0, 'a first load and an unchanged re-run write no history');
  });

  test('a drain stopped after its first batch still delivers the batch it claimed ahead, and no more', async () => {
    const route = hub.runtime.routes.find((r) => r.name === 'products-to-site')!;
    const size = route.batchSize;
    const total = size * 3 + Math.ceil(size / 2);
    await hub.ingest(
      'onec',
      'product',
      Array.from({ length: total }, (_, i) => product(`p${i}`, `Товар ${i}`)),
    );
    const stop = new AbortController();
    const totals = await drainRoute(hub.runtime, 'products-to-site', {
      signal: stop.signal,
      onBatch: () => stop.abort(),
    });
    assert.equal(totals.delivered, size * 2, 'the first batch and the one claimed ahead of it');
    const states = await store.db
      .selectFrom('outbox')
      .select(['state', (eb) => eb.fn.countAll<number>().as('n')])
      .where('route', '=', 'products-to-site')
      .groupBy('state')
      .orderBy('state')
      .execute();
    assert.deepEqual(
      states.map((row) => [row.state, Number(row.n)]),
      [
        ['delivered', size * 2],
        ['pending', total - size * 2],
      ],
      'no lease is left behind',
    );
    const rest = await drainRoute(hub.runtime, 'products-to-site');
    assert.equal(rest.delivered, total - size * 2);
  });
});
