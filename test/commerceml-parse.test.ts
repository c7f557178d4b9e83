import assert from 'node:assert/strict';
import { createWriteStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { finished } from 'node:stream/promises';
import { after, describe, test } from 'node:test';
import iconv from 'iconv-lite';
import { createEntityRegistry } from '../src/core/entities/index.ts';
import {
  type CmlEvent,
  CmlSyntaxError,
  generateCatalog,
  generateOffers,
  parseCommerceMl,
} from '../src/formats/commerceml/index.ts';
import { XmlScanner } from '../src/formats/commerceml/scanner.ts';

const dir = mkdtempSync(join(tmpdir(), 'obmen-cml-parse-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let fileNo = 0;
function file(content: string | Buffer, name = `f${++fileNo}.xml`): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

const registry = createEntityRegistry();

interface Parsed {
  events: CmlEvent[];
  items: Array<Extract<CmlEvent, { kind: 'item' }>>;
  errors: Array<Extract<CmlEvent, { kind: 'itemError' }>>;
  pkg: Extract<CmlEvent, { kind: 'package' }> | undefined;
  byId(entity: string, id: string): Record<string, unknown>;
  ids(entity: string): string[];
}

function summarise(events: CmlEvent[]): Parsed {
  const items = events.filter((e): e is Extract<CmlEvent, { kind: 'item' }> => e.kind === 'item');
  return {
    events,
    items,
    errors: events.filter((e): e is Extract<CmlEvent, { kind: 'itemError' }> => e.kind === 'itemError'),
    pkg: events.find((e): e is Extract<CmlEvent, { kind: 'package' }> => e.kind === 'package'),
    byId(entity, id) {
      const found = items.find((e) => e.entity === entity && e.item.externalId === id);
      assert.ok(
        found,
        `no ${entity} ${id}; have ${items.map((e) => `${e.entity}:${e.item.externalId}`).join(', ')}`,
      );
      return found.item.data;
    },
    ids: (entity) => items.filter((e) => e.entity === entity).map((e) => e.item.externalId),
  };
}

async function parse(path: string, options?: Parameters<typeof parseCommerceMl>[1]): Promise<Parsed> {
  const events: CmlEvent[] = [];
  for await (const event of parseCommerceMl(path, options)) events.push(event);
  const parsed = summarise(events);
  // Every item the parser makes must be loadable as it is.
  for (const { entity, item } of parsed.items) {
    const result = registry.validate(entity, item.data);
    assert.ok(result.ok, `${entity} ${item.externalId}: ${result.ok ? '' : result.issues.join('; ')}`);
  }
  return parsed;
}

/** Parses until the parser throws; returns what came before and the error. */
async function parseUntilError(path: string): Promise<{ parsed: Parsed; error: unknown }> {
  const events: CmlEvent[] = [];
  try {
    for await (const event of parseCommerceMl(path)) events.push(event);
  } catch (error) {
    return { parsed: summarise(events), error };
  }
  assert.fail('expected the parser to throw');
}

const IMPORT_BODY = `
  <Классификатор>
    <Ид>cls-1</Ид>
    <Наименование>Классификатор</Наименование>
    <Группы>
      <Группа>
        <Ид>g-root</Ид>
        <Наименование>Мебель</Наименование>
        <Группы>
          <Группа>
            <Ид>g-child</Ид>
            <Наименование>Столы</Наименование>
            <Группы>
              <Группа><Ид>g-grandchild</Ид><Наименование>Обеденные</Наименование></Группа>
            </Группы>
          </Группа>
          <Группа><Ид>g-child-2</Ид><Наименование>Стулья</Наименование></Группа>
        </Группы>
      </Группа>
      <Группа><Ид>g-root-2</Ид><Наименование>Свет</Наименование></Группа>
    </Группы>
    <Свойства>
      <Свойство>
        <Ид>p-color</Ид>
        <Наименование>Цвет</Наименование>
        <ТипЗначений>Справочник</ТипЗначений>
        <ВариантыЗначений>
          <Справочник><ИдЗначения>v-white</ИдЗначения><Значение>Белый</Значение></Справочник>
          <Справочник><ИдЗначения>v-black</ИдЗначения><Значение>Чёрный</Значение></Справочник>
        </ВариантыЗначений>
      </Свойство>
      <Свойство><Ид>p-size</Ид><Наименование>Размер</Наименование><ТипЗначений>Строка</ТипЗначений></Свойство>
    </Свойства>
  </Классификатор>
  <Каталог СодержитТолькоИзменения="false">
    <Ид>cat-1</Ид>
    <ИдКлассификатора>cls-1</ИдКлассификатора>
    <Наименование>Каталог</Наименование>
    <Товары>
      <Товар>
        <Ид>prod-1</Ид>
        <Штрихкод>4600000000017</Штрихкод>
        <Артикул> ST-1 </Артикул>
        <Наименование>Стол &quot;Прима&quot; &amp; стул</Наименование>
        <БазоваяЕдиница Код="796 " НаименованиеПолное="Штука" МеждународноеСокращение="PCE">шт</БазоваяЕдиница>
        <Группы><Ид>g-grandchild</Ид></Группы>
        <Описание>Крепкий стол</Описание>
        <Картинка>import_files/ab/prod-1.jpg</Картинка>
        <Картинка/>
        <ЗначенияСвойств>
          <ЗначенияСвойства><Ид>p-color</Ид><Значение>v-white</Значение></ЗначенияСвойства>
          <ЗначенияСвойства><Ид>p-size</Ид><Значение>120x80</Значение></ЗначенияСвойства>
          <ЗначенияСвойства><Ид>p-size</Ид><Значение/></ЗначенияСвойства>
        </ЗначенияСвойств>
        <СтавкиНалогов><СтавкаНалога><Наименование>НДС</Наименование><Ставка>20</Ставка></СтавкаНалога></СтавкиНалогов>
        <ЗначенияРеквизитов>
          <ЗначениеРеквизита><Наименование>ВидНоменклатуры</Наименование><Значение>Товар</Значение></ЗначениеРеквизита>
          <ЗначениеРеквизита><Наименование>Полное наименование</Наименование><Значение>Стол обеденный Прима</Значение></ЗначениеРеквизита>
          <ЗначениеРеквизита><Наименование>Вес</Наименование><Значение>12,5</Значение></ЗначениеРеквизита>
        </ЗначенияРеквизитов>
      </Товар>
      <Товар Статус="Удален">
        <Ид>prod-2</Ид>
        <Наименование>Стул</Наименование>
        <СтавкиНалогов><СтавкаНалога><Наименование>НДС</Наименование><Ставка>Без налога</Ставка></СтавкаНалога></СтавкиНалогов>
      </Товар>
    </Товары>
  </Каталог>`;

function importXml(rootAttrs = 'ВерсияСхемы="2.08"', body = IMPORT_BODY): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<КоммерческаяИнформация ${rootAttrs} ДатаФормирования="2024-01-01T00:00:00">${body}\n</КоммерческаяИнформация>\n`;
}

describe('parseCommerceMl: import.xml', () => {
  test('classifier and goods become canonical items with 1C Ид references', async () => {
    const parsed = await parse(file(importXml()));
    assert.deepEqual(parsed.pkg, {
      kind: 'package',
      file: parsed.pkg!.file,
      version: '2.08',
      onlyChanges: false,
      documentKind: 'import',
      catalogId: 'cat-1',
      classifierId: 'cls-1',
    });
    assert.equal(parsed.events[0]!.kind, 'package', 'the package event comes first');
    assert.deepEqual(parsed.ids('product_group'), [
      'g-root',
      'g-child',
      'g-grandchild',
      'g-child-2',
      'g-root-2',
    ]);
    assert.deepEqual(parsed.byId('product_group', 'g-root'), { name: 'Мебель' });
    assert.deepEqual(parsed.byId('product_group', 'g-child'), { name: 'Столы', parentId: 'g-root' });
    assert.deepEqual(parsed.byId('product_group', 'g-grandchild'), {
      name: 'Обеденные',
      parentId: 'g-child',
    });
    assert.deepEqual(parsed.byId('product_group', 'g-child-2'), { name: 'Стулья', parentId: 'g-root' });
    assert.deepEqual(parsed.byId('product_group', 'g-root-2'), { name: 'Свет' });
    assert.deepEqual(parsed.byId('property', 'p-color'), {
      name: 'Цвет',
      type: 'dictionary',
      values: [
        { id: 'v-white', value: 'Белый' },
        { id: 'v-black', value: 'Чёрный' },
      ],
    });
    assert.deepEqual(parsed.byId('product', 'prod-1'), {
      name: 'Стол "Прима" & стул',
      article: 'ST-1',
      barcodes: ['4600000000017'],
      baseUnit: { code: '796', name: 'Штука', shortName: 'шт' },
      properties: [
        { propertyId: 'p-color', valueId: 'v-white' },
        { propertyId: 'p-size', value: '120x80' },
      ],
      fullName: 'Стол обеденный Прима',
      description: 'Крепкий стол',
      groupId: 'g-grandchild',
      vatRate: 20,
      weight: { value: 12.5, unit: 'kg' },
      images: ['import_files/ab/prod-1.jpg'],
      attributes: { ВидНоменклатуры: 'Товар' },
    });
    assert.deepEqual(parsed.byId('product', 'prod-2'), { name: 'Стул', deleted: true, vatRate: null });
    const deleted = parsed.items.find((e) => e.item.externalId === 'prod-2')!;
    assert.equal(deleted.item.deleted, true);
    assert.equal(parsed.errors.length, 0);
  });

  test('raw keeps the original fields for source mappings', async () => {
    const parsed = await parse(file(importXml()));
    const raw = parsed.items.find((e) => e.item.externalId === 'prod-1')!.item.raw as Record<string, unknown>;
    assert.equal(raw['Ид'], 'prod-1');
    assert.deepEqual(raw['БазоваяЕдиница'], {
      '@Код': '796 ',
      '@НаименованиеПолное': 'Штука',
      '@МеждународноеСокращение': 'PCE',
      '#text': 'шт',
    });
    assert.equal((raw['Картинка'] as unknown[]).length, 2);
    const item = parsed.items.find((e) => e.item.externalId === 'prod-1')!.item;
    assert.equal(item.raw, raw, 'built once, then the same object');
    assert.equal(JSON.parse(JSON.stringify(item.raw))['Ид'], 'prod-1');
  });

  test('item lines point at the element in the file', async () => {
    const path = file(importXml());
    const lines = readFileSync(path, 'utf8').split('\n');
    const parsed = await parse(path);
    for (const { item, line } of parsed.items.filter((e) => e.entity === 'product')) {
      assert.ok(
        lines
          .slice(line - 1, line + 1)
          .join('\n')
          .includes('<Товар'),
        `line ${line} for ${item.externalId}`,
      );
    }
  });
});

describe('parseCommerceMl: encodings and namespaces', () => {
  const expected = async () =>
    (await parse(file(importXml()))).items.map((e) => [e.entity, e.item.externalId, e.item.data]);

  test('windows-1251, UTF-8 with BOM and without BOM give the same items', async () => {
    const want = await expected();
    const cp1251 = iconv.encode(
      importXml().replace('encoding="UTF-8"', 'encoding="windows-1251"'),
      'win1251',
    );
    assert.notDeepEqual(cp1251, Buffer.from(importXml(), 'utf8'), 'the bytes differ');
    const withBom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(importXml(), 'utf8')]);
    const noDeclaration = importXml().replace(/^<\?xml[^>]*>\n/, '');
    for (const content of [cp1251, withBom, noDeclaration]) {
      const got = (await parse(file(content))).items.map((e) => [e.entity, e.item.externalId, e.item.data]);
      assert.deepEqual(got, want);
    }
  });

  test('a windows-1251 file declared as UTF-8 is refused with a Russian message naming the file and line', async () => {
    const content = iconv.encode(importXml(), 'win1251');
    const { error } = await parseUntilError(file(content, 'wrong-encoding.xml'));
    assert.ok(error instanceof CmlSyntaxError);
    assert.equal(error.file, 'wrong-encoding.xml');
    assert.match(error.message, /кодировк/);
    assert.match(error.message, /wrong-encoding\.xml/);
    assert.ok(error.line >= 1);
  });

  test('no namespace, commerceml_2, _208, _210, commerceml_3 and prefixed names read the same', async () => {
    const want = await expected();
    const roots = [
      'xmlns="urn:1C.ru:commerceml_2" ВерсияСхемы="2.07"',
      'xmlns="urn:1C.ru:commerceml_208" ВерсияСхемы="2.08"',
      'xmlns="urn:1C.ru:commerceml_210" ВерсияСхемы="2.10"',
      'xmlns="urn:1C.ru:commerceml_3" xmlns:xs="http://www.w3.org/2001/XMLSchema" ВерсияСхемы="3.1"',
    ];
    for (const attrs of roots) {
      const parsed = await parse(file(importXml(attrs)));
      assert.deepEqual(
        parsed.items.map((e) => [e.entity, e.item.externalId, e.item.data]),
        want,
      );
      assert.equal(parsed.pkg?.version, attrs.match(/ВерсияСхемы="([^"]+)"/)![1]);
    }
    const prefixed = importXml('xmlns:cml="urn:1C.ru:commerceml_2" ВерсияСхемы="2.08"')
      .replace(/<(\/?)(?!\?)([А-Яа-яЁё]+)/g, '<$1cml:$2')
      .replace('<cml:КоммерческаяИнформация', '<cml:КоммерческаяИнформация');
    assert.match(prefixed, /<cml:Товар/);
    const parsed = await parse(file(prefixed));
    assert.deepEqual(
      parsed.items.map((e) => [e.entity, e.item.externalId, e.item.data]),
      want,
    );
  });
});

const OFFERS_31 = `<?xml version="1.0" encoding="UTF-8"?>
<КоммерческаяИнформация xmlns="urn:1C.ru:commerceml_3" ВерсияСхемы="3.1" ДатаФормирования="2024-01-01T00:00:00">
  <ПакетПредложений СодержитТолькоИзменения="true">
    <Ид>cat-1#</Ид>
    <Наименование>Пакет</Наименование>
    <ИдКаталога>cat-1</ИдКаталога>
    <ИдКлассификатора>cls-1</ИдКлассификатора>
    <Предложения>
      <Предложение>
        <Ид>prod-1#char-red</Ид>
        <Наименование>Стол (красный)</Наименование>
        <Штрихкод>2000000000015</Штрихкод>
        <ХарактеристикиТовара>
          <ХарактеристикаТовара><Ид>c1</Ид><Наименование>Цвет</Наименование><Значение>Красный</Значение></ХарактеристикаТовара>
        </ХарактеристикиТовара>
        <Цены>
          <Цена><Представление>1 200 руб. за шт</Представление><ИдТипаЦены>pt-retail</ИдТипаЦены><ЦенаЗаЕдиницу>1 200,50</ЦенаЗаЕдиницу><Валюта>руб</Валюта><Коэффициент>1</Коэффициент></Цена>
          <Цена><ИдТипаЦены>pt-opt</ИдТипаЦены><ЦенаЗаЕдиницу>1000</ЦенаЗаЕдиницу><Валюта>руб</Валюта></Цена>
        </Цены>
        <Остатки>
          <Остаток><Склад><Ид>wh-1</Ид><Количество>5</Количество></Склад></Остаток>
          <Остаток><Склад><Ид>wh-2</Ид><Количество>-1</Количество></Склад></Остаток>
          <Остаток><Количество>4</Количество></Остаток>
        </Остатки>
      </Предложение>
      <Предложение>
        <Ид>prod-2</Ид>
        <Наименование>Стул</Наименование>
        <Цены><Цена><ИдТипаЦены>pt-retail</ИдТипаЦены><ЦенаЗаЕдиницу>abc</ЦенаЗаЕдиницу></Цена></Цены>
        <Количество>7</Количество>
        <Склад ИдСклада="wh-1" КоличествоНаСкладе="3"/>
        <Склад ИдСклада="wh-2" КоличествоНаСкладе="4"/>
      </Предложение>
      <Предложение>
        <Наименование>Без Ид</Наименование>
      </Предложение>
      <Предложение>
        <Ид>prod-3#</Ид>
        <Цены><Цена><ИдТипаЦены>pt-retail</ИдТипаЦены><ЦенаЗаЕдиницу>10.5</ЦенаЗаЕдиницу></Цена></Цены>
      </Предложение>
      <Предложение>
        <Ид>prod-1#char-red</Ид>
        <Наименование>Повтор</Наименование>
      </Предложение>
    </Предложения>
  </ПакетПредложений>
</КоммерческаяИнформация>
`;

describe('parseCommerceMl: offers, prices and stock', () => {
  test('a characteristic becomes a variant product; prices per type; stock in all three forms', async () => {
    const parsed = await parse(file(OFFERS_31, 'offers.xml'));
    assert.equal(parsed.pkg?.documentKind, 'offers');
    assert.equal(parsed.pkg?.onlyChanges, true);
    assert.equal(parsed.pkg?.catalogId, 'cat-1');
    assert.deepEqual(parsed.byId('product', 'prod-1#char-red'), {
      name: 'Стол (красный)',
      parentProductId: 'prod-1',
      barcodes: ['2000000000015'],
      characteristics: [{ name: 'Цвет', value: 'Красный' }],
    });
    assert.deepEqual(
      parsed.ids('product'),
      ['prod-1#char-red'],
      'an offer without characteristic is not a product',
    );
    assert.deepEqual(parsed.byId('price', 'prod-1#char-red|pt-retail'), {
      productId: 'prod-1#char-red',
      priceTypeId: 'pt-retail',
      value: 1200.5,
      currency: 'руб',
      coefficient: 1,
    });
    assert.deepEqual(parsed.byId('price', 'prod-3|pt-retail'), {
      productId: 'prod-3',
      priceTypeId: 'pt-retail',
      value: 10.5,
    });
    assert.deepEqual(parsed.byId('stock', 'prod-1#char-red|wh-1'), {
      productId: 'prod-1#char-red',
      warehouseId: 'wh-1',
      quantity: 5,
    });
    assert.deepEqual(parsed.byId('stock', 'prod-1#char-red|wh-2'), {
      productId: 'prod-1#char-red',
      warehouseId: 'wh-2',
      quantity: -1,
    });
    assert.deepEqual(parsed.byId('stock', 'prod-1#char-red|*'), {
      productId: 'prod-1#char-red',
      quantity: 4,
    });
    assert.deepEqual(parsed.byId('stock', 'prod-2|*'), { productId: 'prod-2', quantity: 7 });
    assert.deepEqual(parsed.byId('stock', 'prod-2|wh-1'), {
      productId: 'prod-2',
      warehouseId: 'wh-1',
      quantity: 3,
    });
    assert.deepEqual(parsed.byId('stock', 'prod-2|wh-2'), {
      productId: 'prod-2',
      warehouseId: 'wh-2',
      quantity: 4,
    });
  });

  test('bad offers are reported per item with line and a Russian message; the rest loads', async () => {
    const path = file(OFFERS_31, 'offers-bad.xml');
    const lines = readFileSync(path, 'utf8').split('\n');
    const parsed = await parse(path);
    assert.equal(parsed.errors.length, 3, JSON.stringify(parsed.errors));
    const [price, noId, duplicate] = parsed.errors;
    assert.equal(price!.entity, 'price');
    assert.equal(price!.externalId, 'prod-2|pt-retail');
    assert.match(price!.message, /ЦенаЗаЕдиницу.*«abc».*не число/);
    assert.match(lines[price!.line - 1]!, /<Цена>/);
    assert.equal(noId!.entity, 'product');
    assert.match(noId!.message, /Предложение без <Ид>/);
    assert.match(lines[noId!.line - 1]!, /<Предложение>/);
    assert.equal(duplicate!.externalId, 'prod-1#char-red');
    assert.match(duplicate!.message, /Повторный <Ид> prod-1#char-red/);
    assert.equal(parsed.byId('product', 'prod-1#char-red').name, 'Стол (красный)', 'the first one is kept');
    // Items after the bad ones were still read.
    assert.ok(parsed.ids('price').includes('prod-3|pt-retail'));
  });

  test('3.1 split files: prices.xml and rests.xml are recognised by content and by name', async () => {
    const prices = OFFERS_31.replace(
      /<Наименование>[^<]*<\/Наименование>\s*<Штрихкод>[\s\S]*?<\/ХарактеристикиТовара>/,
      '',
    )
      .replace(/<Остатки>[\s\S]*?<\/Остатки>/, '')
      .replace(
        /<Предложение>\s*<Ид>prod-2[\s\S]*$/,
        '</Предложения></ПакетПредложений></КоммерческаяИнформация>',
      );
    const parsedPrices = await parse(file(prices, 'p1.xml'));
    assert.equal(parsedPrices.pkg?.documentKind, 'prices');
    assert.deepEqual(parsedPrices.ids('product'), []);
    assert.equal(parsedPrices.ids('price').length, 2);
    const named = await parse(file(OFFERS_31, 'rests___3f2a.xml'));
    assert.equal(named.pkg?.documentKind, 'rests');
  });
});

const ORDERS_31 = `<?xml version="1.0" encoding="UTF-8"?>
<КоммерческаяИнформация xmlns="urn:1C.ru:commerceml_3" ВерсияСхемы="3.1" ДатаФормирования="2024-02-01T10:00:00">
  <Контейнер>
    <Документ>
      <Ид>ord-7</Ид>
      <Номер>7</Номер>
      <Дата>2024-02-01</Дата>
      <Время>09:30:00</Время>
      <ХозОперация>Заказ товара</ХозОперация>
      <Роль>Продавец</Роль>
      <Валюта>руб</Валюта>
      <Сумма>1500</Сумма>
      <Контрагенты>
        <Контрагент>
          <Ид>cp-1</Ид>
          <Наименование>ООО Ромашка</Наименование>
          <ОфициальноеНаименование>ООО «Ромашка»</ОфициальноеНаименование>
          <Роль>Покупатель</Роль>
          <ИНН>7701234567</ИНН>
          <КПП>770101001</КПП>
          <Контакты>
            <Контакт><Тип>Электронная почта</Тип><Значение>buy@romashka.ru</Значение></Контакт>
            <Контакт><Тип>Телефон рабочий</Тип><Значение>+7 495 000-00-00</Значение></Контакт>
          </Контакты>
          <Представители><Представитель><Контрагент><Ид>rep-1</Ид><Наименование>Иванов</Наименование></Контрагент></Представитель></Представители>
        </Контрагент>
      </Контрагенты>
      <Комментарий>  Позвонить заранее </Комментарий>
      <Товары>
        <Товар><Ид>prod-1#char-red</Ид><Наименование>Стол</Наименование><ЦенаЗаЕдиницу>500</ЦенаЗаЕдиницу><Количество>2</Количество><Сумма>1000</Сумма>
          <СтавкиНалогов><СтавкаНалога><Наименование>НДС</Наименование><Ставка>20</Ставка></СтавкаНалога></СтавкиНалогов></Товар>
        <Товар><Ид>prod-2</Ид><Наименование>Стул</Наименование><Цена>250</Цена><Количество>2</Количество><Сумма>500</Сумма></Товар>
      </Товары>
      <ЗначенияРеквизитов>
        <ЗначениеРеквизита><Наименование>Проведен</Наименование><Значение>true</Значение></ЗначениеРеквизита>
        <ЗначениеРеквизита><Наименование>Статус заказа</Наименование><Значение>[N] Принят</Значение></ЗначениеРеквизита>
        <ЗначениеРеквизита><Наименование>Номер отгрузки по 1С</Наименование><Значение>О-15</Значение></ЗначениеРеквизита>
        <ЗначениеРеквизита><Наименование>Дата отгрузки по 1С</Наименование><Значение>2024-02-03T12:00:00</Значение></ЗначениеРеквизита>
        <ЗначениеРеквизита><Наименование>Отменен</Наименование><Значение>false</Значение></ЗначениеРеквизита>
        <ЗначениеРеквизита><Наименование>Дата изменения статуса</Наименование><Значение>01.02.2024 09:31:00</Значение></ЗначениеРеквизита>
      </ЗначенияРеквизитов>
    </Документ>
    <Документ>
      <Ид>pay-1</Ид>
      <Номер>П-3</Номер>
      <Дата>2024-02-02</Дата>
      <Время>11:00:00</Время>
      <ХозОперация>Выплата безналичных денег</ХозОперация>
      <Сумма>1500</Сумма>
    </Документ>
  </Контейнер>
  <Контейнер>
    <Документ>
      <Ид>ord-8</Ид>
      <Номер>8</Номер>
      <Дата>2024-02-01</Дата>
      <ХозОперация>Заказ товара</ХозОперация>
      <Контрагенты><Контрагент><Ид>cp-1</Ид><Наименование>ООО Ромашка</Наименование><Роль>Покупатель</Роль></Контрагент></Контрагенты>
      <Товары><Товар><Ид>prod-9</Ид><ЦенаЗаЕдиницу>1</ЦенаЗаЕдиницу><Количество>много</Количество><Сумма>1</Сумма></Товар></Товары>
    </Документ>
  </Контейнер>
</КоммерческаяИнформация>
`;

describe('parseCommerceMl: order documents', () => {
  test('a 3.1 Контейнер gives the order, its buyer, and folds its payment document in', async () => {
    const parsed = await parse(file(ORDERS_31, 'documents.xml'));
    assert.equal(parsed.pkg?.documentKind, 'orders');
    assert.deepEqual(parsed.byId('order', 'ord-7'), {
      number: '7',
      date: '2024-02-01T09:30:00',
      customerId: 'cp-1',
      currency: 'руб',
      totals: { amount: 1500 },
      comment: 'Позвонить заранее',
      status: '[N] Принят',
      shipped: true,
      shipmentNumber: 'О-15',
      shipmentDate: '2024-02-03T12:00:00',
      paid: true,
      paymentDate: '2024-02-02T11:00:00',
      paymentNumber: 'П-3',
      lines: [
        {
          lineNo: 1,
          productId: 'prod-1#char-red',
          name: 'Стол',
          quantity: 2,
          price: 500,
          amount: 1000,
          vatRate: 20,
        },
        { lineNo: 2, productId: 'prod-2', name: 'Стул', quantity: 2, price: 250, amount: 500 },
      ],
    });
    assert.deepEqual(parsed.byId('counterparty', 'cp-1'), {
      name: 'ООО Ромашка',
      fullName: 'ООО «Ромашка»',
      inn: '7701234567',
      kpp: '770101001',
      kind: 'company',
      phones: [{ value: '+7 495 000-00-00', type: 'Телефон рабочий' }],
      emails: [{ value: 'buy@romashka.ru', type: 'Электронная почта' }],
    });
    assert.ok(!parsed.ids('counterparty').includes('rep-1'), 'a representative is not a buyer');
    const bad = parsed.errors.find((e) => e.externalId === 'ord-8');
    assert.ok(bad, 'the order with a bad quantity is reported');
    assert.match(bad.message, /Количество.*«много».*не число/);
    assert.deepEqual(parsed.ids('order'), ['ord-7']);
  });
});

describe('parseCommerceMl: malformed and truncated files', () => {
  const many = (n: number) =>
    Array.from(
      { length: n },
      (_, i) => `<Товар><Ид>p${i}</Ид><Наименование>Товар ${i}</Наименование></Товар>`,
    ).join('\n');
  const wrap = (goods: string) =>
    `<?xml version="1.0" encoding="UTF-8"?>\n<КоммерческаяИнформация ВерсияСхемы="2.08">\n<Каталог>\n<Ид>c</Ид>\n<Товары>\n${goods}\n</Товары>\n</Каталог>\n</КоммерческаяИнформация>\n`;

  test('a mismatched closing tag throws CmlSyntaxError with the line, after the items before it', async () => {
    const text = wrap(`${many(3)}\n<Товар><Ид>bad</Ид><Наименование>x</Наименованиее></Товар>\n${many(2)}`);
    const path = file(text, 'broken.xml');
    const { parsed, error } = await parseUntilError(path);
    assert.ok(error instanceof CmlSyntaxError, String(error));
    const badLine = text.split('\n').findIndex((l) => l.includes('Наименованиее')) + 1;
    assert.equal(error.line, badLine);
    assert.equal(error.file, 'broken.xml');
    assert.match(error.message, /broken\.xml/);
    assert.match(error.message, new RegExp(`строка ${badLine}`));
    assert.match(error.message, /<Наименование>/, 'names the element');
    assert.deepEqual(parsed.ids('product'), ['p0', 'p1', 'p2']);
    assert.equal(parsed.pkg?.documentKind, 'import');
  });

  test('a file cut off in the middle throws "обрывается" naming the open element; earlier items came out', async () => {
    const text = wrap(many(2000));
    const cut = text.slice(0, Math.floor(text.length * 0.6));
    const { parsed, error } = await parseUntilError(file(cut, 'cut.xml'));
    assert.ok(error instanceof CmlSyntaxError);
    assert.match(error.message, /обрывается/);
    assert.equal(error.line, cut.split('\n').length);
    const got = parsed.ids('product');
    assert.ok(got.length > 1000 && got.length < 2000, `${got.length} items before the cut`);
    assert.deepEqual(got.slice(0, 3), ['p0', 'p1', 'p2']);
  });

  test('other faults: unknown entity, text after the root, empty file, unquoted attribute', async () => {
    const cases: Array<[string, RegExp]> = [
      [wrap('<Товар><Ид>a</Ид><Наименование>A &nbsp; B</Наименование></Товар>'), /&nbsp;/],
      [`${wrap('')}мусор`, /после корневого/],
      ['', /пуст/],
      ['<КоммерческаяИнформация ВерсияСхемы=2.08></КоммерческаяИнформация>', /кавычк/],
      ['<КоммерческаяИнформация><Каталог></КоммерческаяИнформация>', /не соответствует/],
    ];
    for (const [content, message] of cases) {
      const { error } = await parseUntilError(file(content));
      assert.ok(error instanceof CmlSyntaxError, `${content.slice(0, 40)}: ${String(error)}`);
      assert.match(error.message, message);
    }
  });

  test('an aborted signal stops the parse', async () => {
    const controller = new AbortController();
    controller.abort(new Error('stop requested'));
    await assert.rejects(async () => {
      for await (const _ of parseCommerceMl(file(wrap(many(10))), { signal: controller.signal })) {
        // nothing
      }
    }, /stop requested/);
  });
});

describe('XmlScanner', () => {
  const doc =
    '<?xml version="1.0"?>\n<!-- comment -->\n<Корень а="1 &amp; 2" b=\'x\'>\n  <Пусто/>\n  <Текст>Привет &lt;мир&gt; &#8470;5 &#x263A;</Текст>\n' +
    '  <Данные><![CDATA[<не тег> & всё]]></Данные>\n  <Повтор>1</Повтор><Повтор>2</Повтор>\n</Корень>\n';

  function events(chunks: Buffer[], utf8AsLatin1: boolean): string[] {
    const out: string[] = [];
    const scanner = new XmlScanner({
      open: (name, attrs, selfClosing) =>
        out.push(`<${name}${JSON.stringify(attrs ?? {})}${selfClosing ? '/' : ''}>`),
      text: (value) => {
        // Text may arrive in pieces; neighbours are joined so only the content is compared.
        const last = out.length - 1;
        if (last >= 0 && out[last]!.startsWith('"')) out[last] = `${out[last]!.slice(0, -1)}${value}"`;
        else out.push(`"${value}"`);
      },
      close: (name) => out.push(`</${name}>`),
    });
    for (const chunk of chunks) {
      if (utf8AsLatin1) scanner.writeUtf8(chunk);
      else scanner.write(chunk.toString('utf8'));
    }
    scanner.end();
    return out;
  }

  test('gives the same events whatever the chunk boundaries, in both input modes', () => {
    const bytes = Buffer.from(doc, 'utf8');
    const whole = events([bytes], true);
    assert.ok(whole.includes('"Привет <мир> №5 ☺"'), whole.join(' '));
    assert.ok(whole.includes('"<не тег> & всё"'));
    assert.ok(whole.includes('<Корень{"а":"1 & 2","b":"x"}>'));
    assert.ok(whole.includes('<Пусто{}/>'));
    for (const size of [1, 2, 3, 5, 7, 13]) {
      const chunks: Buffer[] = [];
      for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.subarray(i, i + size));
      assert.deepEqual(events(chunks, true), whole, `latin1 mode, chunks of ${size}`);
    }
    // Decoded-string mode (windows-1251 files): chunks are whole characters there.
    assert.deepEqual(events([bytes], false), whole);
  });

  test('reads ASCII values, short and long, and values that turn Cyrillic, as the UTF-8 decode does', () => {
    // ASCII values skip the UTF-8 decode in latin1 mode (short ones cut from the text, longer
    // ones copied from the bytes): both modes and every chunking must give the same values.
    const guid = 'bd72d8f9-55bc-11d9-848a-00112f43529a';
    const values = [
      '12',
      'ART-123456789',
      guid,
      `${guid}#${guid}`,
      '4600000000001 Чайник',
      'Чайник 4600000000001',
      'R&amp;D department, 2024-01-01T00:00:00',
    ];
    const xml =
      `<К id="${guid}" code="796" n="Штука">` + values.map((v) => `<V a="${v}">${v}</V>`).join('') + '</К>';
    const bytes = Buffer.from(xml, 'utf8');
    const whole = events([bytes], true);
    assert.ok(whole.includes(`<К{"id":"${guid}","code":"796","n":"Штука"}>`), whole.join(' '));
    for (const v of values) {
      const text = v.replace('&amp;', '&');
      assert.ok(whole.includes(`"${text}"`), `text ${text}`);
      assert.ok(whole.includes(`<V{"a":${JSON.stringify(text)}}>`), `attribute ${text}`);
    }
    for (const size of [1, 5, 13, 40]) {
      const chunks: Buffer[] = [];
      for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.subarray(i, i + size));
      assert.deepEqual(events(chunks, true), whole, `latin1 mode, chunks of ${size}`);
    }
    assert.deepEqual(events([bytes], false), whole);
  });
});

