import assert from 'node:assert/strict';
import { it } from 'node:test';
import { type OnecOdataEmulator, startOnecOdataEmulator } from '../emulators/onec-odata/index.ts';
import { onecOdataConnector } from '../src/connectors/onec-odata/index.ts';
import { registerConnector } from '../src/connectors/registry.ts';
import type { ManualClock } from '../src/core/clock.ts';
import { runPull } from '../src/engine/pull.ts';
import type { Store } from '../src/store/store.ts';
import { createTestHub, hubConfig, type TestHub } from './support/hub.ts';
import { forEachDialect } from './support/stores.ts';

registerConnector(onecOdataConnector);

const ITEMS = 60;

/** Sources for every canonical entity the connector reads from УТ 11 (defaults: no options needed). */
const SOURCES = [
  'unit',
  'product_group',
  'product',
  'price_type',
  'price',
  'warehouse',
  'stock',
  'counterparty',
].map((entity) => ({ name: `onec-${entity.replace('_', '-')}`, system: 'onec', entity, batchSize: 25 }));

async function hubFor(store: Store, emulator: OnecOdataEmulator): Promise<TestHub> {
  return createTestHub(
    store,
    hubConfig({
      systems: {
        onec: {
          kind: 'onec-odata',
          url: emulator.publicationUrl,
          credentials: { login: 'Обмен', password: 'секрет' },
          // Short, so the hang fault costs little; the shared client retries GETs that time out.
          limits: { timeout: '400ms' },
        },
      },
      sources: SOURCES,
      routes: [
        {
          name: 'orders-to-onec',
          entity: 'order',
          target: 'onec',
          options: { defaults: { Статус: 'КОбеспечению', ХозяйственнаяОперация: 'РеализацияКлиенту' } },
        },
      ],
    }),
  );
}

