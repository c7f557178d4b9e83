import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type BitrixSite, type BitrixSiteOptions, startBitrixSite } from '../emulators/bitrix-site/index.ts';

/**
 * The site emulator's catalog.* (the Bitrix24 emulator's methods over the site's shop): the
 * elements, price types, stores and offers the feed keeps by XML_ID are what REST lists and
 * changes, with the documented field names and numeric error codes.
 */

const CODE = 'k3x9q2m7w4t8z1v6';

async function withSite(options: Partial<BitrixSiteOptions>, fn: (site: BitrixSite) => Promise<void>) {
  const site = await startBitrixSite({
    login: 'exchange',
    password: 'пароль',
    importStepMs: 50,
    rest: { userId: 1, code: CODE },
    ...options,
  });
  try {
    // What a feed leaves: a section, a good in it with a retail price, a store with its stock.
    const { state } = site;
    state.sections.set('sec-1', {
      xmlId: 'sec-1',
      name: 'Обувь',
      parentXmlId: undefined,
      active: true,
      timestampX: 0,
    });
    state.products.set('p1', {
      xmlId: 'p1',
      name: 'Ботинки',
      article: 'P1',
      sectionXmlId: 'sec-1',
      description: 'Кожаные',
      parentXmlId: undefined,
      active: true,
      timestampX: 0,
    });
    state.priceTypes.set('retail', { xmlId: 'retail', name: 'Розничная', currency: 'RUB' });
    state.stores.set('wh-1', { xmlId: 'wh-1', name: 'Склад 1' });
    state.offer('p1').prices['retail'] = { value: 1000, currency: 'RUB' };
    state.offer('p1').stores['wh-1'] = 4;
    await fn(site);
  } finally {
    await site.close();
  }
}

