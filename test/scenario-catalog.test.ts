import assert from 'node:assert/strict';
import { afterEach, beforeEach, test } from 'node:test';
import { type BitrixSite, startBitrixSite } from '../emulators/bitrix-site/index.ts';
import { type Bitrix24Emulator, startBitrix24Emulator } from '../emulators/bitrix24/index.ts';
import {
  DEFAULT_USER,
  type OnecOdataEmulator,
  startOnecOdataEmulator,
} from '../emulators/onec-odata/index.ts';
import { runPull } from '../src/engine/pull.ts';
import { runMappingTest } from '../src/mapping/test-run.ts';
import type { Store } from '../src/store/store.ts';
import { createTestHub, hubConfig, type TestHub } from './support/hub.ts';
import { forEachDialect } from './support/stores.ts';

/**
 * The full catalog of a 1C УТ 11 base (OData emulator) goes to two 1C-Bitrix sites and Bitrix24
 * over real HTTP, each route with its own filter and mapping:
 *  - shop A gets every active good, with groups, prices and stock;
 *  - shop B (fed by 1C before obmen: its XML_IDs are 1C's Ref_Keys) only the goods of two groups,
 *    its prices with a 15 % markup, and 1C's full name as the element's description;
 *  - Bitrix24 only the goods whose group has a catalogue section in a lookup table keyed by
 *    1C group GUIDs, with that section set.
 * The test asserts what each target holds, that running everything again writes nothing, and
 * that a good moved between groups leaves (deactivated) and re-enters the targets it should.
 * No route sets `ignoreRefs`: the connectors declare what they do not take (a site takes units
 * inline; Bitrix24 writes no groups, units or properties), so goods do not wait for them.
 */

const GOODS = 60;
const GROUPS = 10;
/** 1C's product n is in group n % 10 (emulators/onec-odata/model.ts). */
const groupOf = (n: number) => n % GROUPS;
/** Retail (price type 0) and wholesale (1) prices of product n in the emulated base. */
const basePrice = (n: number, type: number) => {
  const base = 100 + (n % 1000) * 1.5;
  return type === 0 ? base : Math.round(base * 90) / 100;
};
const goods = Array.from({ length: GOODS }, (_, n) => n);
/** A good marked for deletion in 1C before the first exchange. */
const DELETED = 7;
const SHOP_B_GROUPS = [2, 5];
/** 1C group → Bitrix24 catalogue section. */
const B24_SECTIONS: Record<number, number> = { 0: 101, 1: 102, 2: 103 };
const MARKUP = 1.15;
/**
 * A price with shop B's markup as the mapping computes it: `value * 1.15` in floating point,
 * then JSONata's $round to kopecks — the decimal shift done on the number's text and ties to
 * even (docs.jsonata.org/numeric-functions#round). 182.5 × 1.15 is 209.87499999999997 in
 * floating point, so it becomes 209.87.
 */
const marked = (price: number) => {
  const shifted = Number(`${price * MARKUP}e2`);
  let cents = Math.round(shifted);
  if (Math.abs(cents - shifted) === 0.5 && Math.abs(cents % 2) === 1) cents -= 1;
  return Number(`${cents}e-2`);
};

const SOURCES = [
  ['ut-groups', 'product_group'],
  ['ut-products', 'product'],
  ['ut-price-types', 'price_type'],
  ['ut-warehouses', 'warehouse'],
  ['ut-prices', 'price'],
  ['ut-stock', 'stock'],
] as const;

