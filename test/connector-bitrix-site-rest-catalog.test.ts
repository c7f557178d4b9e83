import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { type BitrixSite, startBitrixSite } from '../emulators/bitrix-site/index.ts';
import { bitrixSiteConnector } from '../src/connectors/bitrix-site/index.ts';
import { registerConnector } from '../src/connectors/registry.ts';
import { ManualClock } from '../src/core/clock.ts';
import { createHttpClient } from '../src/http/client.ts';
import type { Store } from '../src/store/store.ts';
import { createTestHub, hubConfig, type TestHub } from './support/hub.ts';
import { forEachDialect } from './support/stores.ts';

/**
 * `options.rest.catalog`: the catalog reaches a site over catalog.* (the Bitrix24 writers over the
 * site's client) into the same shop the CommerceML feed fills, keyed by the same XML_IDs.
 */

registerConnector(bitrixSiteConnector);

const LOGIN = 'obmen';
const PASSWORD = 'секрет';
const CODE = 'c4t4l0gw3bh00k77';

const ROUTES = ['product_group', 'price_type', 'warehouse', 'product', 'price', 'stock'];

function siteSystem(url: string, rest: Record<string, unknown>) {
  return {
    kind: 'bitrix-site',
    url,
    credentials: { login: LOGIN, password: PASSWORD, restWebhookCode: CODE },
    // The site was fed by 1C before: its XML_IDs are 1C's Ид.
    options: { xmlIdFrom: 'onec', rest },
  };
}

/** The connector alone (no hub) with these options, on the shared HTTP client without retries. */
function siteConnector(url: string, options: Record<string, unknown>) {
  return bitrixSiteConnector.create({
    systemName: 'shop',
    system: { ...siteSystem(url, {}), options } as never,
    http: createHttpClient({ system: 'shop', clock: new ManualClock(), maxRetries: 0, secrets: [CODE] }),
    log: pino({ level: 'silent' }),
    signal: new AbortController().signal,
  });
}

const goods = [1, 2, 3].map((i) => ({
  externalId: `1c-${i}`,
  data: {
    name: `Кроссовки ${i}`,
    article: `K-${i}`,
    description: `Модель ${i}`,
    vatRate: 22,
    groupId: 'g-shoes',
  },
}));

/** What 1C publishes: two price types' worth of references, goods, their prices and stock. */
async function publish(hub: TestHub, items = goods): Promise<void> {
  await hub.ingest('onec', 'product_group', [{ externalId: 'g-shoes', data: { name: 'Обувь' } }]);
  await hub.ingest('onec', 'price_type', [
    { externalId: 'pt-retail', data: { name: 'Розничная', currency: 'RUB' } },
  ]);
  await hub.ingest('onec', 'warehouse', [{ externalId: 'wh-main', data: { name: 'Основной склад' } }]);
  await hub.ingest('onec', 'product', items);
  await hub.ingest(
    'onec',
    'price',
    items.map((g, i) => ({
      externalId: `${g.externalId}|pt-retail`,
      data: { productId: g.externalId, priceTypeId: 'pt-retail', value: 1000 + i, currency: 'RUB' },
    })),
  );
  await hub.ingest(
    'onec',
    'stock',
    items.map((g, i) => ({
      externalId: `${g.externalId}|wh-main`,
      data: { productId: g.externalId, warehouseId: 'wh-main', quantity: 5 + i },
    })),
  );
}

async function deliverAll(hub: TestHub): Promise<Record<string, number>> {
  const delivered: Record<string, number> = {};
  for (const entity of ROUTES) delivered[entity] = (await hub.deliver(`${entity}-to-shop`)).delivered;
  return delivered;
}

