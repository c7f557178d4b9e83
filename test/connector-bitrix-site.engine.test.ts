import assert from 'node:assert/strict';
import { it } from 'node:test';
import { type BitrixSite, startBitrixSite } from '../emulators/bitrix-site/index.ts';
import { bitrixSiteConnector } from '../src/connectors/bitrix-site/index.ts';
import { registerConnector } from '../src/connectors/registry.ts';
import { runPull } from '../src/engine/pull.ts';
import type { Store } from '../src/store/store.ts';
import { createTestHub, hubConfig, type TestHub } from './support/hub.ts';
import { hubIdOf } from './support/links.ts';
import { forEachDialect } from './support/stores.ts';

registerConnector(bitrixSiteConnector);

const LOGIN = 'obmen';
const PASSWORD = 'секрет';
const CATALOG_ROUTES = ['product', 'price_type', 'price', 'stock'];

function config(a: BitrixSite, b: BitrixSite, bOptions?: Record<string, unknown>) {
  const site = (s: BitrixSite) => ({
    kind: 'bitrix-site',
    url: s.url,
    credentials: { login: LOGIN, password: PASSWORD },
    ...(s === b && bOptions ? { options: bOptions } : {}),
  });
  return hubConfig({
    systems: { onec: { kind: 'noop' }, 'shop-a': site(a), 'shop-b': site(b) },
    sources: [{ name: 'shop-a-orders', system: 'shop-a', entity: 'order', batchSize: 2 }],
    routes: [
      ...['shop-a', 'shop-b'].flatMap((target) =>
        CATALOG_ROUTES.map((entity) => ({ name: `${entity}-to-${target}`, entity, target })),
      ),
      { name: 'order-to-shop-a', entity: 'order', target: 'shop-a' },
    ],
  });
}

/** Delivers every catalog route of both sites until nothing is due (dependencies go first). */
async function deliverCatalog(hub: TestHub): Promise<void> {
  for (let round = 0; round < 3; round++) {
    for (const target of ['shop-a', 'shop-b'])
      for (const entity of CATALOG_ROUTES) await hub.deliver(`${entity}-to-${target}`);
  }
}

async function ingestCatalog(hub: TestHub, priceShift = 0): Promise<void> {
  await hub.ingest('onec', 'price_type', [
    { externalId: 'retail', data: { name: 'Розничная', currency: 'RUB' } },
  ]);
  await hub.ingest(
    'onec',
    'product',
    [1, 2, 3].map((i) => ({ externalId: `1c-${i}`, data: { name: `Кроссовки ${i}`, article: `K-${i}` } })),
  );
  await hub.ingest(
    'onec',
    'price',
    [1, 2, 3].map((i) => ({
      externalId: `1c-${i}|retail`,
      data: { productId: `1c-${i}`, priceTypeId: 'retail', value: 1000 * i + priceShift, currency: 'RUB' },
    })),
  );
  await hub.ingest(
    'onec',
    'stock',
    [1, 2, 3].map((i) => ({ externalId: `1c-${i}|*`, data: { productId: `1c-${i}`, quantity: i * 5 } })),
  );
}

