import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import iconv from 'iconv-lite';
import { createEntityRegistry, type Order } from '../src/core/entities/index.ts';
import {
  type CanonicalOrderForCml,
  type CatalogXmlInput,
  type CmlEvent,
  parseCommerceMl,
  writeCatalogXml,
  writeOrdersXml,
} from '../src/formats/commerceml/index.ts';
import { XmlScanner } from '../src/formats/commerceml/scanner.ts';

const HERE = dirname(fileURLToPath(import.meta.url));
const FIXTURES =
  process.env.OBMEN_SHARED_FIXTURES ?? join(HERE, '..', '..', 'shared', 'fixtures', 'commerceml');
const BITRIX_QUERY = join(FIXTURES, 'dobromyslov+commerceml-parser__data_bitrix-query-response-full.xml');

const dir = mkdtempSync(join(tmpdir(), 'obmen-cml-write-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let fileNo = 0;
const registry = createEntityRegistry();

/** What ingest would store: validated, defaults applied. */
function canonical(entity: string, data: unknown): Record<string, unknown> {
  const result = registry.validate(entity, data);
  assert.ok(result.ok, `${entity}: ${result.ok ? '' : result.issues.join('; ')}`);
  return result.data;
}

/** Parses written bytes back: entity → externalId → canonical data. */
async function readBack(
  ...files: Buffer[]
): Promise<{ items: Map<string, Map<string, unknown>>; events: CmlEvent[] }> {
  const items = new Map<string, Map<string, unknown>>();
  const events: CmlEvent[] = [];
  for (const bytes of files) {
    const path = join(dir, `w${++fileNo}.xml`);
    writeFileSync(path, bytes);
    for await (const event of parseCommerceMl(path)) {
      events.push(event);
      if (event.kind !== 'item') continue;
      let bucket = items.get(event.entity);
      if (bucket === undefined) {
        bucket = new Map();
        items.set(event.entity, bucket);
      }
      bucket.set(event.item.externalId, canonical(event.entity, event.item.data));
    }
  }
  return { items, events };
}

/** Element structure of an XML text: for each element path, the sequence of its children's names. */
function structure(text: string): { rootAttrs: string[]; children: Map<string, string[]> } {
  const children = new Map<string, string[]>();
  const path: string[] = [];
  let rootAttrs: string[] = [];
  const scanner = new XmlScanner({
    open(name, attrs) {
      if (path.length === 0) rootAttrs = Object.keys(attrs ?? {}).filter((k) => !k.startsWith('xmlns'));
      const key = path.join('/');
      const list = children.get(key) ?? [];
      // Keep the first occurrence's sequence of each path (the first document, line, …).
      if (!children.has(`${key}#done`)) list.push(name);
      children.set(key, list);
      path.push(name);
    },
    text() {},
    close() {
      const key = path.join('/');
      children.set(`${key}#done`, []);
      path.pop();
    },
  });
  scanner.write(text);
  scanner.end();
  return { rootAttrs, children };
}

const ORDERS: CanonicalOrderForCml[] = [
  {
    id: '132',
    order: canonical('order', {
      number: '132',
      date: '2021-02-11T18:45:21',
      customerId: '38#catalog_exchange#',
      currency: 'руб',
      lines: [
        {
          lineNo: 1,
          productId: '910e89e5-205e-4d95-872a-0a0255c42f02',
          name: 'Зубная щётка «Hello Kitty» & <набор>',
          quantity: 2,
          price: 115.87,
          amount: 231.74,
          vatRate: 20,
          vatAmount: 38.62,
        },
        {
          lineNo: 2,
          productId: 'ORDER_DELIVERY',
          name: 'Доставка заказа',
          quantity: 1,
          price: 300,
          amount: 300,
        },
      ],
      totals: { amount: 531.74 },
      status: '[N] Принят, ожидается оплата',
      paid: true,
      paymentDate: '2021-02-11T19:00:00',
      paymentNumber: 'ТК000000026',
      cancelled: false,
      comment: 'Позвонить ✓ заранее',
      source: '[s1] Сайт по умолчанию',
    }) as Order,
    customer: {
      id: '38#catalog_exchange#',
      data: canonical('counterparty', {
        name: 'Петров Петр',
        fullName: 'Петров Петр Иванович',
        kind: 'person',
        addresses: [{ type: 'legal', value: '117452, Москва, Симферопольский б-р, 78' }],
        phones: [{ value: '+7 900 000-00-00', type: 'Телефон рабочий' }],
        emails: [{ value: 'petrov@example.ru', type: 'Электронная почта' }],
      }) as never,
      firstName: 'Петр',
      lastName: 'Петров',
    },
    requisites: { 'Метод оплаты': 'Наличный расчет', 'Способ доставки': 'Самовывоз' },
    statusChangedAt: '2021-02-11T18:45:21',
    finalStatus: false,
    catalogId: '42475bb5-958f-40dc-a99f-9ad996a27af1',
  },
  {
    id: '133',
    order: canonical('order', {
      number: '133',
      date: '2021-02-12T09:11:04',
      customerId: 'c-company',
      currency: 'RUB',
      lines: [
        {
          lineNo: 1,
          productId: 'p#c',
          name: 'Стол (чёрный)',
          quantity: 1.5,
          price: 1000,
          amount: 1400,
          discount: 100,
          vatRate: null,
        },
      ],
      totals: { amount: 1400 },
      shipped: true,
      shipmentNumber: 'О-15',
      shipmentDate: '2021-02-13T10:00:00',
      cancelled: true,
    }) as Order,
    customer: {
      id: 'c-company',
      data: canonical('counterparty', {
        name: 'ООО Ромашка',
        kind: 'company',
        inn: '7701234567',
        kpp: '770101001',
      }) as never,
    },
  },
];

describe('writeOrdersXml', () => {
  for (const [version, encoding] of [
    ['2.05', 'windows-1251'],
    ['2.05', 'utf-8'],
    ['3.1', 'utf-8'],
    ['3.1', 'windows-1251'],
  ] as const) {
    test(`round trip ${version} ${encoding}: canonical → XML → parser → equal canonical`, async () => {
      const xml = writeOrdersXml(ORDERS, { version, encoding, now: new Date(2021, 1, 12, 17, 3, 19) });
      const { items, events } = await readBack(xml);
      assert.deepEqual(
        events.filter((e) => e.kind === 'itemError'),
        [],
      );
      for (const entry of ORDERS) {
        assert.deepEqual(
          items.get('order')?.get(entry.id),
          canonical('order', entry.order),
          `order ${entry.id}`,
        );
        assert.deepEqual(
          items.get('counterparty')?.get(entry.customer.id),
          canonical('counterparty', entry.customer.data),
          `counterparty ${entry.customer.id}`,
        );
      }
      const pkg = events[0];
      assert.equal(pkg?.kind === 'package' && pkg.version, version);
    });
  }

  test('windows-1251 output decodes, declares its encoding and keeps characters 1251 lacks as references', () => {
    const xml = writeOrdersXml(ORDERS, {
      version: '2.05',
      encoding: 'windows-1251',
      now: new Date(2021, 1, 12),
    });
    const text = iconv.decode(xml, 'win1251');
    assert.ok(text.startsWith('<?xml version="1.0" encoding="windows-1251"?>'));
    assert.ok(text.includes('<ХозОперация>Заказ товара</ХозОперация>'));
    assert.ok(text.includes('Зубная щётка «Hello Kitty» &amp; &lt;набор&gt;'));
    assert.ok(text.includes('Позвонить &#10003; заранее'), 'the check mark is a character reference');
    assert.ok(!xml.includes(Buffer.from('Заказ', 'utf8')), 'no UTF-8 bytes');
    assert.equal(xml[0], 0x3c, 'no BOM in windows-1251');
    const utf8 = writeOrdersXml(ORDERS, { version: '3.1', encoding: 'utf-8' });
    assert.deepEqual([...utf8.subarray(0, 3)], [0xef, 0xbb, 0xbf], 'UTF-8 starts with a BOM, as 1C expects');
    assert.match(utf8.toString('utf8'), /<Контейнер>\s*<Документ>/);
  });

  test('an empty export is just the root element, like the site’s empty answer', async () => {
    const xml = writeOrdersXml([], { version: '2.05', encoding: 'windows-1251', now: new Date(2021, 1, 12) });
    const { items, events } = await readBack(xml);
    assert.equal(items.size, 0);
    assert.equal(events.length, 1);
    assert.match(iconv.decode(xml, 'win1251'), /<КоммерческаяИнформация [^>]*\/>/);
  });

  test(
    'the 2.05 document has the shape of a real 1C-Bitrix query answer',
    { skip: existsSync(BITRIX_QUERY) ? false : `skipped: ${BITRIX_QUERY} is absent` },
    () => {
      const bitrix = structure(iconv.decode(readFileSync(BITRIX_QUERY), 'win1251'));
      const ours = structure(
        iconv.decode(writeOrdersXml(ORDERS, { version: '2.05', encoding: 'windows-1251' }), 'win1251'),
      );
      assert.deepEqual(ours.rootAttrs, bitrix.rootAttrs, 'root attributes');
      const doc = 'КоммерческаяИнформация/Документ';
      assert.deepEqual(ours.children.get(doc), bitrix.children.get(doc), 'document elements, in order');
      const inOrder = (path: string) => {
        const theirs = bitrix.children.get(path) ?? [];
        const mine = (ours.children.get(path) ?? []).filter((name) => theirs.includes(name));
        assert.deepEqual(
          mine,
          theirs.filter((name) => mine.includes(name)),
          `${path}: same order`,
        );
        for (const name of theirs) assert.ok(mine.includes(name), `${path}: has ${name}`);
      };
      inOrder(`${doc}/Контрагенты/Контрагент`);
      inOrder(`${doc}/Товары/Товар`);
      // Order requisites the brief and Bitrix name: every one is written.
      const text = iconv.decode(
        writeOrdersXml(ORDERS, { version: '2.05', encoding: 'windows-1251' }),
        'win1251',
      );
      for (const name of [
        'Метод оплаты',
        'Заказ оплачен',
        'Доставка разрешена',
        'Отменен',
        'Финальный статус',
        'Статус заказа',
        'Дата изменения статуса',
        'Сайт',
      ]) {
        assert.ok(text.includes(`<Наименование>${name}</Наименование>`), name);
      }
    },
  );
});

const DICT = '0b3f056c-4e07-11e4-9440-00155d020201';
const WHITE = '304631b8-0d79-11e4-943a-00155d020201';
const BLACK = 'c7f08269-efc6-11e3-9438-00155d020201';

function catalog(v31: boolean): CatalogXmlInput {
  const unitRef = v31 ? { baseUnitId: '796' } : { baseUnit: { code: '796', name: 'Штука', shortName: 'шт' } };
  return {
    groups: [
      { id: 'g-1', data: { name: 'Мебель' } },
      { id: 'g-2', data: { name: 'Столы', parentId: 'g-1' } },
      { id: 'g-3', data: { name: 'Архив', deleted: true } },
    ],
    properties: [
      {
        id: DICT,
        data: {
          name: 'Цвет',
          type: 'dictionary',
          values: [
            { id: WHITE, value: 'Белый' },
            { id: BLACK, value: 'Чёрный' },
          ],
          forProducts: true,
        },
      },
      { id: 'p-size', data: { name: 'Размер', type: 'string' } },
    ],
    units: [{ id: '796', data: { code: '796', name: 'Штука', shortName: 'шт', international: 'PCE' } }],
    priceTypes: [
      { id: 'pt-retail', data: { name: 'Розничная', currency: 'RUB', vatIncluded: true } },
      { id: 'pt-opt', data: { name: 'Оптовая', currency: 'RUB' } },
    ],
    warehouses: [
      { id: 'wh-1', data: { name: 'Основной склад', address: 'Москва, ул. Ленина, 1' } },
      { id: 'wh-2', data: { name: 'Склад №2 ✓' } },
    ],
    products: [
      {
        id: 'p-1',
        data: {
          name: 'Стол "Прима" <new> & Co',
          article: 'ST-1',
          fullName: 'Стол обеденный «Прима»',
          description: 'Крепкий\nстол',
          groupId: 'g-2',
          ...unitRef,
          barcodes: ['4600000000017', '4600000000024'],
          properties: [
            { propertyId: DICT, valueId: WHITE },
            { propertyId: 'p-size', value: '120x80' },
          ],
          vatRate: 20,
          weight: { value: 12.5, unit: 'kg' },
          images: ['import_files/ab/p-1.jpg'],
          attributes: { ВидНоменклатуры: 'Товар', ТипНоменклатуры: 'Товар' },
          manufacturer: 'Фабрика «Заря»',
        },
      },
      { id: 'p-2', data: { name: 'Стул', vatRate: null, deleted: true } },
      {
        id: 'p-1#c-black',
        data: {
          name: 'Стол "Прима" (чёрный)',
          parentProductId: 'p-1',
          article: 'ST-1-B',
          barcodes: ['2000000000015'],
          ...unitRef,
          characteristics: [{ name: 'Цвет', value: 'Чёрный' }],
          properties: [{ propertyId: DICT, valueId: BLACK }],
        },
      },
    ],
    prices: [
      { id: 'x1', data: { productId: 'p-1', priceTypeId: 'pt-retail', value: 12999.9, currency: 'RUB' } },
      {
        id: 'x2',
        data: { productId: 'p-1', priceTypeId: 'pt-opt', value: 10000, currency: 'RUB', coefficient: 1 },
      },
      {
        id: 'x3',
        data: { productId: 'p-1#c-black', priceTypeId: 'pt-retail', value: 13500, currency: 'RUB' },
      },
      { id: 'x4', data: { productId: 'p-9', priceTypeId: 'pt-retail', value: 5 } },
    ],
    stock: [
      { id: 's1', data: { productId: 'p-1', quantity: 7 } },
      { id: 's2', data: { productId: 'p-1', warehouseId: 'wh-1', quantity: 5 } },
      { id: 's3', data: { productId: 'p-1', warehouseId: 'wh-2', quantity: 2 } },
      { id: 's4', data: { productId: 'p-1#c-black', warehouseId: 'wh-2', quantity: -1 } },
      { id: 's5', data: { productId: 'p-2', quantity: 0 } },
    ],
    onlyChanges: v31,
    catalogId: 'cat-1',
    classifierId: 'cls-1',
    name: 'Каталог товаров',
  };
}

/** The canonical records a catalog should read back as, keyed the way the parser keys them. */
function expectedItems(input: CatalogXmlInput): Map<string, Map<string, unknown>> {
  const out = new Map<string, Map<string, unknown>>();
  const put = (entity: string, id: string, data: unknown) => {
    const bucket = out.get(entity) ?? new Map<string, unknown>();
    bucket.set(id, canonical(entity, data));
    out.set(entity, bucket);
  };
  for (const g of input.groups) put('product_group', g.id, g.data);
  for (const p of input.properties) put('property', p.id, p.data);
  for (const u of input.units ?? []) put('unit', u.id, u.data);
  for (const t of input.priceTypes) put('price_type', t.id, t.data);
  for (const w of input.warehouses) put('warehouse', w.id, w.data);
  for (const p of input.products) put('product', p.id, p.data);
  for (const p of input.prices) put('price', `${p.data.productId}|${p.data.priceTypeId}`, p.data);
  for (const s of input.stock) put('stock', `${s.data.productId}|${s.data.warehouseId ?? '*'}`, s.data);
  return out;
}

describe('writeCatalogXml', () => {
  for (const [version, encoding] of [
    ['2.05', 'windows-1251'],
    ['2.08', 'utf-8'],
    ['3.1', 'utf-8'],
    ['3.1', 'windows-1251'],
  ] as const) {
    test(`round trip ${version} ${encoding}: canonical → import.xml + offers.xml → parser → equal canonical`, async () => {
      const input = catalog(version === '3.1');
      const { importXml, offersXml } = writeCatalogXml(input, { version, encoding });
      const { items, events } = await readBack(importXml, offersXml);
      assert.deepEqual(
        events.filter((e) => e.kind === 'itemError'),
        [],
      );
      const packages = events.filter((e) => e.kind === 'package');
      assert.deepEqual(
        packages.map((p) => p.kind === 'package' && [p.documentKind, p.version, p.onlyChanges, p.catalogId]),
        [
          ['import', version, version === '3.1', 'cat-1'],
          ['offers', version, version === '3.1', 'cat-1'],
        ],
      );
      const expected = expectedItems(input);
      assert.deepEqual([...items.keys()].sort(), [...expected.keys()].sort());
      for (const [entity, records] of expected) {
        assert.deepEqual(items.get(entity), records, entity);
      }
    });
  }

  test('windows-1251 catalog decodes and a variant is tied to its product by `product#characteristic`', () => {
    const { importXml, offersXml } = writeCatalogXml(catalog(false), {
      version: '2.08',
      encoding: 'windows-1251',
    });
    const imported = iconv.decode(importXml, 'win1251');
    const offers = iconv.decode(offersXml, 'win1251');
    assert.ok(imported.startsWith('<?xml version="1.0" encoding="windows-1251"?>'));
    assert.ok(imported.includes('<Наименование>Стол "Прима" &lt;new&gt; &amp; Co</Наименование>'));
    assert.ok(offers.includes('<Наименование>Склад №2 &#10003;</Наименование>'));
    assert.ok(offers.includes('<Ид>cat-1#</Ид>'), 'the offers package Ид ends with # (binds to the catalog)');
    assert.ok(offers.includes('<Ид>p-1#c-black</Ид>'));
    assert.ok(!imported.includes('p-1#c-black'), 'variants are offers, not goods');
    assert.ok(offers.includes('<Склад ИдСклада="wh-1" КоличествоНаСкладе="5"/>'));
  });
});
