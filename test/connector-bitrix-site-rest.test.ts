import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { type BitrixSite, generateOrders, startBitrixSite } from '../emulators/bitrix-site/index.ts';
import type { SystemConfig } from '../src/config/schema.ts';
import { bitrixSiteConnector, resolveBitrixSiteSystem } from '../src/connectors/bitrix-site/index.ts';
import { shiftSiteDate } from '../src/connectors/bitrix-site/rest-orders.ts';
import { registerConnector } from '../src/connectors/registry.ts';
import { ManualClock } from '../src/core/clock.ts';
import type { Connector } from '../src/core/connector.ts';
import type { ObmenError } from '../src/core/errors.ts';
import { replayRoute } from '../src/engine/operations.ts';
import { runPull } from '../src/engine/pull.ts';
import { createHttpClient } from '../src/http/client.ts';
import type { Store } from '../src/store/store.ts';
import { createTestHub, hubConfig, type TestHub } from './support/hub.ts';
import { hubIdOf } from './support/links.ts';
import { forEachDialect } from './support/stores.ts';

registerConnector(bitrixSiteConnector);

const LOGIN = 'obmen';
const PASSWORD = 'секрет';
const CODE = 'r7t2k9x4m1q8w3z6';

const startSite = (rest: Partial<NonNullable<Parameters<typeof startBitrixSite>[0]['rest']>> = {}) =>
  startBitrixSite({
    login: LOGIN,
    password: PASSWORD,
    importStepMs: 50,
    rest: { userId: 1, code: CODE, ...rest },
  });

function siteSystem(
  url: string,
  code = CODE,
  rest: Record<string, unknown> = { orders: true, statuses: true },
) {
  return {
    kind: 'bitrix-site',
    url,
    credentials: { login: LOGIN, password: PASSWORD, restWebhookCode: code },
    options: { rest },
  };
}

function connect(site: BitrixSite, code = CODE): Connector {
  return bitrixSiteConnector.create({
    systemName: 'shop',
    system: siteSystem(site.url, code) as SystemConfig,
    http: createHttpClient({ system: 'shop', clock: new ManualClock(), maxRetries: 0, secrets: [code] }),
    log: pino({ level: 'silent' }),
    signal: new AbortController().signal,
  });
}

describe('bitrix-site REST: configuration', () => {
  const resolve = (system: Record<string, unknown>) =>
    resolveBitrixSiteSystem('shop', {
      kind: 'bitrix-site',
      url: 'https://shop.ru',
      ...system,
    } as SystemConfig);
  const refuses = (system: Record<string, unknown>, message: RegExp) =>
    assert.throws(
      () => resolve(system),
      (error: ObmenError) =>
        error.errorClass === 'config' && message.test(error.message) && !error.message.includes('s3cr3tc0de'),
    );

  it('builds the webhook address from the user id and the code', () => {
    const settings = resolve({
      credentials: { login: 'a', password: 'b', restWebhookCode: 's3cr3tc0de' },
      options: { rest: { webhookUser: 7, orders: true } },
    });
    assert.equal(settings.rest?.webhookUrl, 'https://shop.ru/rest/7/s3cr3tc0de/');
    assert.equal(settings.rest?.orders, true);
    assert.equal(settings.rest?.statuses, false);
    assert.equal(settings.rest?.language, 'ru');
    assert.equal(resolve({ credentials: { login: 'a', password: 'b' } }).rest, undefined);
  });

  it('refuses what cannot work, naming the setting and never the code', () => {
    refuses(
      { credentials: { login: 'a', password: 'b' }, options: { rest: { orders: true } } },
      /credentials\.restWebhookCode: set the code of the site's inbound webhook \(the <code> in https:\/\/shop\.ru\/rest\/1\/<code>\/, scope "sale"\)/,
    );
    refuses(
      {
        credentials: { login: 'a', password: 'b', restWebhookCode: 'https://shop.ru/rest/1/s3cr3tc0de/' },
        options: { rest: { orders: true } },
      },
      /give only the code, the last part of the webhook address/,
    );
    refuses(
      {
        credentials: { login: 'a', password: 'b', restWebhookCode: 's3cr3t c0de!' },
        options: { rest: { orders: true } },
      },
      /4–64 Latin letters and digits/,
    );
    refuses(
      { credentials: { login: 'a', password: 'b', restWebhookCode: 's3cr3tc0de' } },
      /restWebhookCode is set but systems\.shop\.options\.rest is not/,
    );
    refuses(
      {
        credentials: { login: 'a', password: 'b', restWebhookCode: 's3cr3tc0de' },
        options: { rest: { order: true } },
      },
      /options\.rest: unknown setting "order"; known: webhookUser, orders, statuses, catalog, iblockId, currency, defaultStoreId, language, pollOverlapSeconds/,
    );
  });

  it('moves dates by seconds in the offset the site writes', () => {
    assert.equal(shiftSiteDate('2024-03-01T00:00:01+03:00', -2), '2024-02-29T23:59:59+03:00');
    assert.equal(shiftSiteDate('2024-03-01T10:00:00-05:30', 1), '2024-03-01T10:00:01-05:30');
    assert.equal(shiftSiteDate('2024-03-01T10:00:00', 60), '2024-03-01T10:01:00');
  });
});

