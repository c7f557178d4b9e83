import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import { type BitrixSite, startBitrixSite } from '../emulators/bitrix-site/index.ts';
import { runCatalogExchange } from '../emulators/onec-exchange/index.ts';
import { bitrixSiteConnector } from '../src/connectors/bitrix-site/index.ts';
import { onecCommercemlConnector } from '../src/connectors/onec-commerceml/index.ts';
import { registerConnector, routeTargetIssues } from '../src/connectors/registry.ts';
import { createRuntime } from '../src/engine/runtime.ts';
import { ExchangeClient } from '../src/exchange/commerceml/index.ts';
import type { Store } from '../src/store/store.ts';
import { createTestHub, hubConfig, type TestHub } from './support/hub.ts';
import { externalIdOf, hubIdOf } from './support/links.ts';
import { forEachDialect } from './support/stores.ts';

/**
 * A 1C-Bitrix site fed from 1C through obmen gets goods WITH their properties, as when 1C feeds
 * the site directly: 1C pushes a real catalog (carono/php-commerceml's import.xml + offers.xml)
 * to obmen's CommerceML endpoint, every catalog entity is routed to the site emulator — with no
 * `ignoreRefs` — and the site ends up holding the iblock properties (a Справочник as a list with
 * its values) and each product's values under the property XML_IDs. Units are not waited for:
 * the site connector declares it takes them inline.
 */

registerConnector(bitrixSiteConnector);
registerConnector(onecCommercemlConnector);

const FIXTURES = '/work/shared/fixtures/commerceml';
const FILES = [
  { name: 'import.xml', path: join(FIXTURES, 'carono+php-commerceml__tests_xml_import.xml') },
  { name: 'offers.xml', path: join(FIXTURES, 'carono+php-commerceml__tests_xml_offers.xml') },
];
const ONEC = { login: 'Обмен', password: 'пароль-1С' };
const SITE = { login: 'obmen', password: 'секрет' };
/** In dependency order, so a round delivers everything without waits. */
const ENTITIES = ['product_group', 'property', 'price_type', 'warehouse', 'product', 'price', 'stock'];

/** The fixture's first good and its property values (1C Ид → value). */
const BOOTS = 'bd72d910-55bc-11d9-848a-00112f43529a';
const MAKER = 'bb14a4b8-6b17-11e0-9819-e0cb4ed5eed4';
const MAKER_VALUE = '444bbea3-6b18-11e0-9819-e0cb4ed5eed4';
const SUPPLIER = '444bbea0-6b18-11e0-9819-e0cb4ed5eed4';

interface Scenario {
  site: BitrixSite;
  hub: TestHub;
  push(): Promise<void>;
  deliverAll(): Promise<number>;
  close(): Promise<void>;
}

function routes(target: string) {
  return ENTITIES.map((entity) => ({ name: `${entity.replace('_', '-')}-to-${target}`, entity, target }));
}

