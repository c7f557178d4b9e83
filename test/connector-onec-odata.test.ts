import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { pino } from 'pino';
import { type OnecOdataEmulator, startOnecOdataEmulator } from '../emulators/onec-odata/index.ts';
import type { RouteConfig, SourceConfig, SystemConfig } from '../src/config/schema.ts';
import {
  discoverOnecOdata,
  onecOdataConnector,
  resolveOnecSystem,
} from '../src/connectors/onec-odata/index.ts';
import { andFilters, buildQuery, guidLiteral, stringLiteral } from '../src/connectors/onec-odata/query.ts';
import { ManualClock } from '../src/core/clock.ts';
import type { Connector, DeliveryItem, SourceBatch } from '../src/core/connector.ts';
import { ObmenError } from '../src/core/errors.ts';
import { createHttpClient } from '../src/http/client.ts';
import type { HttpClient } from '../src/http/types.ts';
import { openStore } from '../src/store/store.ts';
import { defineConnectorContract } from './support/connector-contract.ts';

const log = pino({ level: 'silent' });
const LOGIN = { login: 'Обмен', password: 'секрет' };

function system(emulator: OnecOdataEmulator, credentials: Record<string, string> = LOGIN): SystemConfig {
  return { kind: 'onec-odata', url: emulator.publicationUrl, credentials };
}

function connect(sys: SystemConfig, options: { maxRetries?: number; timeoutMs?: number } = {}): Connector {
  const http = createHttpClient({
    system: 'onec',
    clock: new ManualClock(),
    maxRetries: options.maxRetries ?? 0,
    ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
  });
  return onecOdataConnector.create({
    systemName: 'onec',
    system: sys,
    http,
    log,
    signal: new AbortController().signal,
  });
}

const emulators: OnecOdataEmulator[] = [];
async function emulator(
  options: Parameters<typeof startOnecOdataEmulator>[0] = {},
): Promise<OnecOdataEmulator> {
  const started = await startOnecOdataEmulator({ items: 50, counterparties: 10, ...options });
  emulators.push(started);
  return started;
}
after(() => Promise.all(emulators.map((e) => e.close())));

const source = (entity: string, options: Record<string, unknown> = {}, batchSize = 20): SourceConfig => ({
  name: `onec-${entity}`,
  system: 'onec',
  entity,
  schedule: '5m',
  batchSize,
  options,
});

const route = (entity: string, options: Record<string, unknown> = {}): RouteConfig => ({
  name: `to-onec-${entity}`,
  entity,
  target: 'onec',
  schedule: 'on-change',
  batchSize: 50,
  options,
});

async function readAll(connector: Connector, src: SourceConfig, cursor?: string, full = false) {
  const batches: SourceBatch[] = [];
  for await (const batch of connector.read!({ source: src, cursor, full })) batches.push(batch);
  const items = batches.flatMap((b) => b.items);
  const last = [...batches].reverse().find((b) => b.cursor !== undefined)?.cursor;
  return { batches, items, cursor: last };
}

const counterpartyItem = (i: number, data: Record<string, unknown> = {}): DeliveryItem => ({
  recordId: `cp-${i}`,
  entity: 'counterparty',
  version: 1,
  hash: `h-${i}`,
  data: {
    name: `ООО "Контрольная ${i}"`,
    inn: String(5000000000 + i),
    kpp: '500101001',
    kind: 'company',
    ...data,
  },
  deleted: false,
  externalId: undefined,
});

async function rejectsWith(
  promise: Promise<unknown>,
  errorClass: string,
  message?: RegExp,
): Promise<ObmenError> {
  let caught: unknown;
  await assert.rejects(promise, (error: unknown) => {
    caught = error;
    return true;
  });
  assert.ok(caught instanceof ObmenError, `expected ObmenError, got ${String(caught)}`);
  assert.equal(caught.errorClass, errorClass, caught.message);
  if (message) assert.match(caught.message, message);
  return caught;
}

