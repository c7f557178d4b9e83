import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { type BitrixSite, startBitrixSite } from '../emulators/bitrix-site/index.ts';
import type { RouteConfig, SourceConfig, SystemConfig } from '../src/config/schema.ts';
import { bitrixSiteConnector, resolveBitrixSiteSystem } from '../src/connectors/bitrix-site/index.ts';
import { ManualClock } from '../src/core/clock.ts';
import type { Connector, DeliveryItem, SourceItem } from '../src/core/connector.ts';
import type { ObmenError } from '../src/core/errors.ts';
import { createHttpClient } from '../src/http/client.ts';
import { defineConnectorContract } from './support/connector-contract.ts';

const LOGIN = 'obmen';
const PASSWORD = 'секрет';
const log = pino({ level: 'silent' });

function connect(site: BitrixSite, options: Record<string, unknown> = {}, password = PASSWORD): Connector {
  const http = createHttpClient({ system: 'shop', clock: new ManualClock(), maxRetries: 0 });
  const system: SystemConfig = {
    kind: 'bitrix-site',
    url: site.url,
    credentials: { login: LOGIN, password },
    options,
  } as SystemConfig;
  return bitrixSiteConnector.create({
    systemName: 'shop',
    system,
    http,
    log,
    signal: new AbortController().signal,
  });
}

const site = (options: Parameters<typeof startBitrixSite>[0] extends infer O ? Partial<O> : never = {}) =>
  startBitrixSite({ login: LOGIN, password: PASSWORD, importStepMs: 50, fileLimit: 8192, ...options });

const route = (entity: string): RouteConfig =>
  ({
    name: `${entity}-to-shop`,
    entity,
    target: 'shop',
    schedule: 'on-change',
    batchSize: 100,
  }) as RouteConfig;

const item = (entity: string, i: number, data: Record<string, unknown>, extra: Partial<DeliveryItem> = {}) =>
  ({
    recordId: `${entity}-${i}`,
    entity,
    version: 1,
    hash: `h${i}`,
    data,
    deleted: false,
    externalId: undefined,
    ...extra,
  }) as DeliveryItem;

const product = (i: number, extra: Record<string, unknown> = {}) =>
  item('product', i, { name: `Товар ${i}`, article: `ART-${i}`, ...extra });

defineConnectorContract('bitrix-site (against emulators/bitrix-site)', async () => {
  const s = await site();
  return {
    connector: connect(s),
    route: route('product'),
    badCredentials: () => connect(s, {}, 'wrong'),
    makeItem: (i) => product(i),
    // A unit without its OKEI code: Bitrix refuses the whole file with this message.
    invalidItem: (i) => product(i, { baseUnit: { name: 'Штука' } }),
    invalidMessage: /Ошибка добавления новой единицы измерения/,
    teardown: () => s.close(),
  };
});

describe('bitrix-site connector: configuration', () => {
  const cases: Array<[string, Record<string, unknown>, RegExp]> = [
    ['no url', { credentials: { login: 'a', password: 'b' } }, /url is required for kind "bitrix-site"/],
    ['bad url', { url: 'shop', credentials: { login: 'a', password: 'b' } }, /is not a URL/],
    ['ftp url', { url: 'ftp://shop', credentials: { login: 'a', password: 'b' } }, /must start with http/],
    ['no credentials', { url: 'https://shop.ru' }, /credentials: set "login" and "password"/],
    [
      'unknown option',
      { url: 'https://shop.ru', credentials: { login: 'a', password: 'b' }, options: { zipp: true } },
      /options: unknown setting "zipp"/,
    ],
    [
      'bad version',
      { url: 'https://shop.ru', credentials: { login: 'a', password: 'b' }, options: { version: '4' } },
      /options\.version: use one of 2\.05, 2\.08, 3\.1/,
    ],
  ];
  for (const [name, system, message] of cases) {
    it(`refuses ${name}`, () => {
      assert.throws(
        () => resolveBitrixSiteSystem('shop', { kind: 'bitrix-site', ...system } as SystemConfig),
        (error: ObmenError) => error.errorClass === 'config' && message.test(error.message),
      );
    });
  }
  it('never shows the password in its errors', () => {
    assert.throws(
      () =>
        resolveBitrixSiteSystem('shop', {
          kind: 'bitrix-site',
          url: 'https://shop.ru',
          credentials: { user: 'a', pass: 'top-secret' },
        } as unknown as SystemConfig),
      (error: Error) => !error.message.includes('top-secret') && error.message.includes('user, pass'),
    );
  });
  it('defaults: Bitrix path, 2.08, zip', () => {
    const settings = resolveBitrixSiteSystem('shop', {
      kind: 'bitrix-site',
      url: 'https://shop.ru/',
      credentials: { login: 'a', password: 'b' },
    } as SystemConfig);
    assert.equal(settings.exchangeUrl, 'https://shop.ru/bitrix/admin/1c_exchange.php');
    assert.equal(settings.version, '2.08');
    assert.equal(settings.zip, true);
  });
});

