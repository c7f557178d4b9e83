import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type BitrixSite,
  type BitrixSiteOptions,
  generateOrders,
  startBitrixSite,
} from '../emulators/bitrix-site/index.ts';
import { ExchangeClient } from '../src/exchange/commerceml/index.ts';

const LOGIN = 'exchange';
const PASSWORD = 'пароль-обмена';
const CODE = 'k3x9q2m7w4t8z1v6';

async function withSite(
  options: Partial<BitrixSiteOptions>,
  fn: (site: BitrixSite) => Promise<void>,
): Promise<void> {
  const site = await startBitrixSite({
    login: LOGIN,
    password: PASSWORD,
    importStepMs: 50,
    rest: { userId: 1, code: CODE },
    ...options,
  });
  try {
    await fn(site);
  } finally {
    await site.close();
  }
}

/** The storefront needs goods: two active products, as an exchange would have left them. */
function stock(site: BitrixSite): void {
  for (const [xmlId, name] of [
    ['p1', 'Ботинки'],
    ['p2', 'Кеды'],
  ] as const) {
    site.state.products.set(xmlId, {
      xmlId,
      name,
      article: xmlId.toUpperCase(),
      sectionXmlId: undefined,
      description: undefined,
      parentXmlId: undefined,
      active: true,
      timestampX: 0,
    });
    site.state.offer(xmlId).prices['retail'] = { value: 1000, currency: 'RUB' };
  }
}

interface Answer {
  status: number;
  body: Record<string, unknown> & {
    result?: unknown;
    total?: number;
    next?: number;
    error?: unknown;
    error_description?: string;
  };
}