defineConnectorContract('onec-odata (against emulators/onec-odata, Catalog_Контрагенты)', async () => {
  const e = await startOnecOdataEmulator({ items: 10, counterparties: 5 });
  return {
    connector: connect(system(e)),
    route: route('counterparty'),
    badCredentials: () => connect(system(e, { login: 'Обмен', password: 'неверный' })),
    makeItem: (i) => counterpartyItem(i),
    // 1C's ПередЗаписью refuses a counterparty without a name: HTTP 500, code -1.
    invalidItem: (i) => counterpartyItem(i, { name: '' }),
    invalidMessage: 'Поле "Наименование" не заполнено',
    teardown: () => e.close(),
  };
});

describe('onec-odata: query building', () => {
  it('escapes quotes in string literals and refuses non-GUIDs in guid literals', () => {
    assert.equal(stringLiteral('ООО "О\'Нил"'), "'ООО \"О''Нил\"'");
    assert.equal(
      guidLiteral('F02CE7B3-CDAD-11E6-AEDE-5404A6B4B8ED'),
      "guid'f02ce7b3-cdad-11e6-aede-5404a6b4b8ed'",
    );
    assert.throws(() => guidLiteral("x' or 1 eq 1 or 'a"), /not a GUID/);
  });

  it('encodes spaces as %20 (never "+") and Cyrillic as UTF-8 escapes', () => {
    const query = buildQuery({
      filter: "Description eq 'Дрель А'",
      top: 10,
      skip: 20,
      select: ['Ref_Key', 'Артикул'],
    });
    assert.ok(!query.includes('+'), query);
    assert.match(query, /\$filter=Description%20eq%20'%D0%94%D1%80%D0%B5%D0%BB%D1%8C%20%D0%90'/);
    assert.match(query, /\$select=Ref_Key,%D0%90%D1%80%D1%82%D0%B8%D0%BA%D1%83%D0%BB/);
    assert.match(query, /^\?\$format=json&/);
    assert.equal(andFilters('a eq 1 or b eq 2', undefined, 'c eq 3'), '(a eq 1 or b eq 2) and (c eq 3)');
  });

  it('resolves the service URL from a publication URL or a full one, and builds a UTF-8 Basic header', () => {
    const settings = resolveOnecSystem('onec', {
      kind: 'onec-odata',
      url: 'http://1c.local/ut11/',
      credentials: LOGIN,
    });
    assert.equal(settings.serviceUrl, 'http://1c.local/ut11/odata/standard.odata');
    assert.equal(settings.authorization, `Basic ${Buffer.from('Обмен:секрет', 'utf8').toString('base64')}`);
    const full = resolveOnecSystem('onec', {
      kind: 'onec-odata',
      url: 'http://1c.local/ut11/odata/standard.odata',
      credentials: LOGIN,
    });
    assert.equal(full.serviceUrl, 'http://1c.local/ut11/odata/standard.odata');
    assert.throws(() => resolveOnecSystem('onec', { kind: 'onec-odata', url: 'http://x' }), /credentials/);
  });
});