async function startScenario(store: Store, siteOptions: Record<string, unknown>): Promise<Scenario> {
  const dir = mkdtempSync(join(tmpdir(), 'obmen-site-props-'));
  const site = await startBitrixSite({ ...SITE, stepDelayMs: 0 });
  const config = hubConfig({
    systems: {
      erp: {
        kind: 'onec-commerceml',
        credentials: ONEC,
        options: { dataDir: join(dir, 'exchange'), importStepSeconds: 0.5, encoding: 'utf-8' },
      },
      shop: { kind: 'bitrix-site', url: site.url, credentials: SITE, options: siteOptions },
    },
    routes: routes('shop'),
  });
  const hub = await createTestHub(store, config, {
    clock: { now: () => Date.now(), sleep: (ms) => new Promise((r) => setTimeout(r, ms)) },
  });
  const app: FastifyInstance = Fastify({ logger: false });
  for (const connector of hub.runtime.connectors.values()) await connector.mountInbound?.(app, hub.runtime);
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  return {
    site,
    hub,
    async push() {
      const client = new ExchangeClient({ url: `${address}/bitrix/admin/1c_exchange.php`, ...ONEC });
      await runCatalogExchange({ client, files: FILES });
    },
    async deliverAll() {
      // Groups wait for their parent groups: rounds until one delivers nothing.
      let total = 0;
      for (let round = 0; round < 6; round++) {
        let delivered = 0;
        for (const route of routes('shop')) delivered += (await hub.deliver(route.name)).delivered;
        total += delivered;
        if (delivered === 0) break;
      }
      return total;
    },
    async close() {
      await app.close();
      await hub.close();
      await site.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function unsettled(store: Store) {
  return store.db
    .selectFrom('outbox')
    .select(['route', 'record_id', 'state', 'last_error'])
    .where('state', 'in', ['waiting', 'failed', 'pending'])
    .execute();
}

forEachDialect('scenario: a 1C catalog with properties to a 1C-Bitrix site', (db) => {
  it('the site gets the goods with their property values under the property XML_IDs (1C’s, by xmlIdFrom); a second run sends nothing', async () => {
    const store = await db().open();
    const s = await startScenario(store, { xmlIdFrom: 'erp' });
    try {
      await s.push();
      assert.ok((await s.deliverAll()) > 0);
      assert.deepEqual(await unsettled(store), []);

      const state = s.site.state;
      assert.equal(state.sections.size, 22);
      assert.equal(state.properties.size, 10);
      assert.equal(state.priceTypes.size, 1);
      assert.equal(state.stores.size, 5);
      const maker = state.properties.get(MAKER);
      assert.equal(maker?.name, 'Производитель');
      assert.equal(maker?.propertyType, 'L');
      assert.deepEqual(maker?.enumValues.slice(0, 2), [
        { xmlId: MAKER_VALUE, value: 'Обувной комбинат' },
        { xmlId: '444bbea6-6b18-11e0-9819-e0cb4ed5eed4', value: 'АОЗТ Алекс' },
      ]);
      assert.equal(state.properties.get(SUPPLIER)?.propertyType, 'S');

      // Two goods and their five characteristics (offers `product#characteristic`).
      assert.equal(state.products.size, 7);
      assert.equal([...state.products.values()].filter((p) => p.parentXmlId === undefined).length, 2);
      const boots = state.products.get(BOOTS);
      assert.ok(boots, `the site holds ${[...state.products.keys()].join(', ')}`);
      assert.equal(boots.measureCode, '715'); // «пар», described in place by 1C
      assert.deepEqual(boots.properties?.[MAKER], [{ value: 'Обувной комбинат', valueXmlId: MAKER_VALUE }]);
      assert.deepEqual(boots.properties?.[SUPPLIER], [{ value: 'ООО Рога и копыта' }]);
      assert.equal(Object.keys(boots.properties ?? {}).length, 4);

      // Nothing changed in 1C: the same push again writes nothing to the site.
      const imports = state.stats.imports;
      await s.push();
      assert.equal(await s.deliverAll(), 0);
      assert.equal(state.stats.imports, imports);
    } finally {
      await s.close();
      await store.close();
    }
  });

  it('without xmlIdFrom the site knows properties by obmen’s ids, and the products’ values refer to those', async () => {
    const store = await db().open();
    const s = await startScenario(store, {});
    try {
      await s.push();
      await s.deliverAll();
      assert.deepEqual(await unsettled(store), []);
      const makerOnSite = await externalIdOf(
        store,
        'property',
        'shop',
        await hubIdOf(store, 'property', 'erp', MAKER),
      );
      const bootsOnSite = await externalIdOf(
        store,
        'product',
        'shop',
        await hubIdOf(store, 'product', 'erp', BOOTS),
      );
      assert.notEqual(makerOnSite, MAKER);
      const boots = s.site.state.products.get(bootsOnSite);
      assert.equal(s.site.state.properties.get(makerOnSite)?.name, 'Производитель');
      assert.deepEqual(boots?.properties?.[makerOnSite], [
        { value: 'Обувной комбинат', valueXmlId: MAKER_VALUE },
      ]);
    } finally {
      await s.close();
      await store.close();
    }
  });

  it('a product naming its unit by reference gets the hub’s unit inline, without a unit route', async () => {
    const store = await db().open();
    const s = await startScenario(store, {});
    try {
      await s.hub.ingest('erp', 'unit', [
        { externalId: 'u-796', data: { code: '796', name: 'Штука', shortName: 'шт' } },
      ]);
      await s.hub.ingest('erp', 'product', [
        { externalId: 'p-1', data: { name: 'Гвоздь', baseUnitId: 'u-796' } },
        // A unit the hub never received: its hub id means nothing to the site, so none is sent.
        { externalId: 'p-2', data: { name: 'Шуруп', baseUnitId: 'u-unknown' } },
      ]);
      assert.equal((await s.hub.deliver('product-to-shop')).delivered, 2);
      const onSite = async (id: string) =>
        s.site.state.products.get(
          await externalIdOf(store, 'product', 'shop', await hubIdOf(store, 'product', 'erp', id)),
        );
      assert.equal((await onSite('p-1'))?.measureCode, '796');
      assert.equal((await onSite('p-2'))?.name, 'Шуруп');
      assert.equal((await onSite('p-2'))?.measureCode, undefined);
    } finally {
      await s.close();
      await store.close();
    }
  });
});

it('config check refuses a route of an entity the target does not take, naming the route and what it takes', () => {
  const config = hubConfig({
    systems: { erp: { kind: 'noop' }, shop: { kind: 'bitrix-site', url: 'http://127.0.0.1:1' } },
    routes: [
      { name: 'product-to-shop', entity: 'product', target: 'shop' },
      { name: 'unit-to-shop', entity: 'unit', target: 'shop' },
    ],
  });
  const message =
    'routes[1].entity: route unit-to-shop sends unit to shop, a bitrix-site system, which cannot receive it; shop takes product_group, property, product, price_type, warehouse, price, stock, order, order_status. Remove the route or retarget it';
  assert.deepEqual(routeTargetIssues(config), [message]);
  // Start-up refuses it too, before any connector opens (the store is never touched).
  assert.throws(() => createRuntime({ config, store: undefined as unknown as Store, owner: 't' }), {
    message,
  });
});