forEachDialect('bitrix-site: the catalog over the site REST', (db) => {
  const withHub =
    (
      fn: (hub: TestHub, site: BitrixSite, store: Store) => Promise<void>,
      route: Record<string, unknown> = {},
    ) =>
    async () => {
      const site = await startBitrixSite({
        login: LOGIN,
        password: PASSWORD,
        importStepMs: 50,
        rest: { userId: 1, code: CODE, rate: 100, burst: 200 },
      });
      const store = await db().open();
      const hub = await createTestHub(
        store,
        hubConfig({
          systems: { onec: { kind: 'noop' }, shop: siteSystem(site.url, { catalog: true }) },
          routes: ROUTES.map((entity) => ({
            name: `${entity}-to-shop`,
            entity,
            target: 'shop',
            ...(entity === 'product' ? route : {}),
          })),
        }),
      );
      try {
        await fn(hub, site, store);
      } finally {
        await hub.close();
        await store.close();
        await site.close();
      }
    };

  it(
    'delivers goods, price types, warehouses, prices and stock by REST into the shop the feed keeps',
    withHub(async (hub, site, store) => {
      await publish(hub);
      const delivered = await deliverAll(hub);
      assert.deepEqual(
        delivered,
        { product_group: 1, price_type: 1, warehouse: 1, product: 3, price: 3, stock: 3 },
        JSON.stringify(await hub.outbox('stock-to-shop')),
      );
      const { state } = site;
      // Only the group went through the exchange (one package); the rest went by REST.
      assert.equal(state.stats.imports, 1);
      assert.equal(state.sections.get('g-shoes')?.name, 'Обувь');
      assert.ok((state.stats.rest.calls['catalog.product.add'] ?? 0) === 3, JSON.stringify(state.stats.rest));
      // The goods are the site's elements by 1C's Ид, with the REST fields beside the feed's.
      const sneaker = state.products.get('1c-2')!;
      assert.equal(sneaker.name, 'Кроссовки 2');
      assert.equal(sneaker.active, true);
      assert.equal(sneaker.sectionXmlId, 'g-shoes', 'placed in the section of its group');
      assert.equal(sneaker.fields?.['previewText'], 'Модель 2');
      assert.equal(sneaker.fields?.['vatId'], 5, 'the site\'s "НДС 22%" (catalog.vat.list)');
      assert.deepEqual(state.priceTypes.get('pt-retail'), {
        xmlId: 'pt-retail',
        name: 'Розничная',
        currency: undefined,
      });
      assert.equal(state.stores.get('wh-main')?.name, 'Основной склад');
      for (const [i, id] of ['1c-1', '1c-2', '1c-3'].entries()) {
        const offer = state.offers.get(id)!;
        assert.deepEqual(offer.prices['pt-retail'], { value: 1000 + i, currency: 'RUB' });
        assert.equal(offer.stores['wh-main'], 5 + i);
      }
      // The hub's links are the site's XML_IDs, as the feed's are: either path finds them again.
      const links = await store.db
        .selectFrom('links')
        .select(['entity', 'external_id'])
        .where('system', '=', 'shop')
        .orderBy('entity')
        .orderBy('external_id')
        .execute();
      assert.deepEqual(
        links.filter((l) => l.entity !== 'product_group').map((l) => `${l.entity}:${l.external_id}`),
        [
          'price:1c-1|pt-retail',
          'price:1c-2|pt-retail',
          'price:1c-3|pt-retail',
          'price_type:pt-retail',
          'product:1c-1',
          'product:1c-2',
          'product:1c-3',
          'stock:1c-1|wh-main',
          'stock:1c-2|wh-main',
          'stock:1c-3|wh-main',
          'warehouse:wh-main',
        ],
      );

      // Everything again, nothing changed: not one call reaches the site.
      const requests = state.stats.rest.requests;
      await publish(hub);
      const again = await deliverAll(hub);
      assert.deepEqual(again, {
        product_group: 0,
        price_type: 0,
        warehouse: 0,
        product: 0,
        price: 0,
        stock: 0,
      });
      assert.equal(state.stats.rest.requests, requests);

      // One good renamed, one price and one stock changed: updates, no new objects.
      const changed = goods.map((g) =>
        g.externalId === '1c-3' ? { ...g, data: { ...g.data, name: 'Кроссовки 3 (новые)' } } : g,
      );
      await hub.ingest('onec', 'product', changed);
      await hub.ingest('onec', 'price', [
        { externalId: '1c-1|pt-retail', data: { productId: '1c-1', priceTypeId: 'pt-retail', value: 1500 } },
      ]);
      await hub.ingest('onec', 'stock', [
        { externalId: '1c-2|wh-main', data: { productId: '1c-2', warehouseId: 'wh-main', quantity: 1 } },
      ]);
      assert.deepEqual(await deliverAll(hub), {
        product_group: 0,
        price_type: 0,
        warehouse: 0,
        product: 1,
        price: 1,
        stock: 1,
      });
      assert.equal(state.products.get('1c-3')?.name, 'Кроссовки 3 (новые)');
      assert.equal(state.products.size, 3);
      assert.equal(state.stats.rest.calls['catalog.product.add'], 3);
      assert.equal(state.stats.rest.calls['catalog.product.update'], 1);
      assert.equal(state.offers.get('1c-1')?.prices['pt-retail']?.value, 1500);
      assert.equal(state.offers.get('1c-2')?.stores['wh-main'], 1);
      assert.equal(state.stats.imports, 1);
    }),
  );

  it(
    'parks a good the site refuses with the site message; the rest of the batch goes on',
    withHub(
      async (hub, site) => {
        await publish(hub);
        const delivered = await deliverAll(hub);
        assert.equal(delivered.product, 2, JSON.stringify(site.state.snapshot().products));
        const outbox = await hub.outbox('product-to-shop');
        const parked = outbox.filter((row) => row.state === 'failed');
        assert.equal(parked.length, 1, JSON.stringify(outbox));
        assert.match(parked[0]!.last_error ?? '', /shop: product [0-9a-f-]+: .*Required fields: name/);
        assert.equal(parked[0]!.last_error_class, 'permanent');
        assert.deepEqual([...site.state.products.keys()].sort(), ['1c-1', '1c-3']);
        // Its price and stock wait for it; the others' arrived.
        assert.equal(site.state.offers.get('1c-2'), undefined);
        assert.equal(site.state.offers.get('1c-3')?.prices['pt-retail']?.value, 1002);
      },
      { mapping: { fields: { name: "article = 'K-2' ? ' ' : name" } } },
    ),
  );
});