describe('onec-odata: source', () => {
  it('pages through Catalog_Номенклатура with $top/$skip and converts to canonical products', async () => {
    const e = await emulator({ items: 45 });
    const connector = connect(system(e));
    const { batches, items, cursor } = await readAll(connector, source('product'));
    assert.equal(items.length, 45, 'products only: the 10 folders are groups');
    assert.ok(batches.length >= 3, `paged: ${batches.length} batches`);
    assert.equal(new Set(items.map((i) => i.externalId)).size, 45);
    const first = items[0]!;
    assert.equal(first.externalId, e.catalog.refs.product(0));
    assert.deepEqual(first.data, {
      name: 'Дрель модель 000001',
      fullName: 'Дрель модель 000001 (Бытовая техника)',
      article: 'АРТ-000001',
      description: 'Описание товара 1',
      groupId: e.catalog.refs.group(0),
      baseUnitId: e.catalog.refs.unit(0),
    });
    assert.equal(
      (first.raw as Record<string, unknown>)['СрокГодности'],
      '0',
      'raw is the 1C object, Int64 as a string',
    );
    assert.ok(cursor?.startsWith('dv1:'));
  });

  it('a second poll of an unchanged catalog yields nothing; an edit yields exactly that object', async () => {
    const e = await emulator({ items: 30 });
    const connector = connect(system(e));
    const first = await readAll(connector, source('product'));
    assert.equal(first.items.length, 30);
    const before = e.stats().gets;
    const second = await readAll(connector, source('product'), first.cursor);
    assert.equal(second.items.length, 0);
    assert.ok(second.cursor);
    assert.equal(
      e.stats().gets - before,
      2,
      'two keys-only pages (Ref_Key, DataVersion), nothing fetched in full',
    );
    const ref = e.catalog.refs.product(7);
    e.catalog.edit('Catalog_Номенклатура', ref, { Description: 'Дрель новая' });
    const third = await readAll(connector, source('product'), second.cursor);
    assert.deepEqual(
      third.items.map((i) => [i.externalId, i.data['name']]),
      [[ref, 'Дрель новая']],
    );
    const full = await readAll(connector, source('product'), third.cursor, true);
    assert.equal(full.items.length, 30, 'a full read ignores the cursor');
  });

  it('an object gone from 1C is reported deleted; one that only left options.filter is not', async () => {
    const e = await emulator({ items: 30 });
    const connector = connect(system(e));
    const src = source('product', { filter: 'DeletionMark eq false' });
    const first = await readAll(connector, src);
    assert.equal(first.items.length, 30);
    const marked = e.catalog.refs.product(3);
    const deleted = e.catalog.refs.product(4);
    e.catalog.edit('Catalog_Номенклатура', marked, { DeletionMark: true });
    assert.equal(e.catalog.remove('Catalog_Номенклатура', deleted), true);
    const before = e.stats().gets;
    const second = await readAll(connector, src, first.cursor);
    assert.deepEqual(
      second.items.map((i) => [i.externalId, i.deleted, i.data]),
      [[deleted, true, {}]],
      'only the object 1C no longer has',
    );
    assert.equal(e.stats().gets - before, 3, 'two keys-only pages and one lookup of the two missing ids');
    const third = await readAll(connector, src, second.cursor);
    assert.deepEqual(third.items, [], 'told once');
    assert.equal(e.stats().gets - before, 5, 'neither is looked up again');
  });

  it('when much of a page changed, the page is fetched again in full instead of by Ref_Key chains', async () => {
    const e = await emulator({ items: 90 });
    const connector = connect(system(e));
    const src = source('product', {}, 100);
    const first = await readAll(connector, src);
    for (let n = 0; n < 60; n++)
      e.catalog.edit('Catalog_Номенклатура', e.catalog.refs.product(n), { Описание: `новое ${n}` });
    e.catalog.edit('Catalog_Номенклатура', e.catalog.refs.product(89), { Описание: 'последний' });
    const before = e.stats().gets;
    const second = await readAll(connector, src, first.cursor);
    assert.equal(second.items.length, 61);
    assert.equal(second.items[60]!.data['description'], 'последний');
    assert.equal(e.stats().gets - before, 2, 'one keys page, one full page');
    const third = await readAll(connector, src, second.cursor);
    assert.equal(third.items.length, 0);
  });

  it('DeletionMark → deleted; empty refs and padded strings become absent/trimmed', async () => {
    const e = await emulator({ items: 10 });
    const connector = connect(system(e));
    const ref = e.catalog.refs.product(2);
    e.catalog.edit('Catalog_Номенклатура', ref, {
      DeletionMark: true,
      Артикул: 'А-7     ',
      Parent_Key: '00000000-0000-0000-0000-000000000000',
    });
    const { items } = await readAll(connector, source('product'));
    const item = items.find((i) => i.externalId === ref)!;
    assert.equal(item.deleted, true);
    assert.equal(item.data['deleted'], true);
    assert.equal(item.data['article'], 'А-7');
    assert.ok(!('groupId' in item.data));
  });

  it('reads by a date field: cursor is the last date, the boundary second is read again', async () => {
    const e = await emulator();
    const connector = connect(system(e));
    const customer = e.catalog.refs.counterparty(0);
    const product = e.catalog.refs.product(0);
    for (const [i, date] of ['2026-03-01T10:00:00', '2026-03-02T10:00:00', '2026-03-02T10:00:00'].entries()) {
      e.catalog.create('Document_ЗаказКлиента', {
        Date: date,
        Контрагент_Key: customer,
        Товары: [{ Номенклатура_Key: product, Количество: i + 1, Цена: 10, Сумма: 10 * (i + 1) }],
      });
    }
    const src = source('order', { dateField: 'Date' }, 2);
    const first = await readAll(connector, src);
    assert.equal(first.items.length, 3);
    assert.equal(first.cursor, 'dt1:2026-03-02T10:00:00');
    assert.deepEqual(first.items[0]!.data['lines'], [
      { lineNo: 1, productId: product, quantity: 1, price: 10, amount: 10, vatAmount: 0 },
    ]);
    e.catalog.create('Document_ЗаказКлиента', { Date: '2026-03-03T09:00:00', Контрагент_Key: customer });
    const second = await readAll(connector, src, first.cursor);
    assert.deepEqual(
      second.items.map((i) => i.data['date']),
      ['2026-03-02T10:00:00', '2026-03-02T10:00:00', '2026-03-03T09:00:00'],
    );
    assert.equal(second.cursor, 'dt1:2026-03-03T09:00:00');
  });

  it('reads prices from SliceLast and stock from Balance, keyed by their dimensions', async () => {
    const e = await emulator({ items: 5 });
    const connector = connect(system(e));
    const prices = await readAll(connector, source('price'));
    assert.equal(prices.items.length, 10);
    assert.deepEqual(prices.items[1], {
      externalId: `${e.catalog.refs.product(0)}#${e.catalog.refs.priceType(1)}`,
      data: { productId: e.catalog.refs.product(0), priceTypeId: e.catalog.refs.priceType(1), value: 90 },
      deleted: false,
      raw: prices.items[1]!.raw,
    });
    const stock = await readAll(connector, source('stock'));
    assert.equal(stock.items.length, 15);
    assert.equal(stock.items[0]!.externalId, `${e.catalog.refs.product(0)}#${e.catalog.refs.warehouse(0)}`);
    assert.equal(stock.items[0]!.data['quantity'], 1);
    const narrowed = await readAll(
      connector,
      source('stock', { condition: `Склад_Key eq guid'${e.catalog.refs.warehouse(2)}'` }),
    );
    assert.equal(narrowed.items.length, 5, 'Condition narrows the virtual table');
  });

  it('a stock row that left the Balance table (went to zero) is reported once with quantity 0', async () => {
    const e = await emulator({ items: 5 });
    const connector = connect(system(e));
    const first = await readAll(connector, source('stock'));
    assert.equal(first.items.length, 15);
    e.catalog.setStock(1, 2, 0);
    e.catalog.setStock(3, 0, 42);
    const second = await readAll(connector, source('stock'), first.cursor);
    assert.deepEqual(
      second.items.map((i) => [i.externalId, i.data['quantity']]),
      [
        [`${e.catalog.refs.product(3)}#${e.catalog.refs.warehouse(0)}`, 42],
        [`${e.catalog.refs.product(1)}#${e.catalog.refs.warehouse(2)}`, 0],
      ],
    );
    const third = await readAll(connector, source('stock'), second.cursor);
    assert.equal(third.items.length, 0);
  });

  it('a set 1C does not publish is a config error naming the set and how to publish it', async () => {
    const e = await emulator({ published: ['Catalog_Контрагенты'] });
    const error = await rejectsWith(readAll(connect(system(e)), source('product')), 'config');
    assert.match(error.message, /Catalog_Номенклатура/);
    assert.match(error.message, /Установка стандартного интерфейса OData/);
  });

  it("a bad $filter in the source options is a config error with 1C's text", async () => {
    const e = await emulator();
    const error = await rejectsWith(
      readAll(connect(system(e)), source('product', { filter: 'Артикул eq' })),
      'config',
      /Error parsing \$filter/,
    );
    assert.equal(error.code, 'ODATA_14');
  });

  it('an HTML page with status 200 is transient; the shared client retries it and the read completes', async () => {
    const e = await emulator({ items: 5 });
    e.setFaults({ htmlNext: 1 });
    const once = connect(system(e));
    await rejectsWith(readAll(once, source('product')), 'transient', /HTML page/);
    e.setFaults({ htmlNext: 2 });
    const retrying = connect(system(e), { maxRetries: 3 });
    const { items } = await readAll(retrying, source('product'));
    assert.equal(items.length, 5);
    assert.equal(e.stats().html, 3);
  });
});

