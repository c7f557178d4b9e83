import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { pino } from 'pino';
import {
  type Bitrix24Emulator,
  type Bitrix24EmulatorOptions,
  startBitrix24Emulator,
} from '../emulators/bitrix24/index.ts';
import type { RouteConfig, SystemConfig } from '../src/config/schema.ts';
import { bitrix24Error } from '../src/connectors/bitrix24/errors.ts';
import { bitrix24Connector } from '../src/connectors/bitrix24/index.ts';
import { effectiveLimits, registerConnector } from '../src/connectors/registry.ts';
import type { Connector, DeliveryItem, ItemOutcome } from '../src/core/connector.ts';
import { ObmenError } from '../src/core/errors.ts';
import { createHttpClient } from '../src/http/client.ts';
import { b24rest } from './support/bitrix24.ts';
import { defineConnectorContract } from './support/connector-contract.ts';
import { createTestHub, hubConfig } from './support/hub.ts';
import { createTestDatabase } from './support/stores.ts';

const log = pino({ level: 'silent' });
const CODE = 'contractcode';

const emulators: Bitrix24Emulator[] = [];
after(() => Promise.all(emulators.map((e) => e.close())));
async function emulator(options: Bitrix24EmulatorOptions = {}): Promise<Bitrix24Emulator> {
  const e = await startBitrix24Emulator({ webhook: { userId: 1, code: CODE }, ...options });
  emulators.push(e);
  return e;
}

function system(e: Bitrix24Emulator, options: Record<string, unknown> = {}, code = CODE): SystemConfig {
  return { kind: 'bitrix24', url: e.url, credentials: { webhookUserId: '1', webhookCode: code }, options };
}

function connect(sys: SystemConfig): Connector {
  const http = createHttpClient({ system: 'b24', maxRetries: 0, secrets: [CODE] });
  return bitrix24Connector.create({
    systemName: 'b24',
    system: sys,
    http,
    log,
    signal: new AbortController().signal,
  });
}

const route = (entity: string): RouteConfig => ({
  name: `${entity}-to-b24`,
  entity,
  target: 'b24',
  schedule: 'on-change',
  batchSize: 50,
});

const item = (
  entity: string,
  i: number,
  data: Record<string, unknown>,
  externalId?: string,
): DeliveryItem => ({
  recordId: `${entity}-${i}`,
  entity,
  version: 1,
  hash: `h${i}`,
  data,
  deleted: false,
  externalId,
});

const ids = (outcomes: ItemOutcome[]) =>
  outcomes.map((o) => (o.ok ? o.externalId : `ERR ${o.error.message}`));

defineConnectorContract('bitrix24 (against emulators/bitrix24)', async () => {
  const e = await startBitrix24Emulator({ webhook: { userId: 1, code: CODE } });
  return {
    connector: connect(system(e)),
    route: route('product'),
    badCredentials: () => connect(system(e, {}, 'wrongcode')),
    makeItem: (i) => item('product', i, { name: `Товар ${i}` }),
    invalidItem: (i) => item('product', i, { name: '' }),
    invalidMessage: 'Required fields: name',
    teardown: () => e.close(),
  };
});