describe('bitrix-site connector: sink', () => {
  it('writes groups, products, variants, price types, warehouses, prices and stock with the XML_IDs it reports', async () => {
    const s = await site();
    const c = connect(s);
    try {
      const ok = async (entity: string, items: DeliveryItem[]) => {
        const outcomes = await c.write!(route(entity), items);
        for (const o of outcomes) assert.ok(o.ok, `${entity}: ${o.ok ? '' : o.error.message}`);
        return outcomes.map((o) => (o.ok ? o.externalId : ''));
      };
      assert.deepEqual(await ok('product_group', [item('product_group', 1, { name: 'Обувь' })]), [
        'product_group-1',
      ]);
      assert.deepEqual(
        await ok('product_group', [
          item('product_group', 2, { name: 'Ботинки', parentId: 'product_group-1' }),
        ]),
        ['product_group-2'],
      );
      // The parent came along from memory, so the child keeps its place in the tree.
      assert.equal(s.state.sections.get('product_group-2')?.parentXmlId, 'product_group-1');
      const ids = await ok('product', [
        product(1, { groupId: 'product_group-2' }),
        // The mapping may name the XML_ID (e.g. the 1C Ид from $externalId("onec")).
        product(2, {}),
      ]);
      assert.deepEqual(ids, ['product-1', 'product-2']);
      const mapped = await c.write!(route('product'), [
        { ...product(3), fields: { XML_ID: '6f1c1d8e-1c-guid' } },
      ]);
      assert.deepEqual(mapped, [{ recordId: 'product-3', ok: true, externalId: '6f1c1d8e-1c-guid' }]);
      const variant = await ok('product', [product(4, { name: 'Ботинки 42', parentProductId: 'product-1' })]);
      assert.deepEqual(variant, ['product-1#product-4']);
      assert.equal(s.state.products.get('product-1#product-4')?.parentXmlId, 'product-1');
      await ok('price_type', [item('price_type', 1, { name: 'Розничная', currency: 'RUB' })]);
      await ok('warehouse', [item('warehouse', 1, { name: 'Склад на Ленина' })]);
      const priceIds = await ok('price', [
        item('price', 1, {
          productId: 'product-1',
          priceTypeId: 'price_type-1',
          value: 2500,
          currency: 'RUB',
        }),
      ]);
      assert.deepEqual(priceIds, ['product-1|price_type-1']);
      await ok('stock', [
        item('stock', 1, { productId: 'product-1', quantity: 7 }),
        item('stock', 2, { productId: 'product-1', warehouseId: 'warehouse-1', quantity: 3 }),
      ]);
      const offer = s.state.offers.get('product-1');
      assert.deepEqual(offer?.prices['price_type-1'], { value: 2500, currency: 'RUB' });
      assert.equal(offer?.quantity, 7);
      assert.deepEqual(offer?.stores, { 'warehouse-1': 3 });
      assert.equal(s.state.products.get('product-1')?.sectionXmlId, 'product_group-2');
      // Deleting deactivates (Статус="Удален"), as 1C does; the element stays.
      await ok('product', [{ ...product(2), deleted: true, externalId: 'product-2' }]);
      assert.equal(s.state.products.get('product-2')?.active, false);
      assert.equal(s.state.products.size, 4);
    } finally {
      await c.close();
      await s.close();
    }
  });

  for (const version of ['2.05', '3.1'] as const) {
    it(`CommerceML ${version} in windows-1251: products, price types, warehouses, prices and stock arrive`, async () => {
      const s = await site();
      const c = connect(s, { version, encoding: 'windows-1251' });
      try {
        const write = async (entity: string, items: DeliveryItem[]) => {
          for (const o of await c.write!(route(entity), items)) assert.ok(o.ok, o.ok ? '' : o.error.message);
        };
        await write('product', [product(1, { name: 'Чайник «Ёлка»' })]);
        await write('price_type', [item('price_type', 1, { name: 'Оптовая', currency: 'RUB' })]);
        await write('warehouse', [item('warehouse', 1, { name: 'Склад' })]);
        await write('price', [
          item('price', 1, { productId: 'product-1', priceTypeId: 'price_type-1', value: 99.5 }),
        ]);
        await write('stock', [
          item('stock', 1, { productId: 'product-1', warehouseId: 'warehouse-1', quantity: 4 }),
        ]);
        assert.equal(s.state.products.get('product-1')?.name, 'Чайник «Ёлка»');
        assert.equal(s.state.priceTypes.get('price_type-1')?.name, 'Оптовая');
        assert.equal(s.state.stores.get('warehouse-1')?.name, 'Склад');
        assert.equal(s.state.offers.get('product-1')?.prices['price_type-1']?.value, 99.5);
        assert.deepEqual(s.state.offers.get('product-1')?.stores, { 'warehouse-1': 4 });
      } finally {
        await c.close();
        await s.close();
      }
    });
  }

  it('a big batch goes in file_limit chunks and is imported through progress steps', async () => {
    const s = await site({
      fileLimit: 4096,
      zip: false,
      importStepMs: 20,
      elementsPerStep: 50,
      stepDelayMs: 40,
    });
    const c = connect(s);
    try {
      const items = Array.from({ length: 300 }, (_, i) =>
        product(i, { description: 'Описание товара '.repeat(5) }),
      );
      const outcomes = await c.write!(route('product'), items);
      assert.ok(outcomes.every((o) => o.ok));
      assert.equal(s.state.products.size, 300);
      assert.ok((s.state.stats.calls['catalog:file'] ?? 0) > 5, JSON.stringify(s.state.stats.calls));
      assert.ok((s.state.stats.calls['catalog:import'] ?? 0) > 1, JSON.stringify(s.state.stats.calls));
      assert.equal(s.state.stats.calls['catalog:complete'], 1);
    } finally {
      await c.close();
      await s.close();
    }
  });

  it('a failed import parks only the refused items (halving), each with the site’s message; HTTP 5xx is transient', async () => {
    const s = await site();
    const c = connect(s);
    try {
      const items = Array.from({ length: 8 }, (_, i) =>
        i === 5 ? product(i, { baseUnit: { name: 'Штука' } }) : product(i),
      );
      const outcomes = await c.write!(route('product'), items);
      assert.deepEqual(
        outcomes.map((o) => o.ok),
        [true, true, true, true, true, false, true, true],
      );
      const bad = outcomes[5]!;
      assert.ok(!bad.ok && bad.error.errorClass === 'permanent');
      assert.match(
        bad.error.message,
        /shop rejected product product-5 \(Ид product-5\): .*единицы измерения/,
      );
      assert.equal(s.state.products.size, 7);

      s.setFaults({ failNext: { 'catalog:import': 1 } });
      const [outcome] = await c.write!(route('product'), [product(20)]);
      assert.ok(outcome && !outcome.ok);
      assert.equal(outcome.error.errorClass, 'transient');
      assert.match(outcome.error.message, /interrupted at mode=import.*HTTP 500/);
    } finally {
      await c.close();
      await s.close();
    }
  });

  it('refuses entities a site does not take and orders that did not come from it', async () => {
    const s = await site();
    const c = connect(s);
    try {
      const [contact] = await c.write!(route('contact'), [item('contact', 1, { name: 'x' })]);
      assert.ok(contact && !contact.ok && contact.error.errorClass === 'config');
      assert.match(contact.error.message, /not contact/);
      const [order] = await c.write!(route('order'), [item('order', 1, { number: '1', lines: [] })]);
      assert.ok(order && !order.ok && order.error.errorClass === 'permanent');
      assert.match(order.error.message, /did not come from this site/);
    } finally {
      await c.close();
      await s.close();
    }
  });

  it('check() fails with a config error when the site is unreachable', async () => {
    const s = await site();
    const c = connect(s);
    await s.close();
    await assert.rejects(c.check(), (error: ObmenError) => {
      assert.equal(error.errorClass, 'config');
      assert.match(
        error.message,
        /cannot run the 1C exchange at http:\/\/127\.0\.0\.1:\d+\/bitrix\/admin\/1c_exchange\.php/,
      );
      return true;
    });
  });
});