async function call(site: BitrixSite, method: string, params: unknown = {}) {
  const res = await fetch(`${site.restUrl}${method}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(params),
  });
  // biome-ignore lint/suspicious/noExplicitAny: answers are read field by field and checked by the assertions
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

describe('1C-Bitrix site emulator: REST catalog.* over the shop', () => {
  it('lists the goods the feed wrote, by XML_ID, with numeric ids and camelCase fields', async () => {
    await withSite({}, async (site) => {
      const catalogs = await call(site, 'catalog.catalog.list');
      assert.deepEqual(catalogs.body['result'].catalogs, [
        { id: 2, iblockId: 2, name: 'Каталог товаров', productIblockId: null, skuPropertyId: null },
      ]);
      const noIblock = await call(site, 'catalog.product.list', { select: ['id'] });
      assert.equal(noIblock.status, 400);
      assert.deepEqual(noIblock.body, { error: 0, error_description: 'Required filter fields: iblockId' });
      const listed = await call(site, 'catalog.product.list', {
        select: ['id', 'iblockId', 'xmlId'],
        filter: { iblockId: 2, xmlId: ['p1', 'nope'] },
      });
      assert.equal(listed.body['total'], 1);
      const [p1] = listed.body['result'].products;
      assert.equal(p1.xmlId, 'p1');
      assert.equal(p1.name, 'Ботинки');
      assert.equal(p1.active, 'Y');
      assert.equal(p1.detailText, 'Кожаные');
      assert.equal(typeof p1.id, 'number');
      assert.equal(typeof p1.iblockSectionId, 'number');
      assert.match(p1.timestampX, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+03:00$/);

      // An update over REST changes the feed's element; fields the feed lacks are kept beside it.
      const updated = await call(site, 'catalog.product.update', {
        id: p1.id,
        fields: { name: 'Ботинки зимние', weight: 900, active: 'N' },
      });
      assert.equal(updated.status, 200);
      const element = site.state.products.get('p1')!;
      assert.equal(element.name, 'Ботинки зимние');
      assert.equal(element.active, false);
      assert.equal(element.sectionXmlId, 'sec-1');
      assert.equal(element.fields?.['weight'], 900);
      assert.equal(site.state.products.size, 1);
      assert.equal(
        (await call(site, 'catalog.product.get', { id: p1.id })).body['result'].product.weight,
        900,
      );
    });
  });

  it('answers the documented errors with numeric codes', async () => {
    await withSite({}, async (site) => {
      const otherIblock = await call(site, 'catalog.product.add', { fields: { iblockId: 25, name: 'X' } });
      assert.equal(otherIblock.status, 400);
      assert.deepEqual(otherIblock.body, {
        error: 200040300000,
        error_description: 'Information block with the specified identifier does not exist',
      });
      const noName = await call(site, 'catalog.product.add', { fields: { iblockId: 2, name: ' ' } });
      assert.deepEqual(noName.body, { error: 0, error_description: 'Required fields: name' });
      const noFields = await call(site, 'catalog.product.add', {});
      assert.deepEqual(noFields.body, {
        error: 100,
        error_description: 'Parameter fields is not specified or is empty',
      });
      const missing = await call(site, 'catalog.product.get', { id: 999 });
      assert.deepEqual(missing.body, { error: 0, error_description: 'Product is not exists' });
      // Balances are read-only; documents change them.
      const direct = await call(site, 'catalog.storeproduct.add', {
        fields: { productId: 1, storeId: 1, amount: 5 },
      });
      assert.equal(direct.status, 404);
      assert.equal(direct.body['error'], 'ERROR_METHOD_NOT_FOUND');
    });
  });

  it('keeps prices and stock in the offers the feed fills; documents move stock in one batch', async () => {
    await withSite({}, async (site) => {
      const [p1] = (
        await call(site, 'catalog.product.list', { select: ['id'], filter: { iblockId: 2, xmlId: 'p1' } })
      ).body['result'].products;
      const prices = (await call(site, 'catalog.price.list', { filter: { productId: p1.id } })).body['result']
        .prices;
      assert.equal(prices.length, 1);
      assert.equal(prices[0].price, 1000);
      const priceTypes = (await call(site, 'catalog.priceType.list')).body['result'].priceTypes;
      assert.deepEqual(
        priceTypes.map((t: { xmlId: string; name: string }) => [t.xmlId, t.name]),
        [['retail', 'Розничная']],
      );
      assert.equal(priceTypes[0].id, prices[0].catalogGroupId);
      const update = await call(site, 'catalog.price.update', { id: prices[0].id, fields: { price: 1200 } });
      assert.equal(update.status, 200);
      assert.equal(site.state.offers.get('p1')?.prices['retail']?.value, 1200);

      const stores = (await call(site, 'catalog.store.list')).body['result'].stores;
      const store = stores.find((s: { xmlId: string }) => s.xmlId === 'wh-1');
      const batch = await call(site, 'batch', {
        halt: 0,
        cmd: {
          doc: 'catalog.document.add?fields[docType]=S&fields[currency]=RUB&fields[responsibleId]=1',
          e0: `catalog.document.element.add?fields[docId]=$result[doc][document][id]&fields[elementId]=${p1.id}&fields[amount]=3&fields[storeTo]=${store.id}`,
          conduct: 'catalog.document.conduct?id=$result[doc][document][id]',
        },
      });
      assert.deepEqual(batch.body['result'].result_error, []);
      assert.equal(site.state.offers.get('p1')?.stores['wh-1'], 7);
      const balances = (await call(site, 'catalog.storeproduct.list', { filter: { productId: p1.id } })).body[
        'result'
      ].storeProducts;
      assert.deepEqual(
        balances.map((b: { storeId: number; amount: number }) => [b.storeId, b.amount]),
        [[store.id, 7]],
      );
      const vats = (await call(site, 'catalog.vat.list')).body['result'].vats;
      assert.ok(vats.some((v: { name: string; rate: number }) => v.name === 'НДС 22%' && v.rate === 22));
    });
  });

  it('refuses catalog.* to a webhook without the catalog scope', async () => {
    await withSite({ rest: { userId: 1, code: CODE, scopes: ['sale'] } }, async (site) => {
      const refused = await call(site, 'catalog.product.list', { filter: { iblockId: 2 } });
      assert.equal(refused.status, 401);
      assert.equal(refused.body['error'], 'insufficient_scope');
    });
  });
});