describe('bitrix24 connector round trips over HTTP', () => {
  it('companies: requisites with INN/KPP, multi-fields, the id user field created on first use; updates do not duplicate phones', async () => {
    const e = await emulator();
    const c = connect(system(e));
    const company = item('counterparty', 1, {
      kind: 'company',
      name: 'ООО Ромашка',
      inn: '7707083893',
      kpp: '773601001',
      phones: [{ value: '+7 495 000-00-01', type: 'work' }],
      emails: [{ value: 'info@romashka.ru' }],
    });
    const [first] = await c.write!(route('counterparty'), [company]);
    assert.ok(first?.ok);
    assert.match(first.externalId, /^company:\d+$/);
    const id = Number(first.externalId.split(':')[1]);
    const row = e.state.table('company').get(id)!;
    assert.equal(row['TITLE'], 'ООО Ромашка');
    assert.equal(row['ORIGIN_ID'], 'counterparty-1');
    assert.equal(
      row['UF_CRM_OBMEN_ID'],
      'counterparty-1',
      'the user field was created before it was written',
    );
    assert.deepEqual(
      e.state.userFields.get('company')?.map((f) => f['FIELD_NAME']),
      ['UF_CRM_OBMEN_ID'],
    );
    const requisites = [...e.state.table('requisite').values()];
    assert.deepEqual(
      requisites.map((r) => [r['ENTITY_TYPE_ID'], r['ENTITY_ID'], r['RQ_INN'], r['RQ_KPP']]),
      [['4', String(id), '7707083893', '773601001']],
    );
    // Update with the known id: same object, requisite updated in place, phones not added twice.
    const [second] = await c.write!(route('counterparty'), [
      { ...company, version: 2, data: { ...company.data, kpp: '773601002' }, externalId: first.externalId },
    ]);
    assert.ok(second?.ok && second.externalId === first.externalId);
    assert.equal(e.state.table('requisite').size, 1);
    assert.equal([...e.state.table('requisite').values()][0]!['RQ_KPP'], '773601002');
    assert.equal((e.state.table('company').get(id)!['PHONE'] as unknown[]).length, 1);
  });

  it('phones and e-mails are updated by ID: a changed phone replaces the old one, a removed e-mail disappears, an unchanged contact makes no write', async () => {
    const e = await emulator();
    const c = connect(system(e));
    const person = (version: number, data: Record<string, unknown>, externalId?: string): DeliveryItem => ({
      ...item('counterparty', 1, { kind: 'person', name: 'Смирнова Анна', ...data }, externalId),
      version,
    });
    const [first] = await c.write!(route('counterparty'), [
      person(1, {
        phones: [{ value: '+7 900 111-22-33' }],
        emails: [{ value: 'anna@example.ru' }, { value: 'old@example.ru', type: 'home' }],
      }),
    ]);
    assert.ok(first?.ok);
    const id = Number(first.externalId.split(':')[1]);
    const held = () => e.state.table('contact').get(id)!;
    const values = (type: string) =>
      ((held()[type] ?? []) as Array<Record<string, string>>).map((m) => m['VALUE']);
    const phoneId = (held()['PHONE'] as Array<Record<string, string>>)[0]!['ID'];
    // A manager marks the phone as mobile in Bitrix24; the hub's phone has no kind of its own.
    (held()['PHONE'] as Array<Record<string, string>>)[0]!['VALUE_TYPE'] = 'MOBILE';

    const before = e.stats().writes;
    const [changed] = await c.write!(route('counterparty'), [
      person(
        2,
        { phones: [{ value: '+7 900 999-88-77' }], emails: [{ value: 'anna@example.ru' }] },
        first.externalId,
      ),
    ]);
    assert.ok(changed?.ok && changed.externalId === first.externalId);
    assert.equal(e.stats().writes - before, 1, 'one crm.contact.update');
    assert.deepEqual(values('PHONE'), ['+7 900 999-88-77'], 'one phone, not two');
    const phone = (held()['PHONE'] as Array<Record<string, string>>)[0]!;
    assert.equal(phone['ID'], phoneId, 'replaced in place, by its ID');
    assert.equal(phone['VALUE_TYPE'], 'MOBILE', "the portal's kind is kept when the hub has none");
    assert.deepEqual(values('EMAIL'), ['anna@example.ru'], 'the removed e-mail is gone');

    // Nothing differs from what the portal holds (the phone spelled another way): no write at all.
    const unchanged = e.stats().writes;
    const [same] = await c.write!(route('counterparty'), [
      person(
        3,
        { phones: [{ value: '8 (900) 999-88-77' }], emails: [{ value: 'Anna@Example.ru' }] },
        first.externalId,
      ),
    ]);
    assert.ok(same?.ok && same.externalId === first.externalId);
    assert.equal(e.stats().writes, unchanged, 'an unchanged contact makes no write');

    // An explicitly empty list removes every held value; an absent one leaves them alone.
    await c.write!(route('counterparty'), [
      person(4, { phones: [{ value: '+79009998877' }], emails: [] }, first.externalId),
    ]);
    assert.deepEqual(values('EMAIL'), []);
    assert.deepEqual(values('PHONE'), ['+7 900 999-88-77']);
    await c.write!(route('counterparty'), [person(5, {}, first.externalId)]);
    assert.deepEqual(values('PHONE'), ['+7 900 999-88-77'], 'no phones in the hub: the held ones stay');
  });

  it('contacts: a person entered by hand is found by phone (crm.duplicate.findbycomm) instead of created again', async () => {
    const e = await emulator();
    const manual = e.state.nextId('contact');
    e.state.table('contact').set(manual, {
      ID: String(manual),
      NAME: 'Пётр',
      LAST_NAME: 'Петров',
      PHONE: [{ ID: '1', TYPE_ID: 'PHONE', VALUE_TYPE: 'MOBILE', VALUE: '8 (900) 111-22-33' }],
      DATE_MODIFY: e.state.date(),
    });
    const c = connect(system(e));
    const outcomes = await c.write!(route('counterparty'), [
      item('counterparty', 1, { kind: 'person', name: 'Петров Пётр', phones: [{ value: '+79001112233' }] }),
      item('counterparty', 2, {
        kind: 'person',
        name: 'Сидоров Иван',
        emails: [{ value: 'ivan@example.ru' }],
      }),
    ]);
    assert.deepEqual(ids(outcomes), [`contact:${manual}`, `contact:${manual + 1}`]);
    assert.equal(e.state.table('contact').size, 2);
    const ivan = e.state.table('contact').get(manual + 1)!;
    assert.equal(ivan['LAST_NAME'], 'Сидоров');
    assert.equal(ivan['NAME'], 'Иван');
  });

  it('deals: stage mapping, ORIGINATOR_ID/ORIGIN_ID, product rows set in the same batch and REPLACED on update', async () => {
    const e = await emulator();
    const c = connect(system(e, { stageMap: { confirmed: 'PREPAYMENT_INVOICE' } }));
    const [companyOut] = await c.write!(route('counterparty'), [
      item('counterparty', 1, { kind: 'company', name: 'ООО Покупатель' }),
    ]);
    assert.ok(companyOut?.ok);
    const order = item('order', 1, {
      number: 'УТ-001',
      date: '2026-01-15',
      customerId: companyOut.externalId,
      status: 'confirmed',
      lines: [
        { productId: '0', name: 'Стол', quantity: 2, price: 1000, amount: 2000 },
        { productId: '0', name: 'Стул', quantity: 4, price: 250, amount: 1000 },
      ],
      totals: { amount: 3000 },
    });
    const before = e.stats().httpRequests;
    const [deal] = await c.write!(route('order'), [order]);
    assert.ok(deal?.ok, ids([deal!]).join());
    const row = e.state.table('deal').get(Number(deal.externalId))!;
    assert.equal(row['TITLE'], 'Заказ УТ-001');
    assert.equal(row['STAGE_ID'], 'PREPAYMENT_INVOICE');
    assert.equal(row['ORIGINATOR_ID'], 'obmen');
    assert.equal(row['ORIGIN_ID'], 'order-1');
    assert.equal(row['COMPANY_ID'], companyOut.externalId.split(':')[1]);
    assert.deepEqual(
      e.state.productRows.get(Number(deal.externalId))!.map((r) => [r['PRODUCT_NAME'], r['QUANTITY']]),
      [
        ['Стол', 2],
        ['Стул', 4],
      ],
    );
    // lookup by ORIGIN_ID + user-field list/add + one batch (deal + rows together)
    assert.ok(e.stats().httpRequests - before <= 5);
    const [updated] = await c.write!(route('order'), [
      {
        ...order,
        externalId: deal.externalId,
        data: {
          ...order.data,
          status: 'cancelled',
          lines: [{ name: 'Стол', quantity: 1, price: 1000, amount: 1000 }],
        },
      },
    ]);
    assert.ok(updated?.ok);
    assert.equal(e.state.table('deal').get(Number(deal.externalId))!['STAGE_ID'], 'LOSE');
    assert.deepEqual(
      e.state.productRows.get(Number(deal.externalId))!.map((r) => r['PRODUCT_NAME']),
      ['Стол'],
      'rows not sent are gone',
    );
  });

  it('products, price types, prices and stock: catalog round trip; stock moves only by conducted documents', async () => {
    const e = await emulator();
    const c = connect(system(e));
    const products = await c.write!(route('product'), [
      item('product', 1, { name: 'Стол', weight: { value: 1.5, unit: 'kg' } }),
      item('product', 2, { name: 'Стул' }),
    ]);
    assert.deepEqual(ids(products), ['1', '2']);
    assert.equal(e.state.table('product').get(1)!['weight'], 1500);
    const [wholesale] = await c.write!(route('price_type'), [item('price_type', 1, { name: 'Оптовая' })]);
    assert.ok(wholesale?.ok);
    const prices = await c.write!(route('price'), [
      item('price', 1, { productId: '1', priceTypeId: '1', value: 1000, currency: 'RUB' }),
      item('price', 2, { productId: '1', priceTypeId: wholesale.externalId, value: 800 }),
    ]);
    assert.ok(prices.every((p) => p.ok));
    // Writing one price type again must not delete the other (catalog.price.modify would).
    await c.write!(route('price'), [
      item('price', 1, { productId: '1', priceTypeId: '1', value: 1100, currency: 'RUB' }),
    ]);
    const held = [...e.state.table('price').values()].map((p) => [p['catalogGroupId'], p['price']]).sort();
    assert.deepEqual(held, [
      [1, 1100],
      [Number(wholesale.externalId), 800],
    ]);

    const [store] = await c.write!(route('warehouse'), [item('warehouse', 1, { name: 'Склад Москва' })]);
    assert.ok(store?.ok);
    const stock = (i: number, productId: string, quantity: number) =>
      item('stock', i, { productId, warehouseId: store.externalId, quantity });
    assert.deepEqual(ids(await c.write!(route('stock'), [stock(1, '1', 10), stock(2, '2', 3)])), [
      `1:${store.externalId}`,
      `2:${store.externalId}`,
    ]);
    const amounts = () =>
      [...e.state.table('store_product').values()]
        .filter((r) => String(r['storeId']) === store.externalId)
        .map((r) => [r['productId'], r['amount']]);
    assert.deepEqual(amounts(), [
      [1, 10],
      [2, 3],
    ]);
    const docsBefore = e.state.table('document').size;
    assert.ok((await c.write!(route('stock'), [stock(1, '1', 4), stock(2, '2', 3)])).every((o) => o.ok));
    assert.deepEqual(amounts(), [
      [1, 4],
      [2, 3],
    ]);
    assert.equal(
      e.state.table('document').size,
      docsBefore + 1,
      'one write-off document; the unchanged balance needs none',
    );
    assert.equal([...e.state.table('document').values()].at(-1)!['docType'], 'D');
  });

  it("VAT: a product's rate becomes the portal's vatId (list read once); a rate the portal lacks parks the product with what to do", async () => {
    const e = await emulator();
    const c = connect(system(e));
    const vats = (await b24rest(e, 'catalog.vat.list', {})) as {
      vats: Array<{ id: number; rate: number | null; name: string }>;
    };
    const idOfRate = (rate: number | null) => vats.vats.find((v) => v.rate === rate)!.id;
    assert.ok(
      vats.vats.some((v) => v.rate === 22),
      'the emulated portal has the 2026 standard rate',
    );
    await b24rest(e, 'catalog.vat.update', { id: idOfRate(5), fields: { active: 'N' } });
    e.resetStats();
    const out = await c.write!(route('product'), [
      item('product', 1, { name: 'Стол', vatRate: 22 }),
      item('product', 2, { name: 'Хлеб', vatRate: 10 }),
      item('product', 3, { name: 'Книга', vatRate: null }),
      item('product', 4, { name: 'Экспорт', vatRate: 0 }),
      item('product', 5, { name: 'Старый', vatRate: 18 }),
      item('product', 6, { name: 'УСН', vatRate: 5 }),
      item('product', 7, { name: 'Без ставки' }),
    ]);
    assert.deepEqual(
      out.map((o) => o.ok),
      [true, true, true, true, false, false, true],
    );
    const vatOf = (o: ItemOutcome | undefined) =>
      e.state.table('product').get(Number(o?.ok ? o.externalId : 0))?.['vatId'];
    assert.deepEqual([out[0], out[1], out[2], out[3], out[6]].map(vatOf), [
      idOfRate(22),
      idOfRate(10),
      idOfRate(null),
      idOfRate(0),
      undefined,
    ]);
    const missing = out[4]!;
    assert.ok(!missing.ok);
    assert.equal(missing.error.errorClass, 'config');
    assert.equal(missing.error.code, 'VAT_RATE_MISSING');
    assert.match(missing.error.message, /product product-5 "Старый": the portal has no VAT rate 18%/);
    assert.match(missing.error.message, /add it in Bitrix24 .*catalog\.vat\.add.*then retry/);
    const inactive = out[5]!;
    assert.ok(!inactive.ok);
    assert.match(inactive.error.message, /VAT rate 5% "НДС 5%" \(id \d+\) is inactive; activate it/);
    assert.equal(e.stats().calls['catalog.vat.list'], 1, 'the rates are read once');

    // Known rates: no second look-up. An administrator adds 18%: the retry finds it.
    await c.write!(route('product'), [
      item('product', 1, { name: 'Стол 2', vatRate: 22 }, out[0]!.ok ? out[0]!.externalId : undefined),
    ]);
    assert.equal(e.stats().calls['catalog.vat.list'], 1);
    const added = (await b24rest(e, 'catalog.vat.add', { fields: { name: 'НДС 18%', rate: 18 } })) as {
      vat: { id: number };
    };
    const [retried] = await c.write!(route('product'), [item('product', 5, { name: 'Старый', vatRate: 18 })]);
    assert.ok(retried?.ok);
    assert.equal(vatOf(retried), added.vat.id);

    // Read back: vatId → the canonical rate.
    const batches = [];
    for await (const b of c.read!({
      source: { name: 's', system: 'b24', entity: 'product', schedule: '5m', batchSize: 50 },
      cursor: undefined,
      full: true,
    }))
      batches.push(...b.items);
    const rates = new Map(batches.map((b) => [b.data['name'], b.data['vatRate']]));
    assert.equal(rates.get('Стол 2'), 22);
    assert.equal(rates.get('Книга'), null);
    assert.equal(rates.get('Без ставки'), undefined, 'no vatId, no rate');
  });

  it('the legacy crm.product.* API when configured', async () => {
    const e = await emulator();
    const c = connect(system(e, { legacyProducts: true }));
    const out = await c.write!(route('product'), [item('product', 1, { name: 'Старый товар' })]);
    assert.deepEqual(ids(out), ['1']);
    assert.equal(e.state.table('crm_product').get(1)!['XML_ID'], 'product-1');
    assert.deepEqual(
      ids(await c.write!(route('product'), [item('product', 1, { name: 'Старый товар 2' })])),
      ['1'],
      'found by XML_ID, not duplicated',
    );
  });

  it('a moved portal (302) is followed with the POST body and remembered', async () => {
    const e = await emulator();
    const port = new URL(e.url).port;
    e.moveHost(`localhost:${port}`, e.url);
    const c = connect({ ...system(e), url: `http://localhost:${port}` });
    const out = await c.write!(route('product'), [item('product', 1, { name: 'Стол' })]);
    assert.deepEqual(ids(out), ['1']);
    const redirectsBefore = e.stats().httpRequests;
    await c.write!(route('product'), [item('product', 2, { name: 'Стул' })]);
    assert.equal(e.stats().httpRequests - redirectsBefore, 2, 'lookup + batch, no second redirect');
  });

  it('the operating-time budget: obmen stops calling a method before Bitrix24 blocks it', async () => {
    const e = await emulator({
      limits: { operatingLimitMs: 20_000 },
      operatingCostMs: (m) => (m === 'crm.company.list' ? 8_000 : 1),
    });
    const c = connect(system(e, { operatingLimitSeconds: 20 }));
    const read = async () => {
      const batches = [];
      for await (const b of c.read!({
        source: { name: 's', system: 'b24', entity: 'counterparty', schedule: '5m', batchSize: 50 },
        cursor: undefined,
        full: true,
      }))
        batches.push(b);
      return batches;
    };
    await read();
    await read();
    await assert.rejects(read(), (error: unknown) => {
      assert.ok(error instanceof ObmenError);
      assert.equal(error.errorClass, 'rate_limited');
      assert.equal(error.code, 'OPERATION_TIME_LIMIT');
      assert.ok((error.retryAfterMs ?? 0) > 0);
      return true;
    });
    assert.equal(e.stats().operatingErrors, 0, 'the portal never had to answer 429');
  });

  it('a 429 OPERATION_TIME_LIMIT blocks only that method, until the reset Bitrix24 reported', async () => {
    const e = await emulator({
      limits: { operatingLimitMs: 1_000 },
      operatingCostMs: (m) => (m === 'crm.company.list' ? 2_000 : 1),
    });
    // obmen believes the limit is 480 s: only the portal's 429 can tell it.
    const c = connect(system(e));
    const source = { name: 's', system: 'b24', entity: 'counterparty', schedule: '5m', batchSize: 50 };
    const read = async () => {
      for await (const _ of c.read!({ source, cursor: undefined, full: true })) {
        // drain
      }
    };
    await read();
    let caught: unknown;
    await read().catch((error: unknown) => {
      caught = error;
    });
    assert.ok(caught instanceof ObmenError);
    assert.equal(caught.errorClass, 'rate_limited');
    assert.equal(caught.code, 'OPERATION_TIME_LIMIT');
    assert.ok(
      (caught.retryAfterMs ?? 0) > 60_000,
      `waits for operating_reset_at, got ${caught.retryAfterMs}`,
    );
    const calls = e.stats().httpRequests;
    await assert.rejects(read(), /crm\.company\.list/);
    assert.equal(e.stats().httpRequests, calls, 'the blocked method is not called again');
    const out = await c.write!(route('product'), [item('product', 1, { name: 'Стол' })]);
    assert.ok(out[0]?.ok, 'other methods still work');
  });

  it("a 503 QUERY_LIMIT_EXCEEDED (user limits above the portal's) is rate_limited with a pause", async () => {
    const e = await emulator({ limits: { rate: 1, burst: 2 } });
    const c = connect({ ...system(e), limits: { rate: '100/s', burst: 100 } });
    let caught: unknown;
    for (let i = 0; i < 5 && !caught; i++) {
      await c.write!(route('product'), [item('product', i, { name: `Товар ${i}` })]).catch(
        (error: unknown) => {
          caught = error;
        },
      );
    }
    assert.ok(caught instanceof ObmenError);
    assert.equal(caught.errorClass, 'rate_limited');
    assert.equal(caught.code, 'QUERY_LIMIT_EXCEEDED');
    assert.equal(caught.retryAfterMs, 1000);
  });

  it("the system's one limiter gets Bitrix24's documented limits when the user set no rate (ConnectorFactory.defaultLimits)", () => {
    const b24 = (extra: Record<string, unknown> = {}): SystemConfig => ({
      kind: 'bitrix24',
      url: 'https://x.bitrix24.ru',
      ...extra,
    });
    assert.deepEqual(effectiveLimits(b24()), { rate: '2/s', burst: 48 });
    assert.deepEqual(effectiveLimits(b24({ options: { plan: 'enterprise' } })), { rate: '5/s', burst: 248 });
    assert.deepEqual(effectiveLimits(b24({ limits: { timeout: '10s' } })), {
      rate: '2/s',
      burst: 48,
      timeout: '10s',
    });
    assert.deepEqual(
      effectiveLimits(b24({ limits: { rate: '1/s' } })),
      { rate: '1/s' },
      "the user's rate wins whole",
    );
    assert.equal(
      effectiveLimits({ kind: 'http', url: 'https://x.ru' }),
      undefined,
      'no defaults: unlimited as before',
    );
  });

  it('maps every documented error to the taxonomy', () => {
    const cases: Array<[number, string | number, string, string]> = [
      [503, 'QUERY_LIMIT_EXCEEDED', 'Too many requests', 'rate_limited'],
      [429, 'OPERATION_TIME_LIMIT', 'Method is blocked', 'rate_limited'],
      [401, 'expired_token', 'The access token provided has expired.', 'auth_refresh'],
      [401, 'invalid_token', 'invalid', 'config'],
      [401, 'NO_AUTH_FOUND', 'Wrong authorization data', 'config'],
      [403, 'insufficient_scope', '', 'config'],
      [400, '', 'Not found', 'permanent'],
      [400, '', 'Access denied', 'config'],
      [400, 200040300010, 'Access Denied', 'config'],
      [400, 0, 'Required fields: name', 'permanent'],
      [404, 'ERROR_METHOD_NOT_FOUND', 'Method not found!', 'config'],
      [500, 'INTERNAL_SERVER_ERROR', 'Internal server error', 'transient'],
      [503, 'OVERLOAD_LIMIT', 'blocked', 'config'],
      [400, 'ERROR_CORE', 'Discount Sum is required', 'permanent'],
    ];
    for (const [status, code, description, expected] of cases) {
      const error = bitrix24Error('b24', 'm', { error: code, error_description: description }, status);
      assert.equal(error.errorClass, expected, `${status} ${code}`);
      if (description) assert.ok(error.message.includes(description), error.message);
    }
  });
});