function config(onec: OnecOdataEmulator, a: BitrixSite, b: BitrixSite, b24: Bitrix24Emulator) {
  const refs = onec.catalog.refs;
  const site = (s: BitrixSite, options?: Record<string, unknown>) => ({
    kind: 'bitrix-site',
    url: s.url,
    credentials: { login: 'obmen', password: 'секрет' },
    ...(options ? { options } : {}),
  });
  const siteRoute = (entity: string, target: string, extra: Record<string, unknown> = {}) => ({
    name: `${entity}-to-${target}`,
    entity,
    target,
    batchSize: 100,
    ...extra,
  });
  const sections = Object.fromEntries(
    Object.entries(B24_SECTIONS).map(([g, s]) => [refs.group(Number(g)), s]),
  );
  return hubConfig({
    systems: {
      ut: {
        kind: 'onec-odata',
        url: onec.publicationUrl,
        credentials: { login: DEFAULT_USER.login, password: DEFAULT_USER.password },
      },
      'shop-a': site(a),
      'shop-b': site(b, { xmlIdFrom: 'ut' }),
      b24: {
        kind: 'bitrix24',
        url: b24.url,
        credentials: { webhookUserId: '1', webhookCode: 'catalogcode' },
        limits: { rate: '100/s' },
      },
    },
    sources: SOURCES.map(([name, entity]) => ({ name, system: 'ut', entity, batchSize: 50 })),
    routes: [
      // Shop A: every active good.
      siteRoute('product_group', 'shop-a'),
      siteRoute('product', 'shop-a', { filter: '$not(deleted = true)' }),
      siteRoute('price_type', 'shop-a'),
      siteRoute('warehouse', 'shop-a'),
      siteRoute('price', 'shop-a'),
      siteRoute('stock', 'shop-a'),
      // Shop B: two groups (its group ids are 1C's, through xmlIdFrom), a markup, another description.
      siteRoute('product_group', 'shop-b'),
      siteRoute('product', 'shop-b', {
        filter: `$not(deleted = true) and groupId in [${SHOP_B_GROUPS.map((g) => `'${refs.group(g)}'`).join(', ')}]`,
        mapping: { fields: { description: 'fullName' } },
      }),
      siteRoute('price_type', 'shop-b'),
      siteRoute('price', 'shop-b', { mapping: { fields: { value: `$round(value * ${MARKUP}, 2)` } } }),
      // Bitrix24: goods whose 1C group has a section; the section is set from the same table.
      {
        name: 'product-to-b24',
        entity: 'product',
        target: 'b24',
        batchSize: 50,
        mapping: {
          filter: "$not(deleted = true) and $exists($lookup('sections', $externalId('ut', 'groupId')))",
          fields: {
            iblockSectionId: { lookup: 'sections', from: "$externalId('ut', 'groupId')" },
          },
          lookups: { sections: { map: sections } },
        },
      },
    ],
  });
}

const ROUTES = [
  'product_group-to-shop-a',
  'product_group-to-shop-b',
  'product-to-shop-a',
  'product-to-shop-b',
  'product-to-b24',
  'price_type-to-shop-a',
  'price_type-to-shop-b',
  'warehouse-to-shop-a',
  'price-to-shop-a',
  'price-to-shop-b',
  'stock-to-shop-a',
];