describe('bitrix-site REST: check', () => {
  it('passes with the webhook, and refuses a wrong code or a webhook without the sale scope', async () => {
    const site = await startSite();
    const narrow = await startSite({ scopes: ['catalog'] });
    try {
      await connect(site).check();
      await assert.rejects(connect(site, 'wrongcode1234').check(), (error: ObmenError) => {
        assert.equal(error.errorClass, 'config');
        assert.match(
          error.message,
          /site REST scope failed: Invalid request credentials \(INVALID_CREDENTIALS\)/,
        );
        assert.ok(!error.message.includes('wrongcode1234'));
        return true;
      });
      await assert.rejects(connect(narrow).check(), (error: ObmenError) => {
        assert.equal(error.errorClass, 'config');
        assert.match(error.message, /has no "sale" scope \(it has: catalog\)/);
        assert.match(error.message, /\/rest\/1\/\*\*\*\//, 'the address is shown with its code masked');
        assert.ok(!error.message.includes(CODE));
        return true;
      });
    } finally {
      await site.close();
      await narrow.close();
    }
  });
});

async function recordsOf(
  store: Store,
  entity: string,
): Promise<Array<{ id: string; version: number; data: Record<string, unknown> }>> {
  const rows = await store.db
    .selectFrom('records')
    .select(['id', 'version', 'data'])
    .where('entity', '=', entity)
    .execute();
  return rows.map((r) => ({
    id: r.id,
    version: Number(r.version),
    data: JSON.parse(r.data) as Record<string, unknown>,
  }));
}

forEachDialect('bitrix-site REST through the engine', (db) => {
  const withHub = (fn: (hub: TestHub, site: BitrixSite, store: Store) => Promise<void>) => async () => {
    const site = await startSite();
    const store = await db().open();
    const hub = await createTestHub(
      store,
      hubConfig({
        systems: { onec: { kind: 'noop' }, shop: siteSystem(site.url) },
        sources: [{ name: 'shop-orders', system: 'shop', entity: 'order' }],
        routes: [
          { name: 'product-to-shop', entity: 'product', target: 'shop' },
          { name: 'order-to-shop', entity: 'order', target: 'shop' },
          { name: 'status-to-shop', entity: 'order_status', target: 'shop' },
        ],
      }),
    );
    try {
      // The catalog still goes through the exchange: the site's XML_IDs are the hub's links.
      await hub.ingest(
        'onec',
        'product',
        [1, 2, 3].map((i) => ({
          externalId: `1c-${i}`,
          data: { name: `Кроссовки ${i}`, article: `K-${i}` },
        })),
      );
      await hub.deliver('product-to-shop');
      await fn(hub, site, store);
    } finally {
      await hub.close();
      await store.close();
      await site.close();
    }
  };

  const place = (site: BitrixSite, count: number) =>
    fetch(`${site.url}/_orders/generate?count=${count}`, { method: 'POST' });

  /** 1C takes over an order pulled from the site (as matching would): links for it and its buyer. */
  async function adoptIn1c(store: Store, orderHubId: string, customerHubId: string, n: number) {
    for (const [entity, recordId, externalId] of [
      ['order', orderHubId, `zakaz-${n}`],
      ['counterparty', customerHubId, `buyer-${n}`],
    ] as const) {
      await store.db
        .insertInto('links')
        .values({
          entity,
          record_id: recordId,
          system: 'onec',
          external_id: externalId,
          last_hash: null,
          updated_at: Date.now(),
        })
        .onConflict((oc) => oc.doNothing())
        .execute();
    }
  }

  /** The order as 1C would send it back: the hub's content in 1C's ids, with changes. */
  async function from1c(
    hub: TestHub,
    store: Store,
    siteOrderId: string,
    n: number,
    changes: Record<string, unknown>,
  ) {
    const orderId = await hubIdOf(store, 'order', 'shop', siteOrderId);
    const order = (await recordsOf(store, 'order')).find((r) => r.id === orderId)!.data as Record<
      string,
      unknown
    > & {
      lines: Array<{ productId: string }>;
      customerId: string;
    };
    await adoptIn1c(store, orderId, order.customerId, n);
    const products = await store.db
      .selectFrom('links')
      .select(['record_id', 'external_id'])
      .where('entity', '=', 'product')
      .where('system', '=', 'onec')
      .execute();
    const oneC = (hubId: string) => products.find((p) => p.record_id === hubId)!.external_id;
    await hub.ingest('onec', 'order', [
      {
        externalId: `zakaz-${n}`,
        data: {
          ...order,
          customerId: `buyer-${n}`,
          lines: order.lines.map((l) => ({ ...l, productId: oneC(l.productId) })),
          ...changes,
        },
      },
    ]);
  }

  it(
    'pulls storefront orders through REST exactly once, with lines on the hub products and their buyers',
    withHub(async (hub, site, store) => {
      await place(site, 3);
      const first = await runPull(hub.runtime, 'shop-orders');
      assert.equal(first.stats.created, 3, JSON.stringify(first));
      assert.deepEqual(first.errors, []);
      const orders = await recordsOf(store, 'order');
      const products = new Set((await recordsOf(store, 'product')).map((p) => p.id));
      const buyers = new Map((await recordsOf(store, 'counterparty')).map((c) => [c.id, c.data]));
      assert.equal(orders.length, 3);
      for (const order of orders) {
        const data = order.data as {
          lines: Array<{ productId: string }>;
          customerId: string;
          status: string;
        };
        assert.ok(data.lines.length > 0);
        for (const line of data.lines)
          assert.ok(products.has(line.productId), 'the line points at a hub product');
        const buyer = buyers.get(data.customerId) as {
          name: string;
          emails: Array<{ value: string }>;
          kind: string;
        };
        assert.ok(buyer, 'the buyer is a counterparty record');
        assert.match(buyer.emails[0]!.value, /@example\.ru$/);
        assert.equal(buyer.kind, 'person');
        assert.equal(data.status, 'new', 'the status in the hub’s words, as the exchange path reads it');
      }
      const siteOrder = site.state.orders.get(1)!;
      const one = orders.find((o) => o.data['number'] === siteOrder.accountNumber)!;
      assert.equal(
        one.data['customerId'],
        await hubIdOf(store, 'counterparty', 'shop', String(siteOrder.user.id)),
      );

      // Nothing new: the overlap re-reads the last seconds, and ingest makes no new version.
      const again = await runPull(hub.runtime, 'shop-orders');
      assert.equal(again.stats.created, 0);
      assert.equal(again.stats.updated, 0);
      assert.ok((await recordsOf(store, 'order')).every((o) => o.version === 1));

      await place(site, 1);
      const next = await runPull(hub.runtime, 'shop-orders');
      assert.equal(next.stats.created, 1);
      assert.equal(next.stats.updated, 0);
      assert.equal((await recordsOf(store, 'order')).length, 4);

      // The webhook code is in no request the hub logged.
      const logged = await store.db
        .selectFrom('request_log')
        .selectAll()
        .where('system', '=', 'shop')
        .execute();
      assert.ok(
        logged.some((r) => r.url.includes('/rest/1/***/sale.order.list')),
        'REST calls are logged',
      );
      for (const row of logged) {
        for (const text of [row.url, row.request_body, row.response_body, row.error])
          assert.ok(!String(text ?? '').includes(CODE), `code leaked in ${row.url}`);
      }
    }),
  );

  it(
    'a failure mid-pull loses nothing and duplicates nothing (120 orders in one second: keyset paging)',
    withHub(async (hub, site, store) => {
      await place(site, 120);
      let batches = 0;
      await assert.rejects(
        runPull(hub.runtime, 'shop-orders', {
          onBatch: () => {
            // The second page's batch of sale.order.get fails, as if the site fell over.
            if (++batches === 1) site.setFaults({ failNext: { 'rest:batch': 1 } });
          },
        }),
        /Internal server error/,
      );
      assert.equal((await recordsOf(store, 'order')).length, 50, 'the first page is stored');
      const resumed = await runPull(hub.runtime, 'shop-orders');
      assert.equal(resumed.stats.created, 70, JSON.stringify(resumed.stats));
      assert.equal(resumed.stats.updated, 0);
      const orders = await recordsOf(store, 'order');
      assert.equal(orders.length, 120);
      assert.equal(new Set(orders.map((o) => o.data['number'])).size, 120, 'no order twice');
      assert.ok(orders.every((o) => o.version === 1));
      const links = await store.db
        .selectFrom('links')
        .select('external_id')
        .where('entity', '=', 'order')
        .where('system', '=', 'shop')
        .execute();
      assert.equal(links.length, 120);
    }),
  );

  it(
    'an order changed on the site during a pull hides no other order (orders a second apart)',
    withHub(async (hub, site, store) => {
      const t = Date.now() - 200_000;
      for (let i = 0; i < 150; i++) generateOrders(site.state, 1, t + i * 1000);
      let batches = 0;
      const first = await runPull(hub.runtime, 'shop-orders', {
        onBatch: () => {
          // A manager changes an order the next page would have held: it moves to the end.
          if (++batches === 1) {
            const order = site.state.orders.get(60)!;
            order.comment = 'перезвонить';
            order.updatedAt = Date.now();
          }
        },
      });
      assert.equal(first.stats.created, 150, JSON.stringify(first.stats));
      const orders = await recordsOf(store, 'order');
      assert.equal(orders.length, 150, 'every order once');
      const changed = orders.find((o) => o.data['number'] === '60')!;
      assert.equal(changed.data['comment'], 'перезвонить', 'the changed order is read in its new state');
      // The calls: about one list and one batch per page, two more for the status directory.
      assert.ok(site.state.stats.rest.requests <= 2 * 5 + 4, `requests ${site.state.stats.rest.requests}`);
    }),
  );

  it(
    'a status change in the hub reaches the site through sale.order.update (payment and shipment too) and does not come back',
    withHub(async (hub, site, store) => {
      await place(site, 2);
      await runPull(hub.runtime, 'shop-orders');
      await from1c(hub, store, '1', 1, { status: '[F] Выполнен', paid: true, shipped: true });
      const writesBefore = site.state.stats.rest.writes;
      const stats = await hub.deliver('order-to-shop');
      assert.equal(stats.delivered, 1, JSON.stringify(stats));
      const order = site.state.orders.get(1)!;
      assert.equal(order.statusId, 'F');
      assert.equal(order.payed, true);
      assert.equal(order.deducted, true);
      assert.equal(order.updated1c, true, 'marked as a change from 1C');
      assert.equal(site.state.stats.rest.writes - writesBefore, 3, 'payment, shipment, order');
      assert.equal(site.state.orders.get(2)!.statusId, 'N', 'the other order is untouched');
      const outbox = await hub.outbox('order-to-shop');
      assert.deepEqual(
        outbox.map((r) => r.state),
        ['delivered'],
      );

      const echo = await runPull(hub.runtime, 'shop-orders');
      assert.equal(echo.stats.updated, 0, 'the change obmen made is not read back');

      // A new version the site already agrees with (only the comment differs): no write at all.
      await from1c(hub, store, '1', 1, { status: 'Выполнен', paid: true, shipped: true, comment: 'из 1С' });
      const writes = site.state.stats.rest.writes;
      const quiet = await hub.deliver('order-to-shop');
      assert.equal(quiet.delivered, 1);
      assert.equal(site.state.stats.rest.writes, writes, 'nothing differs, nothing written');
    }),
  );

  it(
    '1C’s order_status of a site order goes through REST (payment, shipment, status, cancellation), never the exchange',
    withHub(async (hub, site, store) => {
      await place(site, 2);
      await runPull(hub.runtime, 'shop-orders');
      for (const n of [1, 2]) {
        const orderId = await hubIdOf(store, 'order', 'shop', String(n));
        const order = (await recordsOf(store, 'order')).find((r) => r.id === orderId)!;
        await adoptIn1c(store, orderId, String(order.data['customerId']), n);
      }
      const imports = site.state.stats.imports;
      const writesBefore = site.state.stats.rest.writes;
      await hub.ingest('onec', 'order_status', [
        { externalId: 'zakaz-1', data: { orderId: 'zakaz-1', status: 'shipped', paid: true, shipped: true } },
        { externalId: 'zakaz-2', data: { orderId: 'zakaz-2', status: 'cancelled', cancelled: true } },
      ]);
      const stats = await hub.deliver('status-to-shop');
      assert.equal(stats.delivered, 2, JSON.stringify(await hub.outbox('status-to-shop')));
      const [one, two] = [site.state.orders.get(1)!, site.state.orders.get(2)!];
      assert.deepEqual(
        [one.statusId, one.payed, one.deducted, one.updated1c],
        ['F', true, true, true],
        'shipped → F («Выполнен», seed 004), paid and shipped, marked as 1C’s change',
      );
      assert.deepEqual([two.statusId, two.canceled], ['N', true], 'cancelled: the flag, the status stays');
      assert.equal(site.state.stats.rest.writes - writesBefore, 4, 'payment, shipment, two order updates');
      assert.equal(site.state.stats.imports, imports, 'no exchange document');
      assert.equal(site.state.stats.rest.calls['sale.order.update'], 2);
      const links = await store.db
        .selectFrom('links')
        .select('external_id')
        .where('entity', '=', 'order_status')
        .where('system', '=', 'shop')
        .orderBy('external_id')
        .execute();
      assert.deepEqual(
        links.map((l) => l.external_id),
        ['1', '2'],
        'a state is known on the site by its order',
      );

      // The site does not offer 1C's change back, and the same state again writes nothing.
      assert.equal((await runPull(hub.runtime, 'shop-orders')).stats.updated, 0);
      await replayRoute(store, { name: 'status-to-shop', entity: 'order_status' }, { now: hub.clock.now() });
      const writes = site.state.stats.rest.writes;
      assert.equal((await hub.deliver('status-to-shop')).delivered, 2);
      assert.equal(site.state.stats.rest.writes, writes, 'the site already agrees: nothing written');
    }),
  );

  it(
    'a bad status id is parked with the site’s statuses; an order gone from the site with the site’s own message',
    withHub(async (hub, site, store) => {
      await place(site, 2);
      await runPull(hub.runtime, 'shop-orders');
      await from1c(hub, store, '1', 1, { status: 'ZZ' });
      site.state.orders.delete(2);
      await from1c(hub, store, '2', 2, { status: '[P] Оплачен' });
      const stats = await hub.deliver('order-to-shop');
      assert.equal(stats.delivered, 0);
      const rows = await hub.outbox('order-to-shop');
      assert.deepEqual(
        rows.map((r) => [r.state, r.last_error_class]),
        [
          ['failed', 'permanent'],
          ['failed', 'permanent'],
        ],
      );
      const errors = rows.map((r) => String(r.last_error));
      const bad = errors.find((e) => e.includes('ZZ'))!;
      assert.match(
        bad,
        /site order 1\): the site has no order status "ZZ" \(its order statuses: N \(Принят, ожидается оплата\), P \(Оплачен, формируется к отправке\), F \(Выполнен\)\)/,
      );
      assert.match(bad, /field statusId in the mapping of route order-to-shop/);
      const gone = errors.find((e) => e.includes('site order 2'))!;
      assert.match(gone, /site REST sale\.order\.get failed: order is not exists \(200540400001\)/);
      assert.equal(site.state.orders.get(1)!.statusId, 'N', 'nothing was sent for the bad status');
    }),
  );
});