describe('bitrix-site: REST catalog and the feed, one shop', () => {
  it('the connection test wants the catalog scope, and says where to tick it', async () => {
    const site = await startBitrixSite({
      login: LOGIN,
      password: PASSWORD,
      rest: { userId: 1, code: CODE, scopes: ['sale'] },
    });
    try {
      const connector = siteConnector(site.url, { xmlIdFrom: 'onec', rest: { catalog: true } });
      await assert.rejects(connector.check!(), (error: Error & { errorClass?: string; code?: string }) => {
        assert.equal(error.errorClass, 'config');
        assert.equal(error.code, 'NO_CATALOG_SCOPE');
        assert.match(
          error.message,
          /has no "catalog" scope \(it has: sale\); tick "Торговый каталог \(catalog\)"/,
        );
        assert.ok(!error.message.includes(CODE));
        return true;
      });
    } finally {
      await site.close();
    }
  });

  it('a good the feed wrote is updated over REST, not copied', async () => {
    const site = await startBitrixSite({
      login: LOGIN,
      password: PASSWORD,
      importStepMs: 50,
      rest: { userId: 1, code: CODE },
    });
    const connect = (rest: Record<string, unknown>) => siteConnector(site.url, { rest });
    const route = { name: 'product-to-shop', entity: 'product', target: 'shop' } as never;
    const item = (name: string, externalId: string | undefined) => ({
      recordId: 'rec-1',
      entity: 'product',
      version: 1,
      hash: name,
      deleted: false,
      externalId,
      data: { name },
      fields: { XML_ID: 'feed-1' },
    });
    try {
      const feed = connect({ orders: true });
      const [fed] = await feed.write!(route, [item('Из фида', undefined)]);
      assert.deepEqual(fed, { recordId: 'rec-1', ok: true, externalId: 'feed-1' });
      assert.equal(site.state.stats.imports, 1);
      const rest = connect({ catalog: true });
      const [updated] = await rest.write!(route, [item('По REST', 'feed-1')]);
      assert.deepEqual(updated, { recordId: 'rec-1', ok: true, externalId: 'feed-1' });
      assert.equal(site.state.products.size, 1);
      assert.equal(site.state.products.get('feed-1')?.name, 'По REST');
      assert.equal(site.state.stats.rest.calls['catalog.product.update'], 1);
      assert.equal(site.state.stats.rest.calls['catalog.product.add'] ?? 0, 0);
    } finally {
      await site.close();
    }
  });

  it('variants go by the feed in the same delivery; a price of a good the site lost is parked by name', async () => {
    const site = await startBitrixSite({
      login: LOGIN,
      password: PASSWORD,
      importStepMs: 50,
      rest: { userId: 1, code: CODE },
    });
    const connector = siteConnector(site.url, { rest: { catalog: true } });
    const item = (entity: string, recordId: string, data: Record<string, unknown>) => ({
      recordId,
      entity,
      version: 1,
      hash: recordId,
      deleted: false,
      externalId: undefined,
      data,
    });
    const route = (entity: string) => ({ name: `${entity}-to-shop`, entity, target: 'shop' }) as never;
    try {
      const outcomes = await connector.write!(route('product'), [
        item('product', 'shirt', { name: 'Рубашка' }),
        item('product', 'shirt-xl', { name: 'Рубашка XL', parentProductId: 'shirt' }),
      ]);
      assert.deepEqual(outcomes, [
        { recordId: 'shirt', ok: true, externalId: 'shirt' },
        { recordId: 'shirt-xl', ok: true, externalId: 'shirt#shirt-xl' },
      ]);
      // The good by REST, its variant as an offer of the feed's package.
      assert.equal(site.state.stats.rest.calls['catalog.product.add'], 1);
      assert.equal(site.state.stats.calls['catalog:init'], 1, 'one exchange (import.xml + offers.xml)');
      assert.equal(site.state.products.get('shirt#shirt-xl')?.parentXmlId, 'shirt');

      await connector.write!(route('price_type'), [item('price_type', 'retail', { name: 'Розничная' })]);
      const [lost] = await connector.write!(route('price'), [
        item('price', 'p-gone', { productId: 'gone', priceTypeId: 'retail', value: 10 }),
      ]);
      assert.equal(lost?.ok, false);
      const error = (lost as { error: { errorClass: string; code?: string; message: string } }).error;
      assert.equal(error.errorClass, 'permanent');
      assert.equal(error.code, 'NOT_ON_SITE');
      assert.match(
        error.message,
        /shop: price p-gone: the site has no product with XML_ID "gone" \(catalog\.product\.list\)/,
      );
    } finally {
      await site.close();
    }
  });
});