describe('bitrix24 partial batch failure through the engine', () => {
  it("50 products with 3 invalid → 47 delivered, 3 parked with Bitrix24's own message", async () => {
    const e = await emulator();
    // Three products already hold the symbolic codes the invalid ones will ask for.
    for (const code of ['DUP-1', 'DUP-2', 'DUP-3']) {
      const id = e.state.nextId('product');
      e.state.table('product').set(id, { id, iblockId: 25, name: `Ручной ${code}`, code, xmlId: code });
    }
    const db = await createTestDatabase('sqlite');
    const store = await db.open();
    registerConnector(bitrix24Connector);
    const config = hubConfig({
      systems: { onec: { kind: 'noop' }, b24: { ...system(e, { productCode: 'article' }) } },
      routes: [{ name: 'products-to-b24', entity: 'product', target: 'b24', batchSize: 50 }],
      retry: { maxAttempts: 1, baseDelay: '1s', maxDelay: '10s' },
    });
    const hub = await createTestHub(store, config);
    try {
      const items = Array.from({ length: 50 }, (_, i) => ({
        externalId: `p${i}`,
        data: {
          name: `Товар ${i}`,
          article: [7, 21, 42].includes(i) ? `DUP-${[7, 21, 42].indexOf(i) + 1}` : `A-${i}`,
        },
      }));
      await hub.ingest('onec', 'product', items);
      e.resetStats();
      await hub.deliver('products-to-b24');
      const rows = await hub.outbox('products-to-b24');
      const failed = rows.filter((r) => r.state !== 'delivered');
      assert.equal(rows.filter((r) => r.state === 'delivered').length, 47);
      assert.equal(failed.length, 3);
      for (const row of failed) {
        assert.equal(row.last_error_class, 'permanent');
        assert.match(row.last_error ?? '', /Product with the specified symbolic code already exists/);
      }
      assert.equal(e.stats().batchCalls, 1, 'all 50 went in one batch call');
      assert.equal(e.state.table('product').size, 3 + 47);
    } finally {
      await hub.close();
      await store.close();
      await db.drop();
    }
  });
});