describe('onec-odata: sink', () => {
  const order = (i: number, data: Record<string, unknown>): DeliveryItem => ({
    recordId: `ord-${i}`,
    entity: 'order',
    version: 1,
    hash: `o-${i}`,
    data,
    deleted: false,
    externalId: undefined,
  });

  it('creates a Document_ЗаказКлиента with its Товары, posts it, and finds it again instead of duplicating', async () => {
    const e = await emulator();
    const connector = connect(system(e));
    const data = {
      number: 'САЙТ-1001',
      date: '2026-05-01T10:30:00',
      customerId: e.catalog.refs.counterparty(1),
      warehouseId: e.catalog.refs.warehouse(0),
      lines: [
        { productId: e.catalog.refs.product(3), quantity: 2, price: 150, amount: 300 },
        { productId: e.catalog.refs.product(4), quantity: 1, price: 99.5, amount: 99.5 },
      ],
      comment: 'Заказ с сайта',
    };
    const rt = route('order', {
      defaults: { Статус: 'КОбеспечению', ХозяйственнаяОперация: 'РеализацияКлиенту' },
    });
    const [outcome] = await connector.write!(rt, [order(1, data)]);
    assert.ok(outcome?.ok, JSON.stringify(outcome));
    const doc = e.catalog.get('Document_ЗаказКлиента', outcome.externalId)!;
    assert.equal(doc['Posted'], true);
    assert.equal(doc['НомерПоДаннымКлиента'], 'САЙТ-1001');
    assert.equal(doc['Статус'], 'КОбеспечению');
    assert.equal(doc['Комментарий'], 'Заказ с сайта');
    assert.equal(doc['СуммаДокумента'], 399.5);
    assert.deepEqual(
      (doc['Товары'] as Array<Record<string, unknown>>).map((row) => [
        row['LineNumber'],
        row['Количество'],
        row['Цена'],
      ]),
      [
        ['1', 2, 150],
        ['2', 1, 99.5],
      ],
    );
    // A retry after a lost answer: same order, externalId unknown → found by НомерПоДаннымКлиента.
    const [again] = await connector.write!(rt, [order(1, data)]);
    assert.deepEqual(again, outcome);
    // An update replaces the tabular section whole.
    const [updated] = await connector.write!(rt, [
      { ...order(1, { ...data, lines: [data.lines[0]] }), version: 2, externalId: outcome.externalId },
    ]);
    assert.ok(updated?.ok);
    assert.equal(e.catalog.created('Document_ЗаказКлиента').length, 1);
    assert.equal(
      (e.catalog.get('Document_ЗаказКлиента', outcome.externalId)!['Товары'] as unknown[]).length,
      1,
    );
  });

  it("a posting refusal is a permanent outcome with 1C's Russian message; the rest of the batch goes on", async () => {
    const e = await emulator();
    const connector = connect(system(e));
    const good = {
      number: 'С-1',
      date: '2026-05-01',
      customerId: e.catalog.refs.counterparty(0),
      lines: [{ productId: e.catalog.refs.product(0), quantity: 1, price: 1, amount: 1 }],
    };
    const noCustomerLines = {
      number: 'С-2',
      date: '2026-05-01',
      customerId: e.catalog.refs.counterparty(0),
      lines: [],
    };
    const outcomes = await connector.write!(route('order'), [
      order(1, good),
      order(2, noCustomerLines),
      order(3, { ...good, number: 'С-3' }),
    ]);
    assert.deepEqual(
      outcomes.map((o) => o.ok),
      [true, false, true],
    );
    const failed = outcomes[1]!;
    assert.ok(!failed.ok);
    assert.equal(failed.error.errorClass, 'permanent');
    assert.match(failed.error.message, /Не удалось провести "Заказ клиента УТ-\d+ от 01\.05\.2026 0:00:00"!/);
    assert.match(failed.error.message, /Не введено ни одной строки в список "Товары"/);
    assert.equal(failed.error.code, 'ODATA_-1');
  });

  it('when 1C fails (503) the remaining items of the batch are not tried and are transient', async () => {
    const e = await emulator();
    const connector = connect(system(e));
    e.setFaults({ failNext: 1 });
    const outcomes = await connector.write!(route('counterparty'), [
      counterpartyItem(1),
      counterpartyItem(2),
    ]);
    assert.deepEqual(
      outcomes.map((o) => (o.ok ? 'ok' : o.error.errorClass)),
      ['transient', 'transient'],
    );
    assert.equal(e.catalog.created('Catalog_Контрагенты').length, 0);
    assert.equal(e.stats().requests, 1, 'one failed lookup, nothing after it');
  });

  it('an object removed from 1C for good is created anew when its known Ref_Key answers 404 code 9', async () => {
    const e = await emulator();
    const connector = connect(system(e));
    const [created] = await connector.write!(route('counterparty'), [counterpartyItem(6)]);
    assert.ok(created?.ok);
    assert.ok(e.catalog.remove('Catalog_Контрагенты', created.externalId));
    const [again] = await connector.write!(route('counterparty'), [
      { ...counterpartyItem(6), version: 2, externalId: created.externalId },
    ]);
    assert.ok(again?.ok);
    assert.notEqual(again.externalId, created.externalId);
    assert.equal(e.catalog.get('Catalog_Контрагенты', again.externalId)?.['ИНН'], '5000000006');
  });

  it('a deletion sets DeletionMark (1C DELETE would remove the object physically)', async () => {
    const e = await emulator();
    const connector = connect(system(e));
    const [created] = await connector.write!(route('counterparty'), [counterpartyItem(5)]);
    assert.ok(created?.ok);
    const [deleted] = await connector.write!(route('counterparty'), [
      { ...counterpartyItem(5), version: 2, deleted: true, externalId: created.externalId },
    ]);
    assert.deepEqual(deleted, created);
    assert.equal(e.catalog.get('Catalog_Контрагенты', created.externalId)!['DeletionMark'], true);
  });
});