async function call(
  site: BitrixSite,
  method: string,
  params: unknown = {},
  base = site.restUrl,
): Promise<Answer> {
  const res = await fetch(`${base}${method}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(params),
  });
  return { status: res.status, body: (await res.json()) as Answer['body'] };
}

const orders = (a: Answer) => (a.body.result as { orders: Array<Record<string, unknown>> }).orders;

describe('1C-Bitrix site emulator: REST webhook (sale.*)', () => {
  it('answers the documented errors: wrong webhook code, OAuth without a token, unknown method, no REST module', async () => {
    await withSite({}, async (site) => {
      const wrong = await call(site, 'sale.order.list', {}, `${site.url}/rest/1/wrongcode/`);
      assert.equal(wrong.status, 401);
      assert.deepEqual(wrong.body, {
        error: 'INVALID_CREDENTIALS',
        error_description: 'Invalid request credentials',
      });
      const otherUser = await call(site, 'sale.order.list', {}, `${site.url}/rest/2/${CODE}/`);
      assert.equal(otherUser.body.error, 'INVALID_CREDENTIALS');
      const oauth = await call(site, 'sale.order.list', {}, `${site.url}/rest/`);
      assert.equal(oauth.status, 401);
      assert.equal(oauth.body.error, 'NO_AUTH_FOUND');
      const unknown = await call(site, 'sale.order.frobnicate');
      assert.equal(unknown.status, 404);
      assert.equal(unknown.body.error, 'ERROR_METHOD_NOT_FOUND');
      // Method names are case-insensitive, and `.json` may follow them.
      assert.equal((await call(site, 'SALE.ORDER.LIST.json')).status, 200);
      assert.deepEqual((await call(site, 'scope')).body.result, ['sale', 'catalog']);
    });
    const bare = await startBitrixSite({ login: LOGIN, password: PASSWORD });
    try {
      const res = await fetch(`${bare.url}/rest/1/${CODE}/sale.order.list`, { method: 'POST' });
      assert.equal(res.status, 404, 'a site without the REST module has no /rest/');
      assert.equal(bare.restUrl, undefined);
    } finally {
      await bare.close();
    }
  });

  it('refuses sale.* to a webhook without the sale scope', async () => {
    await withSite({ rest: { userId: 1, code: CODE, scopes: ['catalog'] } }, async (site) => {
      const answer = await call(site, 'sale.order.list');
      assert.equal(answer.status, 401);
      assert.equal(answer.body.error, 'insufficient_scope');
    });
  });

  it('lists storefront orders with real field names, select, filter prefixes, order and pages of 50', async () => {
    await withSite({}, async (site) => {
      stock(site);
      const placed = generateOrders(site.state, 120);
      const first = await call(site, 'sale.order.list', { order: { id: 'asc' } });
      assert.equal(first.status, 200);
      assert.equal(first.body.total, 120);
      assert.equal(first.body.next, 50);
      assert.equal(orders(first).length, 50);
      const order = orders(first)[0]!;
      for (const field of [
        'id',
        'accountNumber',
        'statusId',
        'dateInsert',
        'dateUpdate',
        'price',
        'currency',
        'userId',
      ])
        assert.ok(field in order, `field ${field}`);
      assert.equal(order['payed'], 'N');
      assert.equal(order['updated1c'], 'N');
      assert.equal(order['lid'], 's1');
      assert.match(String(order['dateUpdate']), /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+03:00$/);
      assert.equal(
        order['price'],
        placed[0]!.lines.reduce((sum, l) => sum + l.price * l.quantity, 0),
      );
      const last = await call(site, 'sale.order.list', { start: 100 });
      assert.equal(orders(last).length, 20);
      assert.equal(last.body.next, undefined, 'no next on the last page');

      const picked = await call(site, 'sale.order.list', {
        select: ['id', 'statusId'],
        filter: { '@id': [3, 5, 7], '>=dateUpdate': String(order['dateUpdate']) },
        order: { id: 'desc' },
      });
      assert.deepEqual(orders(picked), [
        { id: 7, statusId: 'N' },
        { id: 5, statusId: 'N' },
        { id: 3, statusId: 'N' },
      ]);
      const later = await call(site, 'sale.order.list', {
        filter: { '>dateUpdate': String(order['dateUpdate']) },
      });
      assert.equal(later.body.total, 0, 'dateUpdate compares with second precision');
      const bad = await call(site, 'sale.order.list', { filter: { '>dateChanged': '2024-01-01' } });
      assert.equal(bad.status, 400);
      assert.match(String(bad.body.error_description), /Unknown field definition `dateChanged`/);
    });
  });

  it('sale.order.get gives lines, buyer properties, payments and shipments; missing orders and parameters are refused', async () => {
    await withSite({}, async (site) => {
      stock(site);
      const [placed] = generateOrders(site.state, 1);
      const got = await call(site, 'sale.order.get', { id: placed!.id });
      const order = (got.body.result as { order: Record<string, unknown> }).order;
      const basket = order['basketItems'] as Array<Record<string, unknown>>;
      assert.equal(basket.length, placed!.lines.length);
      assert.equal(typeof basket[0]!['id'], 'string', 'basket ids are strings inside sale.order.get');
      assert.equal(basket[0]!['productXmlId'], placed!.lines[0]!.productXmlId);
      assert.equal(basket[0]!['quantity'], placed!.lines[0]!.quantity);
      const props = order['propertyValues'] as Array<Record<string, unknown>>;
      assert.deepEqual(
        props.map((p) => p['code']),
        ['FIO', 'EMAIL', 'PHONE'],
      );
      assert.equal(props[1]!['value'], placed!.user.email);
      assert.equal((order['payments'] as unknown[]).length, 1);
      assert.equal((order['shipments'] as unknown[]).length, 1);
      const list = await call(site, 'sale.basketitem.list', { filter: { orderId: placed!.id } });
      const items = (list.body.result as { basketItems: Array<Record<string, unknown>> }).basketItems;
      assert.equal(typeof items[0]!['id'], 'number', 'and numbers in sale.basketitem.list');

      const missing = await call(site, 'sale.order.get', { id: 999 });
      assert.equal(missing.status, 400);
      assert.deepEqual(missing.body, { error: 200540400001, error_description: 'order is not exists' });
      const noId = await call(site, 'sale.order.get', {});
      assert.equal(noId.body.error, 100);
      assert.match(String(noId.body.error_description), /parameter \{id\}/);
    });
  });

  it('updates status, payment and shipment on the same shop the exchange serves; a bad status id is refused', async () => {
    await withSite({}, async (site) => {
      stock(site);
      const [placed] = generateOrders(site.state, 1, Date.now() - 5_000);
      const id = placed!.id;
      const bad = await call(site, 'sale.order.update', { id, fields: { statusId: 'ZZ' } });
      assert.equal(bad.status, 400);
      assert.deepEqual(bad.body, { error: 201340400001, error_description: 'status is not exists' });
      assert.equal(site.state.orders.get(id)!.statusId, 'N', 'nothing changed');
      assert.equal((await call(site, 'sale.order.update', { id })).body.error, 100);

      const paid = await call(site, 'sale.payment.update', { id, fields: { paid: 'Y' } });
      assert.equal(paid.status, 200);
      const updated = await call(site, 'sale.order.update', {
        id,
        fields: { statusId: 'F', updated1c: 'Y', payed: 'N' },
      });
      assert.equal(updated.status, 200);
      const order = site.state.orders.get(id)!;
      assert.equal(order.statusId, 'F');
      assert.equal(order.payed, true, 'payed is read-only in sale.order.update');
      assert.equal(order.updated1c, true);
      assert.ok(order.updatedAt > placed!.createdAt);
      assert.equal(
        (await call(site, 'sale.shipment.update', { id: 777, fields: { deducted: 'Y' } })).body.error,
        201140400001,
      );

      // The exchange sees the same order, and, as a change made by 1C, does not export it.
      const exchange = new ExchangeClient({ url: site.exchangeUrl, login: LOGIN, password: PASSWORD });
      await exchange.checkauth('sale');
      await exchange.init('sale', '2.08');
      await exchange.query();
      assert.equal(site.state.stats.ordersExported, 0);
      // A change on the site (no updated1c) makes it exportable again.
      await call(site, 'sale.order.update', { id, fields: { comments: 'позвонить' } });
      assert.equal(site.state.orders.get(id)!.updated1c, false);
    });
  });

  it('runs a batch with per-command results and errors', async () => {
    await withSite({}, async (site) => {
      stock(site);
      generateOrders(site.state, 2);
      const answer = await call(site, 'batch', {
        halt: 0,
        cmd: {
          a: 'sale.order.get?id=1',
          b: 'sale.order.get?id=99',
          c: 'sale.order.update?id=2&fields[statusId]=P',
        },
      });
      const result = answer.body.result as {
        result: Record<string, unknown>;
        result_error: Record<string, { error: unknown; error_description: string }>;
      };
      assert.ok(result.result['a']);
      assert.deepEqual(result.result_error['b'], {
        error: 200540400001,
        error_description: 'order is not exists',
      });
      assert.equal(site.state.orders.get(2)!.statusId, 'P');
      assert.equal(site.state.stats.rest.writes, 1);
    });
  });

  it('answers 503 QUERY_LIMIT_EXCEEDED when driven faster than its bucket drains', async () => {
    await withSite({ rest: { userId: 1, code: CODE, rate: 1, burst: 5 } }, async (site) => {
      const answers = await Promise.all(Array.from({ length: 12 }, () => call(site, 'sale.status.list')));
      const refused = answers.filter((a) => a.status === 503);
      assert.ok(refused.length >= 6, `refused ${refused.length} of 12`);
      assert.deepEqual(refused[0]!.body, {
        error: 'QUERY_LIMIT_EXCEEDED',
        error_description: 'Too many requests',
      });
      assert.equal(site.state.stats.rest.limitErrors, refused.length);
    });
  });
});