forEachDialect('bitrix-site: REST and the exchange read one status the same way', (db) => {
  it('the same orders read through REST and through the exchange carry the same hub status', async () => {
    const site = await startSite();
    const store = await db().open();
    // One site, read by two systems: one through REST, one through the exchange, both with a
    // table entry of their own over the defaults.
    const tables = { siteStatusMap: { P: 'confirmed' } };
    const restSystem = siteSystem(site.url, CODE, { orders: true });
    const hub = await createTestHub(
      store,
      hubConfig({
        systems: {
          onec: { kind: 'noop' },
          rest: { ...restSystem, options: { ...restSystem.options, ...tables } },
          exchange: {
            kind: 'bitrix-site',
            url: site.url,
            credentials: { login: LOGIN, password: PASSWORD },
            options: tables,
          },
        },
        sources: [
          { name: 'rest-orders', system: 'rest', entity: 'order' },
          { name: 'exchange-orders', system: 'exchange', entity: 'order' },
        ],
        routes: [{ name: 'product-to-shop', entity: 'product', target: 'exchange' }],
      }),
    );
    try {
      await hub.ingest('onec', 'product', [
        { externalId: '1c-1', data: { name: 'Кроссовки', article: 'K-1' } },
      ]);
      await hub.deliver('product-to-shop');
      await fetch(`${site.url}/_orders/generate?count=3`, { method: 'POST' });
      site.state.orders.get(2)!.statusId = 'P';
      site.state.orders.get(3)!.statusId = 'F';
      await runPull(hub.runtime, 'rest-orders');
      await runPull(hub.runtime, 'exchange-orders');
      const statusOf = async (system: string) => {
        const rows = await store.db
          .selectFrom('links')
          .innerJoin('records', (join) =>
            join.onRef('records.id', '=', 'links.record_id').onRef('records.entity', '=', 'links.entity'),
          )
          .select(['links.external_id', 'records.data'])
          .where('links.entity', '=', 'order')
          .where('links.system', '=', system)
          .orderBy('links.external_id')
          .execute();
        return rows.map((r) => [r.external_id, (JSON.parse(r.data) as { status: string }).status]);
      };
      const expected = [
        ['1', 'new'],
        ['2', 'confirmed'],
        ['3', 'completed'],
      ];
      assert.deepEqual(await statusOf('rest'), expected);
      assert.deepEqual(await statusOf('exchange'), expected);
    } finally {
      await hub.close();
      await store.close();
      await site.close();
    }
  });
});