describe('onec-odata: check() and discover()', () => {
  it('check() names what to fix: credentials, publication, unreachable', async () => {
    const e = await emulator();
    await connect(system(e)).check();
    await rejectsWith(connect(system(e, { login: 'Обмен', password: 'x' })).check(), 'config', /credentials/);
    await rejectsWith(
      connect({ kind: 'onec-odata', url: `${e.publicationUrl}-other`, credentials: LOGIN }).check(),
      'config',
      /Публиковать стандартный интерфейс OData/,
    );
    const empty = await emulator({ published: [] });
    await rejectsWith(connect(system(empty)).check(), 'config', /Установка стандартного интерфейса OData/);
    const gone = await startOnecOdataEmulator();
    const url = gone.publicationUrl;
    await gone.close();
    await rejectsWith(
      connect({ kind: 'onec-odata', url, credentials: LOGIN }).check(),
      'config',
      /cannot reach 1C/,
    );
  });

  it('discover() lists entity sets, tabular-section fields and virtual tables from $metadata', async () => {
    const e = await emulator();
    const ctx = {
      systemName: 'onec',
      system: system(e),
      http: createHttpClient({ system: 'onec', maxRetries: 0 }),
      log,
      signal: new AbortController().signal,
    };
    const sets = await discoverOnecOdata(ctx);
    const products = sets.find((s) => s.name === 'Catalog_Номенклатура');
    assert.ok(products?.fields.some((f) => f.name === 'Артикул' && f.type === 'Edm.String'));
    const orders = sets.find((s) => s.name === 'Document_ЗаказКлиента');
    assert.ok(orders?.tabularSections['Товары']?.some((f) => f.name === 'Номенклатура_Key'));
    const balance = sets.find((s) => s.name === 'AccumulationRegister_ТоварыНаСкладах/Balance');
    assert.equal(balance?.kind, 'virtual-table');
    assert.ok(balance?.fields.some((f) => f.name === 'ВНаличииBalance'));
    const listed = await onecOdataConnector.create(ctx).discover!();
    assert.ok(listed.find((s) => s.name === 'Document_ЗаказКлиента')?.fields.includes('Товары[].Количество'));
  });

  it('discover() parses a real-sized $metadata as it streams in; the request log keeps status, size and head', async () => {
    // The emulator sends 1 MB of its ~15 MB $metadata and then waits until the parser has read
    // that much: a client that held whole answers would never hand anything over, and the
    // request would end in its timeout instead.
    const HOLD_AT = 1024 * 1024;
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const e = await emulator({ extraCatalogs: 5000, metadataHold: { afterBytes: HOLD_AT, until: held } });
    const dir = mkdtempSync(join(tmpdir(), 'obmen-odata-meta-'));
    const store = await openStore({ url: join(dir, 'obmen.db') });
    try {
      const shared = createHttpClient({ system: 'onec', store, maxRetries: 0, timeoutMs: 60_000 });
      let parsed = 0;
      let largestPiece = 0;
      let sentWhenReleased = -1;
      // The parser's side of the stream: counts what reached it, piece by piece.
      const http: HttpClient = {
        request: (req) => shared.request(req),
        async stream(req) {
          const response = await shared.stream(req);
          async function* counted() {
            for await (const piece of response.body) {
              parsed += piece.byteLength;
              largestPiece = Math.max(largestPiece, piece.byteLength);
              if (parsed >= HOLD_AT && sentWhenReleased < 0) {
                sentWhenReleased = e.stats().metadataBytesSent;
                release();
              }
              yield piece;
            }
          }
          return { ...response, body: counted() };
        },
      };
      const sets = await discoverOnecOdata({
        systemName: 'onec',
        system: system(e),
        http,
        log,
        signal: new AbortController().signal,
      });
      const total = e.stats().metadataBytesSent;
      assert.ok(total > 14 * 1024 * 1024, `a real-sized $metadata (${total} bytes)`);
      assert.equal(parsed, total, 'every byte went through the parser');
      assert.ok(
        sentWhenReleased >= HOLD_AT && sentWhenReleased < total / 4,
        `parsing began with ${sentWhenReleased} of ${total} bytes sent`,
      );
      assert.ok(largestPiece <= 1024 * 1024, `pieces stay small (largest ${largestPiece} bytes)`);
      assert.equal(sets.filter((set) => set.name.startsWith('Catalog_Справочник')).length, 5000);
      const last = sets.find((set) => set.name === 'Catalog_Справочник5000');
      assert.ok(last?.tabularSections['Состав']?.some((field) => field.name === 'Колонка3'));
      assert.ok(sets.some((set) => set.name === 'AccumulationRegister_ТоварыНаСкладах/Balance'));

      const rows = await store.db.selectFrom('request_log').selectAll().execute();
      assert.equal(rows.length, 1);
      const [row] = rows;
      assert.equal(row?.status, 200);
      assert.equal(row?.error, null);
      assert.match(row?.url ?? '', /\/\$metadata$/);
      assert.ok(row?.response_body?.startsWith('<?xml version="1.0" encoding="UTF-8"?>'));
      assert.ok(
        row?.response_body?.endsWith(`…[truncated; streamed, ${total} bytes in all]`),
        'the size is logged with the head',
      );
      assert.ok((row?.response_body?.length ?? 0) < 9000, 'only a head of the body is kept');
    } finally {
      release();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