forEachDialect('bitrix-site through the engine', (db) => {
  const withHub =
    (fn: (hub: TestHub, a: BitrixSite, b: BitrixSite, store: Store) => Promise<void>) => async () => {
      const a = await startBitrixSite({ login: LOGIN, password: PASSWORD, importStepMs: 50 });
      const b = await startBitrixSite({ login: LOGIN, password: PASSWORD, importStepMs: 50, zip: false });
      const store = await db().open();
      const hub = await createTestHub(store, config(a, b));
      try {
        await fn(hub, a, b, store);
      } finally {
        await hub.close();
        await store.close();
        await a.close();
        await b.close();
      }
    };

  it('options.xmlIdFrom: a site 1C fed before keeps its elements, keyed by the 1C Ид', async () => {
    const a = await startBitrixSite({ login: LOGIN, password: PASSWORD, importStepMs: 50 });
    const b = await startBitrixSite({ login: LOGIN, password: PASSWORD, importStepMs: 50 });
    const store = await db().open();
    const hub = await createTestHub(store, config(a, b, { xmlIdFrom: 'onec' }));
    try {
      await ingestCatalog(hub);
      await deliverCatalog(hub);
      for (const i of [1, 2, 3]) {
        const hubId = await hubIdOf(store, 'product', 'onec', `1c-${i}`);
        assert.equal(b.state.products.get(`1c-${i}`)?.name, `Кроссовки ${i}`);
        assert.equal(b.state.products.has(hubId), false, 'no element under the hub id');
        assert.deepEqual(b.state.offers.get(`1c-${i}`)?.prices['retail'], {
          value: 1000 * i,
          currency: 'RUB',
        });
        assert.equal(await hubIdOf(store, 'product', 'shop-b', `1c-${i}`), hubId, 'the link is the 1C Ид');
        // The site without the option still gets hub ids.
        assert.equal(a.state.products.get(hubId)?.name, `Кроссовки ${i}`);
      }
    } finally {
      await hub.close();
      await store.close();
      await a.close();
      await b.close();
    }
  });

  it(
    'feeds two sites from canonical records; a second delivery with nothing changed writes nothing',
    withHub(async (hub, a, b, store) => {
      await ingestCatalog(hub);
      await deliverCatalog(hub);
      for (const s of [a, b]) {
        for (const i of [1, 2, 3]) {
          const xmlId = await hubIdOf(store, 'product', 'onec', `1c-${i}`);
          const product = s.state.products.get(xmlId);
          assert.equal(product?.name, `Кроссовки ${i}`, `product ${i} on ${s.url}`);
          // The XML_ID on the site is the id obmen reported, stored as the link for that site.
          const offer = s.state.offers.get(xmlId);
          const priceType = await hubIdOf(store, 'price_type', 'onec', 'retail');
          assert.deepEqual(offer?.prices[priceType], { value: 1000 * i, currency: 'RUB' });
          assert.equal(offer?.quantity, i * 5);
        }
        assert.equal(s.state.products.size, 3);
      }
      const shopALinks = await store.db
        .selectFrom('links')
        .select(['external_id'])
        .where('entity', '=', 'product')
        .where('system', '=', 'shop-a')
        .execute();
      assert.equal(shopALinks.length, 3);

      const imports = [a.state.stats.imports, b.state.stats.imports];
      const calls = [a, b].map((s) => Object.values(s.state.stats.calls).reduce((x, y) => x + y, 0));
      await ingestCatalog(hub);
      await deliverCatalog(hub);
      assert.deepEqual([a.state.stats.imports, b.state.stats.imports], imports, 'nothing changed: no import');
      assert.deepEqual(
        [a, b].map((s) => Object.values(s.state.stats.calls).reduce((x, y) => x + y, 0)),
        calls,
        'nothing changed: not a single exchange call',
      );

      // One price changes: only prices go again, to both sites.
      await ingestCatalog(hub, 1);
      await deliverCatalog(hub);
      const id = await hubIdOf(store, 'product', 'onec', '1c-2');
      const priceType = await hubIdOf(store, 'price_type', 'onec', 'retail');
      assert.equal(b.state.offers.get(id)?.prices[priceType]?.value, 2001);
      assert.equal(a.state.stats.imports, imports[0]! + 1);
    }),
  );

  it(
    'pulls site orders (success only after ingest), survives a failure between query and success, pushes statuses back',
    withHub(async (hub, a, _b, store) => {
      await ingestCatalog(hub);
      await deliverCatalog(hub);
      await fetch(`${a.url}/_orders/generate?count=3`, { method: 'POST' });

      // The confirmation fails (as if obmen died right after storing the orders).
      a.setFaults({ failNext: { 'sale:success': 1 } });
      await assert.rejects(runPull(hub.runtime, 'shop-a-orders'), /mode=success/);
      assert.equal(a.state.stats.ordersConfirmed, 0);
      const stored = await store.db
        .selectFrom('records')
        .select('id')
        .where('entity', '=', 'order')
        .execute();
      assert.equal(stored.length, 3, 'the orders are in the hub although the site was not told');

      // Next pull: the site re-sends the same orders; nothing is duplicated, then it is confirmed.
      const again = await runPull(hub.runtime, 'shop-a-orders');
      assert.equal(again.stats.read, 3);
      assert.equal(again.stats.created, 0);
      assert.equal(again.stats.unchanged, 3);
      assert.equal(a.state.stats.ordersConfirmed, 1);
      const after = await store.db.selectFrom('records').select('id').where('entity', '=', 'order').execute();
      assert.equal(after.length, 3);
      const third = await runPull(hub.runtime, 'shop-a-orders');
      assert.equal(third.stats.read, 0, 'confirmed orders are not sent again');

      // Order lines point at the hub's products: the site's XML_IDs were obmen's links.
      const orderId = await hubIdOf(store, 'order', 'shop-a', '1');
      const row = await store.db
        .selectFrom('records')
        .select('data')
        .where('entity', '=', 'order')
        .where('id', '=', orderId)
        .executeTakeFirstOrThrow();
      const order = JSON.parse(row.data) as Record<string, unknown> & { lines: Array<{ productId: string }> };
      const productIds = await store.db
        .selectFrom('records')
        .select('id')
        .where('entity', '=', 'product')
        .execute();
      for (const line of order.lines) assert.ok(productIds.some((p) => p.id === line.productId));
      // The buyer arrives with the order: the customer reference points at a stored counterparty.
      const customerId = String(order['customerId']);
      const buyer = await store.db
        .selectFrom('records')
        .select(['data'])
        .where('entity', '=', 'counterparty')
        .where('id', '=', customerId)
        .executeTakeFirst();
      assert.ok(buyer, `the buyer ${customerId} is a counterparty record`);
      assert.ok((JSON.parse(buyer.data) as { name?: string }).name, 'the buyer has a name');

      // 1C changes the status (after matching, 1C knows the order, the buyer and the goods).
      const link = (entity: string, recordId: string, externalId: string) =>
        store.db
          .insertInto('links')
          .values({
            entity,
            record_id: recordId,
            system: 'onec',
            external_id: externalId,
            last_hash: null,
            updated_at: Date.now(),
          })
          .execute();
      await link('order', orderId, 'zakaz-1');
      await link('counterparty', String(order.customerId), 'buyer-1');
      const oneCIds = await store.db
        .selectFrom('links')
        .select(['record_id', 'external_id'])
        .where('entity', '=', 'product')
        .where('system', '=', 'onec')
        .execute();
      const oneCId = (hubId: string) => oneCIds.find((l) => l.record_id === hubId)!.external_id;
      await hub.ingest('onec', 'order', [
        {
          externalId: 'zakaz-1',
          data: {
            ...order,
            customerId: 'buyer-1',
            lines: order.lines.map((l) => ({ ...l, productId: oneCId(l.productId) })),
            status: 'F',
            paid: true,
            shipped: true,
          },
        },
      ]);
      const stats = await hub.deliver('order-to-shop-a');
      assert.ok(stats.delivered >= 1, JSON.stringify(stats));
      const onSite = a.state.orders.get(1)!;
      assert.equal(onSite.statusId, 'F');
      assert.equal(onSite.payed, true);
      assert.equal(onSite.deducted, true);
      const echo = await runPull(hub.runtime, 'shop-a-orders');
      assert.equal(echo.stats.read, 0, 'a change made by the exchange is not offered back');
      const outbox = await hub.outbox('order-to-shop-a');
      assert.ok(
        outbox.every((r) => r.state === 'delivered'),
        JSON.stringify(outbox),
      );
    }),
  );
});