forEachDialect('scenario: the 1C catalog to two sites and Bitrix24', (db) => {
  let onec: OnecOdataEmulator;
  let shopA: BitrixSite;
  let shopB: BitrixSite;
  let b24: Bitrix24Emulator;
  let store: Store;
  let hub: TestHub;

  beforeEach(async () => {
    onec = await startOnecOdataEmulator({ items: GOODS, counterparties: 0 });
    shopA = await startBitrixSite({ login: 'obmen', password: 'секрет', importStepMs: 20 });
    shopB = await startBitrixSite({ login: 'obmen', password: 'секрет', importStepMs: 20 });
    b24 = await startBitrix24Emulator({ webhook: { userId: 1, code: 'catalogcode' } });
    store = await db().open();
    hub = await createTestHub(store, config(onec, shopA, shopB, b24));
  });
  afterEach(async () => {
    await hub.close();
    await store.close();
    for (const emulator of [onec, shopA, shopB, b24]) await emulator.close();
  });

  const refs = () => onec.catalog.refs;
  const pullAll = async () => {
    for (const [name] of SOURCES) {
      const { errors } = await runPull(hub.runtime, name);
      assert.deepEqual(errors, [], `pull ${name}`);
    }
  };
  /** Every route until nothing is due: dependencies (groups, price types) are delivered first. */
  const deliverAll = async () => {
    for (let round = 0; round < 4; round++) {
      let claimed = 0;
      for (const route of ROUTES) claimed += (await hub.deliver(route)).claimed;
      if (claimed === 0) return;
    }
  };
  const writes = () => ({
    shopA: shopA.state.stats.elementsWritten,
    shopB: shopB.state.stats.elementsWritten,
    importsA: shopA.state.stats.imports,
    importsB: shopB.state.stats.imports,
    b24: b24.stats().writes,
  });
  const b24Products = () => [...b24.state.table('product').values()];
  const hubIdOf = async (entity: string, ref: string) =>
    (
      await store.db
        .selectFrom('links')
        .select('record_id')
        .where('entity', '=', entity)
        .where('system', '=', 'ut')
        .where('external_id', '=', ref)
        .executeTakeFirstOrThrow()
    ).record_id;
  const moveToGroup = (n: number, group: number) =>
    onec.catalog.edit('Catalog_Номенклатура', refs().product(n), { Parent_Key: refs().group(group) });

  test('each target holds exactly its share; a second run writes nothing; a good changing groups leaves and comes back', async () => {
    onec.catalog.edit('Catalog_Номенклатура', refs().product(DELETED), { DeletionMark: true });
    await pullAll();
    await deliverAll();

    // Shop A: every active good (hub ids as XML_ID), in its section, with both prices and stock.
    const active = goods.filter((n) => n !== DELETED);
    assert.equal(shopA.state.sections.size, GROUPS);
    assert.equal(shopA.state.products.size, active.length, 'the deleted good never reached shop A');
    for (const n of active) {
      const id = await hubIdOf('product', refs().product(n));
      const element = shopA.state.products.get(id);
      assert.equal(element?.active, true, `good ${n} on shop A`);
      assert.equal(element?.sectionXmlId, await hubIdOf('product_group', refs().group(groupOf(n))));
      const offer = shopA.state.offers.get(id);
      const retail = await hubIdOf('price_type', refs().priceType(0));
      assert.equal(offer?.prices[retail]?.value, basePrice(n, 0));
      assert.equal(Object.keys(offer?.stores ?? {}).length, 3, 'stock on three warehouses');
    }
    // The deleted good's prices and stock wait for it, and say why.
    const deletedId = await hubIdOf('product', refs().product(DELETED));
    const waitingA = await store.db
      .selectFrom('outbox')
      .select(['route', 'last_error'])
      .where('state', '=', 'waiting')
      .where('route', 'in', ['price-to-shop-a', 'stock-to-shop-a'])
      .execute();
    assert.equal(waitingA.length, 2 + 3);
    for (const row of waitingA) {
      assert.match(
        row.last_error ?? '',
        new RegExp(`filter leaves product ${deletedId} \\(route product-to-shop-a\\) out of shop-a`),
      );
    }

    // Shop B: the goods of two groups only, keyed by 1C's Ref_Key, 1C's full name as the
    // description, prices with the markup.
    const inB = active.filter((n) => SHOP_B_GROUPS.includes(groupOf(n)));
    assert.deepEqual([...shopB.state.products.keys()].sort(), inB.map((n) => refs().product(n)).sort());
    for (const n of inB) {
      const row = onec.catalog.get('Catalog_Номенклатура', refs().product(n))!;
      const element = shopB.state.products.get(refs().product(n))!;
      assert.equal(element.name, row['Description']);
      assert.equal(
        element.description,
        row['НаименованиеПолное'],
        'the full name is the description on shop B',
      );
      assert.equal(element.sectionXmlId, refs().group(groupOf(n)));
      const offer = shopB.state.offers.get(refs().product(n));
      for (const type of [0, 1]) {
        assert.equal(offer?.prices[refs().priceType(type)]?.value, marked(basePrice(n, type)));
      }
    }
    assert.equal(shopB.state.offers.size, inB.length, 'no prices of goods shop B does not sell');
    const leftOutB = await store.db
      .selectFrom('outbox')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('route', '=', 'price-to-shop-b')
      .where('state', '=', 'waiting')
      .executeTakeFirstOrThrow();
    assert.equal(Number(leftOutB.n), (GOODS - inB.length) * 2);

    // Bitrix24: the goods of the three mapped groups, each in its section.
    const inB24 = active.filter((n) => B24_SECTIONS[groupOf(n)] !== undefined);
    const products = b24Products();
    assert.equal(products.length, inB24.length);
    for (const n of inB24) {
      const row = onec.catalog.get('Catalog_Номенклатура', refs().product(n))!;
      const held = products.find((p) => p['name'] === row['Description']);
      assert.ok(held, `good ${n} in Bitrix24`);
      assert.equal(held['iblockSectionId'], B24_SECTIONS[groupOf(n)]);
      assert.equal(held['active'], 'Y');
      assert.equal(held['xmlId'], await hubIdOf('product', refs().product(n)));
    }

    // Nothing changed: reading 1C again and running every route writes nothing anywhere.
    const before = writes();
    const versions = await store.db
      .selectFrom('records')
      .select((eb) => eb.fn.sum<number>('version').as('v'))
      .executeTakeFirstOrThrow();
    await pullAll();
    await deliverAll();
    assert.deepEqual(writes(), before, 'no write to any target');
    const after = await store.db
      .selectFrom('records')
      .select((eb) => eb.fn.sum<number>('version').as('v'))
      .executeTakeFirstOrThrow();
    assert.equal(Number(after.v), Number(versions.v), 'no new version of any record');

    // Good 12 moves from group 2 (shop B, Bitrix24) to group 3 (neither): shop A updates its
    // section, shop B and Bitrix24 deactivate it. Its prices on shop B stay as they are.
    const moved = 12;
    moveToGroup(moved, 3);
    await pullAll();
    const beforeMove = writes();
    await deliverAll();
    const id12 = await hubIdOf('product', refs().product(moved));
    assert.equal(
      shopA.state.products.get(id12)?.sectionXmlId,
      await hubIdOf('product_group', refs().group(3)),
    );
    assert.equal(shopA.state.products.get(id12)?.active, true);
    assert.equal(shopB.state.products.get(refs().product(moved))?.active, false, 'deactivated on shop B');
    const held12 = () => b24Products().find((p) => p['xmlId'] === id12);
    assert.equal(held12()?.['active'], 'N', 'deactivated in Bitrix24');
    assert.equal(b24.stats().writes - beforeMove.b24, 1, 'one write to Bitrix24');
    assert.equal(shopB.state.stats.elementsWritten - beforeMove.shopB, 1, 'one element written to shop B');
    assert.equal(b24Products().length, inB24.length, 'nothing deleted or added in Bitrix24');

    // Once more with nothing changed: still nothing written.
    const settled = writes();
    await pullAll();
    await deliverAll();
    assert.deepEqual(writes(), settled);

    // Back to group 2: active again on shop B and in Bitrix24, in its section.
    moveToGroup(moved, 2);
    await pullAll();
    await deliverAll();
    assert.equal(shopB.state.products.get(refs().product(moved))?.active, true, 're-activated on shop B');
    assert.equal(held12()?.['active'], 'Y', 're-activated in Bitrix24');
    assert.equal(held12()?.['iblockSectionId'], B24_SECTIONS[2]);
    assert.equal(shopB.state.products.size, inB.length);

    // A good of group 4 moves into group 5: shop B gets it for the first time, with its prices
    // (they waited for it).
    const joining = 4;
    moveToGroup(joining, 5);
    await pullAll();
    await deliverAll();
    assert.equal(shopB.state.products.get(refs().product(joining))?.active, true);
    assert.equal(
      shopB.state.offers.get(refs().product(joining))?.prices[refs().priceType(0)]?.value,
      marked(basePrice(joining, 0)),
      'the prices that waited for it follow',
    );
  });
});

