import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import {
  type OnecOdataEmulator,
  runOnecOdataEmulatorCli,
  startOnecOdataEmulator,
} from '../emulators/onec-odata/index.ts';
import { readMetadata } from '../src/connectors/onec-odata/metadata.ts';

const AUTH = `Basic ${Buffer.from('Обмен:секрет', 'utf8').toString('base64')}`;
const emulators: OnecOdataEmulator[] = [];
async function start(options: Parameters<typeof startOnecOdataEmulator>[0] = {}): Promise<OnecOdataEmulator> {
  const e = await startOnecOdataEmulator({ items: 30, counterparties: 5, ...options });
  emulators.push(e);
  return e;
}
after(() => Promise.all(emulators.map((e) => e.close())));

const enc = encodeURIComponent;

async function call(
  e: OnecOdataEmulator,
  path: string,
  init: { method?: string; body?: unknown; auth?: string | null; accept?: string } = {},
) {
  const headers: Record<string, string> = {};
  if (init.auth !== null) headers['authorization'] = init.auth ?? AUTH;
  if (init.accept) headers['accept'] = init.accept;
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${e.url}${path}`, {
    method: init.method ?? 'GET',
    headers,
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  });
  // ignoreBOM: 1C's $count answer starts with a BOM, and that is part of what is tested.
  const text = new TextDecoder('utf-8', { ignoreBOM: true }).decode(await res.arrayBuffer());
  let json: Record<string, unknown> | undefined;
  try {
    json = JSON.parse(text.replace(/^\uFEFF/, '')) as Record<string, unknown>;
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

const value = (r: { json?: Record<string, unknown> }) =>
  (r.json?.['value'] ?? []) as Array<Record<string, unknown>>;

describe('1C OData emulator: protocol', () => {
  it('asks for Basic auth (401 + WWW-Authenticate) and reads a Cyrillic login as UTF-8', async () => {
    const e = await start();
    const none = await call(e, '/?$format=json', { auth: null });
    assert.equal(none.status, 401);
    assert.match(none.headers.get('www-authenticate') ?? '', /^Basic/);
    const cp1251 = `Basic ${Buffer.from([0xce, 0xe1, 0xec, 0xe5, 0xed, 0x3a]).toString('base64')}${''}`;
    assert.equal((await call(e, '/?$format=json', { auth: cp1251 })).status, 401);
    const ok = await call(e, '/?$format=json');
    assert.equal(ok.status, 200);
    assert.ok(value(ok).some((s) => s['name'] === 'Catalog_Номенклатура'));
    assert.equal(e.stats().unauthorized, 2);
  });

  it('answers Atom XML without $format, JSON with $format=json or Accept: application/json', async () => {
    const e = await start();
    const atom = await call(e, `/${enc('Catalog_Склады')}`);
    assert.match(atom.headers.get('content-type') ?? '', /application\/atom\+xml/);
    assert.match(atom.text, /<feed [^>]*><id>.*<entry>.*<d:Description>Основной склад<\/d:Description>/s);
    const json = await call(e, `/${enc('Catalog_Склады')}`, { accept: 'application/json' });
    assert.equal(value(json).length, 3);
    assert.match(String(json.json?.['odata.metadata']), /\$metadata#Catalog_Склады$/);
  });

  it('pages with $top/$skip in Ref_Key order, filters, selects and orders', async () => {
    const e = await start();
    const set = `/${enc('Catalog_Номенклатура')}`;
    const page = await call(e, `${set}?$format=json&$top=5&$skip=10&$select=Ref_Key,Description`);
    assert.deepEqual(
      value(page).map((row) => row['Ref_Key']),
      [0, 1, 2, 3, 4].map((n) => e.catalog.refs.product(n)),
    );
    assert.deepEqual(Object.keys(value(page)[0]!), ['Ref_Key', 'Description']);
    const filtered = await call(
      e,
      `${set}?$format=json&$filter=${enc("IsFolder eq false and (substringof('0000', Артикул) and Parent_Key eq guid'" + e.catalog.refs.group(3) + "')")}`,
    );
    assert.deepEqual(
      value(filtered).map((row) => row['Артикул']),
      ['АРТ-000004', 'АРТ-000014', 'АРТ-000024'],
    );
    const ordered = await call(
      e,
      `${set}?$format=json&$top=2&$orderby=${enc('Description desc')}&$filter=${enc('IsFolder eq true')}`,
    );
    assert.deepEqual(
      value(ordered).map((row) => row['Description']),
      ['Электротовары', 'Электроника'],
    );
    const count = await call(e, `${set}/$count?$filter=${enc('IsFolder eq false')}`);
    assert.equal(count.text, '\uFEFF30');
  });

  it('keeps 1C quirks: "+" is not a space in $filter, $inlinecount ignores $top/$skip, Int64 and empty values', async () => {
    const e = await start();
    const set = `/${enc('Catalog_Номенклатура')}`;
    const plus = await call(e, `${set}?$format=json&$filter=IsFolder+eq+true`);
    assert.equal(plus.status, 400);
    assert.deepEqual(plus.json, {
      'odata.error': { code: '14', message: { lang: 'ru', value: 'Error parsing $filter query option' } },
    });
    const inline = await call(e, `${set}?$format=json&$top=1&$inlinecount=allpages`);
    assert.equal(inline.json?.['odata.count'], '40');
    assert.equal(value(inline).length, 40);
    const folder = value(await call(e, `${set}?$format=json&$top=1`))[0]!;
    assert.equal(folder['Parent_Key'], '00000000-0000-0000-0000-000000000000');
    assert.equal(folder['СрокГодности'], '0');
    const unit = value(await call(e, `/${enc('Catalog_УпаковкиЕдиницыИзмерения')}?$format=json&$top=1`))[0]!;
    assert.equal(unit['Code'], '796 ');
    const product = value(await call(e, `${set}?$format=json&$top=1&$skip=10`))[0]!;
    assert.match(
      String(product['Parent@navigationLinkUrl']),
      /^Catalog_Номенклатура\(guid'[0-9a-f-]+'\)\/Parent$/,
    );
  });

  it("answers errors in 1C's odata.error format, JSON or XML", async () => {
    const e = await start();
    const missing = await call(e, `/${enc('Catalog_Поставщики')}?$format=json`);
    assert.equal(missing.status, 404);
    assert.deepEqual(missing.json, {
      'odata.error': {
        code: '8',
        message: { lang: 'ru', value: '"Catalog_Поставщики" entity is not found' },
      },
    });
    const noObject = await call(e, `/${enc('Catalog_Склады')}(guid'00000000-0000-0000-0000-000000000001')`);
    assert.equal(noObject.status, 404);
    assert.match(
      noObject.text,
      /<m:error [^>]*><m:code>9<\/m:code><m:message xml:lang="ru">Экземпляр сущности "Склады" не найден по переданному ключу\.<\/m:message>/,
    );
    const badSelect = await call(e, `/${enc('Catalog_Склады')}?$format=json&$select=Нет`);
    assert.equal(badSelect.status, 400);
    assert.equal((badSelect.json?.['odata.error'] as { code: string }).code, '6');
  });

  it('creates (201 + Location), reads @Element, patches (DataVersion moves), posts and deletes', async () => {
    const e = await start();
    const set = `/${enc('Document_ЗаказКлиента')}`;
    const created = await call(e, `${set}?$format=json`, {
      method: 'POST',
      body: {
        Date: '2026-05-01T10:00:00',
        Контрагент_Key: e.catalog.refs.counterparty(0),
        Неизвестное: 'игнорируется',
        Товары: [
          { Номенклатура_Key: e.catalog.refs.product(1), Количество: 2, Цена: 5, Сумма: 10, LineNumber: 7 },
        ],
      },
    });
    assert.equal(created.status, 201);
    const ref = String(created.json?.['Ref_Key']);
    assert.equal(
      Buffer.from(created.headers.get('location') ?? '', 'latin1').toString('utf8'),
      `${e.url}/Document_ЗаказКлиента(guid'${ref}')`,
    );
    assert.equal(created.json?.['Posted'], false);
    assert.equal(created.json?.['Number'], 'УТ-000001');
    assert.deepEqual(
      (created.json?.['Товары'] as Array<Record<string, unknown>>).map((row) => [
        row['LineNumber'],
        row['Ref_Key'],
      ]),
      [['1', ref]],
    );
    const key = `(guid'${ref}')`;
    const single = await call(e, `${set}${key}?$format=json`);
    assert.match(String(single.json?.['odata.metadata']), /#Document_ЗаказКлиента\/@Element$/);
    const patched = await call(e, `${set}${key}?$format=json`, {
      method: 'PATCH',
      body: { Комментарий: 'изменён' },
    });
    assert.equal(patched.json?.['Комментарий'], 'изменён');
    assert.notEqual(patched.json?.['DataVersion'], created.json?.['DataVersion']);
    const posted = await call(e, `${set}${key}/Post?PostingModeOperational=false&$format=json`, {
      method: 'POST',
    });
    assert.equal(posted.status, 200);
    assert.equal(e.catalog.get('Document_ЗаказКлиента', ref)?.['Posted'], true);
    const bad = await call(e, `${set}${key}?$format=json`, {
      method: 'PATCH',
      body: { Контрагент_Key: 'не-guid' },
    });
    assert.equal(bad.status, 400);
    assert.equal((bad.json?.['odata.error'] as { code: string }).code, '4');
    assert.equal((await call(e, `${set}${key}`, { method: 'DELETE' })).status, 204);
    assert.equal((await call(e, `${set}${key}?$format=json`)).status, 404);
  });

  it('refuses posting like УТ does: HTTP 500 code -1 with the reasons', async () => {
    const e = await start();
    const set = `/${enc('Document_ЗаказКлиента')}`;
    const created = await call(e, `${set}?$format=json`, {
      method: 'POST',
      body: { Date: '2026-05-02T09:05:00', Товары: [{ Количество: 0 }] },
    });
    const posted = await call(e, `${set}(guid'${created.json?.['Ref_Key']}')/Post?$format=json`, {
      method: 'POST',
    });
    assert.equal(posted.status, 500);
    const error = posted.json?.['odata.error'] as { code: string; message: { value: string } };
    assert.equal(error.code, '-1');
    assert.equal(
      error.message.value,
      'Не удалось провести "Заказ клиента УТ-000001 от 02.05.2026 9:05:00"!\nПоле "Контрагент" не заполнено\n' +
        'В строке 1 списка "Товары" не заполнена колонка "Номенклатура"\nВ строке 1 списка "Товары" не заполнена колонка "Количество"',
    );
  });

  it('serves prices through SliceLast and stock through Balance, with Condition', async () => {
    const e = await start({ items: 4 });
    const prices = await call(
      e,
      `/${enc('InformationRegister_ЦеныНоменклатуры_RecordType')}/SliceLast()?$format=json`,
    );
    assert.equal(value(prices).length, 8);
    e.catalog.setPrice(1, 0, 777);
    const cond = enc(`Condition='Номенклатура_Key eq guid''${e.catalog.refs.product(1)}'''`);
    const one = await call(
      e,
      `/${enc('InformationRegister_ЦеныНоменклатуры_RecordType')}/SliceLast(${cond.replace(/%3D/g, '=')})?$format=json`,
    );
    assert.deepEqual(
      value(one).map((row) => row['Цена']),
      [777, 91.35],
    );
    const stock = await call(
      e,
      `/${enc('AccumulationRegister_ТоварыНаСкладах')}/Balance(Period=datetime'2026-06-01T00:00:00')?$format=json&$top=2`,
    );
    assert.deepEqual(Object.keys(value(stock)[0]!), [
      'Номенклатура_Key',
      'Характеристика_Key',
      'Склад_Key',
      'ВНаличииBalance',
      'ВРезервеСоСкладаBalance',
      'ВРезервеПодЗаказBalance',
    ]);
    const turnovers = await call(
      e,
      `/${enc('AccumulationRegister_ТоварыНаСкладах')}/Turnovers()?$format=json`,
    );
    assert.equal(turnovers.status, 400);
  });

  it('$metadata describes every set with УТ 11 names; the connector reader parses it', async () => {
    const e = await start();
    const metadata = await call(e, '/$metadata');
    assert.match(metadata.headers.get('content-type') ?? '', /application\/xml/);
    const sets = await readMetadata([metadata.text]);
    const names = sets.map((s) => s.name);
    for (const name of [
      'Catalog_Номенклатура',
      'Catalog_Контрагенты',
      'Catalog_ЕдиницыИзмерения',
      'Catalog_ВидыЦен',
      'Catalog_Склады',
      'Document_ЗаказКлиента',
      'InformationRegister_ЦеныНоменклатуры_RecordType/SliceLast',
      'AccumulationRegister_ТоварыНаСкладах/Balance',
    ]) {
      assert.ok(names.includes(name), `${name} in ${names.join(', ')}`);
    }
  });
});

describe('1C OData emulator: customer orders after they are written (control API)', () => {
  const STATES = `/${enc('InformationRegister_СостоянияЗаказовКлиентов')}?$format=json`;
  async function control(e: OnecOdataEmulator, path: string, body: unknown = {}) {
    const res = await fetch(`${new URL(e.url).origin}/_orders${path}`, {
      method: path === '' ? 'GET' : 'POST',
      ...(path === '' ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
    });
    return { status: res.status, json: (await res.json()) as Record<string, unknown> };
  }
  async function postedOrder(e: OnecOdataEmulator, status: string): Promise<string> {
    const created = await call(e, `/${enc('Document_ЗаказКлиента')}?$format=json`, {
      method: 'POST',
      body: {
        Контрагент_Key: e.catalog.refs.counterparty(0),
        Статус: status,
        Товары: [{ Номенклатура_Key: e.catalog.refs.product(1), Количество: 2, Цена: 10, Сумма: 20 }],
      },
    });
    const ref = String(created.json?.['Ref_Key']);
    await call(e, `/${enc('Document_ЗаказКлиента')}(guid'${ref}')/Post`, { method: 'POST' });
    return ref;
  }
  const rows = async (e: OnecOdataEmulator) =>
    ((await call(e, STATES)).json?.['value'] as Array<Record<string, unknown>>) ?? [];

  it('keeps РегистрСведений.СостоянияЗаказовКлиентов: a row per posted order, moved by status, payment, shipment, cancel', async () => {
    const e = await start();
    const agreed = await postedOrder(e, 'КВыполнению');
    const fresh = await postedOrder(e, 'НеСогласован');
    const state = (ref: string) => rows(e).then((all) => all.find((row) => row['Заказ'] === ref));
    assert.equal((await rows(e)).length, 2);
    assert.deepEqual(await state(fresh), {
      Заказ: fresh,
      Заказ_Type: 'StandardODATA.Document_ЗаказКлиента',
      Состояние: 'ОжидаетсяСогласование',
      ПроцентОплаты: 0,
      ПроцентОтгрузки: 0,
      ПроцентДолга: 0,
      ДатаСобытия: (await state(fresh))?.['ДатаСобытия'],
    });
    assert.equal((await state(agreed))?.['Состояние'], 'ГотовКОтгрузке');

    // A payment does not touch the order (its DataVersion stays): only the register moves.
    const version = e.catalog.get('Document_ЗаказКлиента', agreed)!['DataVersion'];
    assert.equal((await control(e, `/${agreed}/payment`, { percent: 100 })).status, 200);
    assert.equal(e.catalog.get('Document_ЗаказКлиента', agreed)!['DataVersion'], version);
    assert.equal((await state(agreed))?.['ПроцентОплаты'], 100);
    assert.equal((await control(e, `/${agreed}/shipment`, { percent: 100 })).status, 200);
    assert.equal((await state(agreed))?.['Состояние'], 'ГотовКЗакрытию');

    // Shipping an order nobody agreed is refused, in 1C's words; agreeing it saves the order.
    const refused = await control(e, `/${fresh}/shipment`);
    assert.equal(refused.status, 500);
    assert.match(
      String((refused.json['error'] as { message: string }).message),
      /отгружать можно заказы к выполнению/,
    );
    assert.equal((await control(e, `/${fresh}/status`, { status: 'КВыполнению' })).status, 200);
    assert.notEqual(e.catalog.get('Document_ЗаказКлиента', fresh)!['DataVersion'], version);
    assert.equal((await state(fresh))?.['Состояние'], 'ГотовКОтгрузке');
    const bad = await control(e, `/${fresh}/status`, { status: 'Готов' });
    assert.equal(bad.status, 400);
    assert.match(String((bad.json['error'] as { message: string }).message), /НеСогласован, КОбеспечению/);

    // Cancel: every line cancelled, the order closed; a shipped order cannot be cancelled.
    assert.equal((await control(e, `/${fresh}/cancel`)).status, 200);
    const cancelled = e.catalog.get('Document_ЗаказКлиента', fresh)!;
    assert.equal(cancelled['Статус'], 'Закрыт');
    assert.ok(
      (cancelled['Товары'] as Array<Record<string, unknown>>).every((row) => row['Отменено'] === true),
    );
    assert.equal((await state(fresh))?.['Состояние'], 'Закрыт');
    assert.equal((await control(e, `/${agreed}/cancel`)).status, 500);

    // Unposting takes the row away; the register is read-only over OData, like the price register.
    await call(e, `/${enc('Document_ЗаказКлиента')}(guid'${fresh}')/Unpost`, { method: 'POST' });
    assert.equal(await state(fresh), undefined);
    const write = await call(e, `/${enc('InformationRegister_СостоянияЗаказовКлиентов')}?$format=json`, {
      method: 'POST',
      body: { Заказ: fresh },
    });
    assert.equal(write.status, 405);
    const listed = await control(e, '');
    assert.equal((listed.json['value'] as unknown[]).length, 2);
    assert.equal(
      e.stats().writes,
      2 + 2 + 1 + 1,
      'creates, posts, the unpost and the refused register write count; the control API is not 1C traffic',
    );
    assert.equal(
      (await control(e, `/${'0'.repeat(8)}-0000-0000-0000-${'0'.repeat(12)}/payment`)).status,
      404,
    );
  });
});

describe('1C OData emulator: size and faults', () => {
  it('a catalog of 1,000,000 items is computed lazily: the last page and $count answer at once', async () => {
    const before = process.memoryUsage().heapUsed;
    const e = await start({ items: 1_000_000 });
    const set = `/${enc('Catalog_Номенклатура')}`;
    assert.equal((await call(e, `${set}/$count`)).text, '\uFEFF1000010');
    const last = await call(e, `${set}?$format=json&$top=10&$skip=1000005`);
    assert.deepEqual(
      value(last).map((row) => row['Артикул']),
      ['АРТ-999996', 'АРТ-999997', 'АРТ-999998', 'АРТ-999999', 'АРТ-1000000'],
    );
    const ref = e.catalog.refs.product(999_999);
    const single = await call(e, `${set}(guid'${ref}')?$format=json`);
    assert.equal(single.json?.['Description'], 'Ведро модель 1000000');
    const chain = `IsFolder eq false and (Ref_Key eq guid'${ref}' or Ref_Key eq guid'${e.catalog.refs.product(5)}' or Ref_Key eq guid'${e.catalog.refs.group(1)}')`;
    const byKey = await call(e, `${set}?$format=json&$select=Артикул&$filter=${enc(chain)}`);
    assert.deepEqual(
      value(byKey).map((row) => row['Артикул']),
      ['АРТ-000006', 'АРТ-1000000'],
    );
    assert.ok(
      process.memoryUsage().heapUsed - before < 100 * 1024 * 1024,
      'no million objects held in memory',
    );
  });

  it('injects 503, HTML pages with 200, hangs and business errors, and counts them', async () => {
    const e = await start();
    const url = `/${enc('Catalog_Склады')}?$format=json`;
    e.setFaults({ failNext: 1, htmlNext: 1 });
    assert.equal((await call(e, url)).status, 503);
    const html = await call(e, url);
    assert.equal(html.status, 200);
    assert.match(html.headers.get('content-type') ?? '', /text\/html/);
    assert.equal((await call(e, url)).status, 200);
    e.setFaults({ hangNext: 1 });
    await assert.rejects(
      fetch(`${e.url}${url}`, { headers: { authorization: AUTH }, signal: AbortSignal.timeout(300) }),
    );
    e.setFaults({ businessErrorNext: 1, businessErrorMessage: 'Объект заблокирован' });
    const refused = await call(e, `/${enc('Catalog_Склады')}?$format=json`, {
      method: 'POST',
      body: { Description: 'Новый' },
    });
    assert.equal(refused.status, 500);
    assert.deepEqual(refused.json, {
      'odata.error': { code: '-1', message: { lang: 'ru', value: 'Объект заблокирован' } },
    });
    const stats = e.stats();
    assert.deepEqual([stats.failed, stats.html, stats.hung, stats.businessErrors], [1, 1, 1, 1]);
  });
});

describe('1C OData emulator: CLI', () => {
  it('refuses sizes and rates out of range with the flag named', async () => {
    await assert.rejects(
      runOnecOdataEmulatorCli(['--items', '2000000']),
      /--items must be an integer 0…1000000/,
    );
    await assert.rejects(
      runOnecOdataEmulatorCli(['--error-rate', '1.5']),
      /--error-rate must be a number from 0 to 1/,
    );
  });
});