async function count(store: Store, table: 'records' | 'record_history', entity: string): Promise<number> {
  const row = await store.db
    .selectFrom(table)
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('entity', '=', entity)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** The hub id 1C's object got when it was pulled. */
async function hubId(store: Store, entity: string, ref: string): Promise<string> {
  const row = await store.db
    .selectFrom('links')
    .select('record_id')
    .where('entity', '=', entity)
    .where('system', '=', 'onec')
    .where('external_id', '=', ref)
    .executeTakeFirstOrThrow();
  return row.record_id;
}

/** A site that knows the same customer and goods (as after matching): its ids link to the same hub records. */
async function linkSite(store: Store, entity: string, recordId: string, siteId: string): Promise<void> {
  await store.db
    .insertInto('links')
    .values({
      entity,
      record_id: recordId,
      system: 'site',
      external_id: siteId,
      last_hash: null,
      updated_at: Date.now(),
    })
    .execute();
}

forEachDialect('onec-odata through the engine', (db) => {
  const withHub =
    (items: number, fn: (hub: TestHub, e: OnecOdataEmulator, store: Store) => Promise<void>) => async () => {
      const e = await startOnecOdataEmulator({ items, counterparties: 10 });
      const store = await db().open();
      const hub = await hubFor(store, e);
      try {
        await fn(hub, e, store);
      } finally {
        await hub.close();
        await store.close();
        await e.close();
      }
    };

  it(
    'pulls units, groups, products, price types, prices, warehouses, stock and counterparties; a re-poll creates nothing; an edit makes one version',
    withHub(ITEMS, async (hub, e, store) => {
      const read: Record<string, number> = {};
      for (const source of SOURCES) {
        const { stats, errors } = await runPull(hub.runtime, source.name);
        assert.deepEqual(errors, [], source.name);
        read[source.entity] = stats.created;
      }
      assert.deepEqual(read, {
        unit: 4,
        product_group: 10,
        product: ITEMS,
        price_type: 2,
        price: ITEMS * 2,
        warehouse: 3,
        stock: ITEMS * 3,
        counterparty: 10,
      });
      assert.equal(await count(store, 'records', 'product'), ITEMS);
      // Prices point at the products pulled before them: the same hub ids, no reserved extras.
      const product0 = await hubId(store, 'product', e.catalog.refs.product(0));
      const price = await store.db
        .selectFrom('records')
        .select('data')
        .where('entity', '=', 'price')
        .where('data', 'like', `%${product0}%`)
        .execute();
      assert.equal(price.length, 2);

      const history = await count(store, 'record_history', 'product');
      const again = await runPull(hub.runtime, 'onec-product');
      assert.deepEqual(
        [again.stats.read, again.stats.created, again.stats.updated],
        [0, 0, 0],
        'unchanged objects are dropped by DataVersion before conversion',
      );
      const pricesAgain = await runPull(hub.runtime, 'onec-price');
      assert.deepEqual([pricesAgain.stats.created, pricesAgain.stats.updated], [0, 0]);
      assert.equal(await count(store, 'record_history', 'product'), history);

      e.catalog.edit('Catalog_Номенклатура', e.catalog.refs.product(5), {
        Description: 'Смеситель переименованный',
      });
      e.catalog.setPrice(5, 1, 12.5);
      const edited = await runPull(hub.runtime, 'onec-product');
      assert.deepEqual([edited.stats.read, edited.stats.created, edited.stats.updated], [1, 0, 1]);
      assert.equal(await count(store, 'record_history', 'product'), history + 1);
      const priceEdit = await runPull(hub.runtime, 'onec-price');
      assert.deepEqual([priceEdit.stats.created, priceEdit.stats.updated], [0, 1]);
    }),
  );

  it(
    'survives 503s, an HTML page with 200, a hang and a pull cut short: no loss, no duplicates, resumes',
    withHub(ITEMS, async (hub, e, store) => {
      // Three failures in a row on one request: the shared client's three retries absorb them.
      e.setFaults({ hangNext: 1, failNext: 1, htmlNext: 1 });
      const { stats } = await runPull(hub.runtime, 'onec-product');
      assert.equal(stats.created, ITEMS);
      assert.deepEqual([e.stats().failed, e.stats().html, e.stats().hung], [1, 1, 1]);

      // A second catalog read dies after two pages (more 503s than the client retries)…
      e.catalog.edit('Catalog_Номенклатура', e.catalog.refs.product(1), { Description: 'Дрель 2' });
      e.catalog.edit('Catalog_Номенклатура', e.catalog.refs.product(50), { Description: 'Перфоратор 51' });
      e.setFaults({ failNextAfter: 2, failNext: 10 });
      await assert.rejects(runPull(hub.runtime, 'onec-product'), /HTTP 503/);
      // …and the next poll picks everything up, once.
      e.setFaults({ failNext: 0, failNextAfter: 0 });
      const resumed = await runPull(hub.runtime, 'onec-product');
      assert.equal(resumed.stats.created, 0);
      assert.equal(await count(store, 'records', 'product'), ITEMS);
      const names = await store.db
        .selectFrom('records')
        .select('data')
        .where('entity', '=', 'product')
        .where('id', 'in', [
          await hubId(store, 'product', e.catalog.refs.product(1)),
          await hubId(store, 'product', e.catalog.refs.product(50)),
        ])
        .execute();
      assert.deepEqual(names.map((r) => (JSON.parse(r.data) as { name: string }).name).sort(), [
        'Дрель 2',
        'Перфоратор 51',
      ]);
    }),
  );

  it(
    'objects deleted physically in 1C become deleted in the hub; a read that failed deletes nothing',
    withHub(ITEMS, async (hub, e, store) => {
      const live = async () => {
        const row = await store.db
          .selectFrom('records')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .where('entity', '=', 'product')
          .where('deleted', '=', 0)
          .executeTakeFirstOrThrow();
        return Number(row.n);
      };
      assert.equal((await runPull(hub.runtime, 'onec-product')).stats.created, ITEMS);
      // An administrator deletes two goods outright ("Непосредственное удаление" is DELETE over OData).
      const gone = [7, 33].map((n) => e.catalog.refs.product(n));
      for (const ref of gone) {
        const res = await fetch(`${e.url}/${encodeURIComponent('Catalog_Номенклатура')}(guid'${ref}')`, {
          method: 'DELETE',
          headers: { authorization: `Basic ${Buffer.from('Обмен:секрет').toString('base64')}` },
        });
        assert.equal(res.status, 204);
      }

      // A poll that dies after its first page knows nothing about the rest: it deletes nothing.
      e.setFaults({ failNextAfter: 1, failNext: 10 });
      await assert.rejects(runPull(hub.runtime, 'onec-product'), /HTTP 503/);
      e.setFaults({ failNext: 0, failNextAfter: 0 });
      assert.equal(await live(), ITEMS);

      const pulled = await runPull(hub.runtime, 'onec-product');
      assert.deepEqual([pulled.stats.updated, pulled.stats.created], [2, 0]);
      assert.equal(await live(), ITEMS - 2);
      for (const ref of gone) {
        const record = await store.db
          .selectFrom('records')
          .select(['deleted', 'data', 'version'])
          .where('entity', '=', 'product')
          .where('id', '=', await hubId(store, 'product', ref))
          .executeTakeFirstOrThrow();
        assert.equal(record.deleted, 1);
        assert.equal(record.version, 2);
        assert.ok((JSON.parse(record.data) as { name?: string }).name, 'the last content is kept');
      }
      // The deletion is told once: the next poll finds nothing new.
      const history = await count(store, 'record_history', 'product');
      const again = await runPull(hub.runtime, 'onec-product');
      assert.deepEqual([again.stats.read, again.stats.updated], [0, 0]);
      assert.equal(await count(store, 'record_history', 'product'), history);
    }),
  );

  it(
    "delivers an order to 1C posted, once even when the answer to the create is lost; a posting refusal is parked with 1C's message",
    withHub(10, async (hub, e, store) => {
      await runPull(hub.runtime, 'onec-product');
      await runPull(hub.runtime, 'onec-counterparty');
      await runPull(hub.runtime, 'onec-warehouse');
      await linkSite(
        store,
        'counterparty',
        await hubId(store, 'counterparty', e.catalog.refs.counterparty(2)),
        'c-2',
      );
      await linkSite(store, 'product', await hubId(store, 'product', e.catalog.refs.product(3)), 'p-3');
      await linkSite(store, 'warehouse', await hubId(store, 'warehouse', e.catalog.refs.warehouse(1)), 'w-1');

      const order = (number: string, lines: unknown[]) => ({
        externalId: `site-${number}`,
        data: { number, date: '2026-05-01T12:00:00', customerId: 'c-2', warehouseId: 'w-1', lines },
      });
      const line = { productId: 'p-3', quantity: 3, price: 250, amount: 750 };
      await hub.ingest('site', 'order', [order('1001', [line])]);
      // The create happens in 1C but its answer is lost: the client times out, the engine retries.
      e.setFaults({ dropAnswerNext: 1 });
      const first = await hub.deliver('orders-to-onec');
      assert.equal(first.retried, 1);
      (hub.clock as ManualClock).advance(60_000);
      const second = await hub.deliver('orders-to-onec');
      assert.equal(second.delivered, 1);
      const docs = e.catalog.created('Document_ЗаказКлиента');
      assert.equal(docs.length, 1, 'no duplicate document');
      const doc = docs[0]!;
      assert.equal(doc['Posted'], true);
      assert.equal(doc['Контрагент_Key'], e.catalog.refs.counterparty(2));
      assert.equal(doc['Склад_Key'], e.catalog.refs.warehouse(1));
      assert.equal(doc['Статус'], 'КОбеспечению');
      assert.deepEqual(
        (doc['Товары'] as Array<Record<string, unknown>>).map((r) => [
          r['Номенклатура_Key'],
          r['Количество'],
          r['Сумма'],
        ]),
        [[e.catalog.refs.product(3), 3, 750]],
      );
      const [row] = await hub.outbox('orders-to-onec');
      assert.equal(row?.state, 'delivered');

      await hub.ingest('site', 'order', [order('1002', [])]);
      const refused = await hub.deliver('orders-to-onec');
      assert.equal(refused.failed, 1);
      const parked = (await hub.outbox('orders-to-onec')).find((r) => r.state === 'failed');
      assert.equal(parked?.last_error_class, 'permanent');
      assert.match(
        parked?.last_error ?? '',
        /Не удалось провести "Заказ клиента УТ-000002 от 01\.05\.2026 12:00:00"!/,
      );
      assert.match(parked?.last_error ?? '', /Не введено ни одной строки в список "Товары"/);
    }),
  );
});