describe('bitrix-site connector: orders source', () => {
  const source: SourceConfig = {
    name: 'shop-orders',
    system: 'shop',
    entity: 'order',
    schedule: '1m',
    batchSize: 2,
  } as SourceConfig;

  it('yields orders in batches and confirms only after the last batch was consumed', async () => {
    const s = await site();
    const c = connect(s);
    try {
      await c.write!(route('product'), [product(1), product(2)]);
      await fetch(`${s.url}/_orders/generate?count=3`, { method: 'POST' });
      const seen: SourceItem[] = [];
      const reader = c.read!({ source, cursor: undefined, full: false })[Symbol.asyncIterator]();
      const first = await reader.next();
      assert.equal(first.done, false);
      seen.push(...(first.value?.items ?? []));
      assert.equal(s.state.stats.ordersConfirmed, 0, 'nothing confirmed while a batch is unconsumed');
      for (let next = await reader.next(); !next.done; next = await reader.next())
        seen.push(...next.value.items);
      assert.equal(s.state.stats.ordersConfirmed, 1);
      assert.deepEqual(seen.map((o) => o.externalId).sort(), ['1', '2', '3']);
      const order = seen[0]!.data as { lines: Array<{ productId: string }>; customerId: string };
      assert.match(order.customerId, /^\d+#user\d+#/);
      assert.ok(order.lines.every((l) => l.productId === 'product-1' || l.productId === 'product-2'));
      // Confirmed: the next query has nothing.
      const again: SourceItem[] = [];
      for await (const batch of c.read!({ source, cursor: undefined, full: false }))
        again.push(...batch.items);
      assert.equal(again.length, 0);
    } finally {
      await c.close();
      await s.close();
    }
  });

  it('an abandoned read (ingest failed) never confirms: the orders come again', async () => {
    const s = await site();
    const c = connect(s);
    try {
      await c.write!(route('product'), [product(1)]);
      await fetch(`${s.url}/_orders/generate?count=1`, { method: 'POST' });
      await assert.rejects(
        (async () => {
          for await (const _batch of c.read!({ source, cursor: undefined, full: false })) {
            throw new Error('ingest failed');
          }
        })(),
        /ingest failed/,
      );
      assert.equal(s.state.stats.ordersConfirmed, 0);
      const again: SourceItem[] = [];
      for await (const batch of c.read!({ source, cursor: undefined, full: false }))
        again.push(...batch.items);
      assert.deepEqual(
        again.map((o) => o.externalId),
        ['1'],
      );
    } finally {
      await c.close();
      await s.close();
    }
  });

  it('reads only orders: another entity is a config error', async () => {
    const s = await site();
    const c = connect(s);
    try {
      await assert.rejects(
        (async () => {
          for await (const _ of c.read!({
            source: { ...source, entity: 'product' },
            cursor: undefined,
            full: false,
          })) {
            // nothing
          }
        })(),
        (error: ObmenError) => error.errorClass === 'config' && /orders only/.test(error.message),
      );
    } finally {
      await c.close();
      await s.close();
    }
  });
});