forEachDialect('scenario: trying the catalog mappings on pulled records', (db) => {
  test('mapping test shows what a delivery would do: target ids, the section lookup by 1C group, a wrong reference named', async () => {
    const onec = await startOnecOdataEmulator({ items: 20, counterparties: 0 });
    const shopA = await startBitrixSite({ login: 'obmen', password: 'секрет', importStepMs: 20 });
    const shopB = await startBitrixSite({ login: 'obmen', password: 'секрет', importStepMs: 20 });
    const b24 = await startBitrix24Emulator({ webhook: { userId: 1, code: 'catalogcode' } });
    const store = await db().open();
    const cfg = config(onec, shopA, shopB, b24);
    const hub = await createTestHub(store, cfg);
    try {
      for (const name of ['ut-groups', 'ut-products']) await runPull(hub.runtime, name);
      const refs = onec.catalog.refs;
      const id = (
        await store.db
          .selectFrom('links')
          .select('record_id')
          .where('system', '=', 'ut')
          .where('external_id', '=', refs.product(12))
          .executeTakeFirstOrThrow()
      ).record_id;
      const tryRoute = async (route: string, config = cfg) =>
        (await runMappingTest({ config, store, route, recordId: id }))[0]!;

      const b24Run = await tryRoute('product-to-b24');
      assert.deepEqual(b24Run.filter, { passed: true });
      assert.deepEqual(b24Run.output, { kind: 'ok', fields: { iblockSectionId: B24_SECTIONS[2] } });

      // Shop B holds no groups yet: the group reference is still a hub id, so the filter (written
      // in shop B's ids, 1C's) does not pass, and the dry run says why.
      const before = await tryRoute('product-to-shop-b');
      assert.deepEqual(before.filter, { passed: false });
      assert.ok(before.notes.some((n) => /without an id in shop-b are shown as hub ids: groupId/.test(n)));
      await hub.deliver('product_group-to-shop-b');
      const after = await tryRoute('product-to-shop-b');
      assert.deepEqual(after.filter, { passed: true }, 'with the groups on shop B the record passes');
      assert.equal(after.input['groupId'], refs.group(2));

      const wrong = {
        ...cfg,
        routes: cfg.routes.map((r) =>
          r.name === 'product-to-b24'
            ? {
                ...r,
                mapping: {
                  extends: 'default' as const,
                  fields: { X: "$externalId('ut', 'parent')" },
                  lookups: {},
                },
              }
            : r,
        ),
      };
      const broken = await tryRoute('product-to-b24', wrong);
      assert.equal(broken.output.kind, 'error');
      assert.match(
        broken.output.kind === 'error' ? broken.output.message : '',
        /"parent" is not a reference field of product \(its references: groupId, baseUnitId/,
      );
    } finally {
      await hub.close();
      await store.close();
      for (const emulator of [onec, shopA, shopB, b24]) await emulator.close();
    }
  });
});