describe('generateCatalog', () => {
  test('is deterministic and parses to the requested number of goods with their properties', async () => {
    const write = async (name: string, fn: typeof generateCatalog) => {
      const path = join(dir, name);
      const out = createWriteStream(path);
      const result = await fn({ goods: 300, propertiesPerGood: 4, seed: 7 }, out);
      out.end();
      await finished(out);
      return { path, result };
    };
    const a = await write('gen-a.xml', generateCatalog);
    const b = await write('gen-b.xml', generateCatalog);
    assert.deepEqual(readFileSync(a.path), readFileSync(b.path));
    assert.equal(a.result.bytes, readFileSync(a.path).length);
    const parsed = await parse(a.path);
    assert.equal(parsed.errors.length, 0);
    assert.equal(parsed.ids('product').length, 300);
    // The file spans many read chunks: lines stay right across chunk boundaries.
    const lines = readFileSync(a.path, 'utf8').split('\n');
    assert.ok(a.result.bytes > 10 * 64 * 1024);
    for (const { entity, item, line } of parsed.items) {
      if (entity === 'product')
        assert.match(lines[line - 1]!, /<Товар>/, `${item.externalId} at line ${line}`);
    }
    assert.equal(parsed.ids('property').length, 4);
    assert.equal(parsed.ids('product_group').length, 120);
    for (const { entity, item } of parsed.items) {
      if (entity !== 'product') continue;
      assert.equal((item.data.properties as unknown[]).length, 4);
      assert.ok(parsed.ids('product_group').includes(item.data.groupId as string));
    }
    const offers = await write('gen-offers.xml', generateOffers);
    const parsedOffers = await parse(offers.path);
    const goodsIds = new Set(parsed.ids('product'));
    assert.equal(parsedOffers.ids('price').length, 600);
    assert.equal(parsedOffers.ids('stock').length, 300 * 4);
    for (const { entity, item } of parsedOffers.items) {
      if (entity === 'price' || entity === 'stock') assert.ok(goodsIds.has(item.data.productId as string));
    }
  });
});
