import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { CANONICAL_ENTITIES, createEntityRegistry } from '../src/core/entities/index.ts';

const registry = createEntityRegistry();

describe('canonical entity registry', () => {
  it('lists the 12 canonical entities with Russian titles', () => {
    assert.deepEqual([...CANONICAL_ENTITIES].sort(), [
      'contact',
      'counterparty',
      'order',
      'order_status',
      'price',
      'price_type',
      'product',
      'product_group',
      'property',
      'stock',
      'unit',
      'warehouse',
    ]);
    assert.deepEqual(registry.names(), [...CANONICAL_ENTITIES]);
    assert.deepEqual(
      CANONICAL_ENTITIES.map((name) => registry.get(name)?.title.ru),
      [
        'товар',
        'группа товаров',
        'свойство',
        'единица измерения',
        'вид цены',
        'цена',
        'склад',
        'остаток',
        'контрагент',
        'контактное лицо',
        'заказ',
        'состояние заказа',
      ],
    );
    assert.deepEqual(registry.get('order_status')?.subjects, ['orderId'], 'a status is about its order');
    assert.deepEqual(registry.get('order')?.subjects, []);
    assert.equal(registry.get('product')?.custom, false);
    assert.deepEqual(registry.get('order')?.refs, [
      { path: 'customerId', entity: 'counterparty' },
      { path: 'contactId', entity: 'contact' },
      { path: 'warehouseId', entity: 'warehouse' },
      { path: 'lines[].productId', entity: 'product' },
    ]);
  });

  it('gives every canonical schema a JSON Schema (for the API docs)', () => {
    for (const name of CANONICAL_ENTITIES) {
      const schema = z.toJSONSchema(registry.get(name)!.schema) as { type?: string };
      assert.equal(schema.type, 'object', name);
    }
  });
});

describe('validate: valid objects pass and are normalised', () => {
  const cases: Array<{ entity: string; input: unknown; output: Record<string, unknown> }> = [
    {
      entity: 'product',
      input: {
        article: ' A-1 ',
        name: ' Стул офисный ',
        fullName: 'Стул офисный чёрный',
        groupId: 'g1',
        baseUnitId: 'u1',
        baseUnit: { code: ' 796 ', name: 'Штука', shortName: 'шт' },
        barcodes: ['4600000000017'],
        properties: [
          { propertyId: 'color', valueId: 'red' },
          { propertyId: 'size', value: 42 },
        ],
        vatRate: '20',
        weight: { value: '1,5', unit: 'kg' },
        images: ['import_files/a.jpg'],
        attributes: { ВидНоменклатуры: 'Товар' },
        characteristics: [{ name: 'Цвет', value: 'красный' }],
        parentProductId: 'p0',
        manufacturer: 'ООО Мебель',
        description: '',
        deleted: false,
      },
      output: {
        article: 'A-1',
        name: 'Стул офисный',
        fullName: 'Стул офисный чёрный',
        groupId: 'g1',
        baseUnitId: 'u1',
        baseUnit: { code: '796', name: 'Штука', shortName: 'шт' },
        barcodes: ['4600000000017'],
        properties: [
          { propertyId: 'color', valueId: 'red' },
          { propertyId: 'size', value: 42 },
        ],
        vatRate: 20,
        weight: { value: 1.5, unit: 'kg' },
        images: ['import_files/a.jpg'],
        attributes: { ВидНоменклатуры: 'Товар' },
        characteristics: [{ name: 'Цвет', value: 'красный' }],
        parentProductId: 'p0',
        manufacturer: 'ООО Мебель',
        deleted: false,
      },
    },
    // null vatRate means "без НДС" and is kept; null elsewhere means absent.
    {
      entity: 'product',
      input: { name: 'Услуга', vatRate: null, groupId: null },
      output: { name: 'Услуга', vatRate: null },
    },
    {
      entity: 'product_group',
      input: { name: 'Стулья', parentId: '', code: ' 00-001 ' },
      output: { name: 'Стулья', code: '00-001' },
    },
    {
      entity: 'property',
      input: {
        name: 'Цвет',
        type: 'dictionary',
        values: [{ id: 'red', value: 'красный' }],
        forProducts: true,
        forOffers: false,
      },
      output: {
        name: 'Цвет',
        type: 'dictionary',
        values: [{ id: 'red', value: 'красный' }],
        forProducts: true,
        forOffers: false,
      },
    },
    {
      entity: 'unit',
      input: { code: ' 796 ', name: 'Штука', shortName: 'шт', international: 'PCE' },
      output: { code: '796', name: 'Штука', shortName: 'шт', international: 'PCE' },
    },
    {
      entity: 'price_type',
      input: { name: 'Розничная', currency: 'RUB', vatIncluded: true },
      output: { name: 'Розничная', currency: 'RUB', vatIncluded: true },
    },
    {
      entity: 'price',
      input: {
        productId: 'p1',
        priceTypeId: 'pt1',
        value: '1 234,50',
        currency: 'RUB',
        unitId: 'u1',
        coefficient: '1',
      },
      output: {
        productId: 'p1',
        priceTypeId: 'pt1',
        value: 1234.5,
        currency: 'RUB',
        unitId: 'u1',
        coefficient: 1,
      },
    },
    {
      entity: 'warehouse',
      input: { name: 'Основной склад', address: 'Москва' },
      output: { name: 'Основной склад', address: 'Москва' },
    },
    {
      entity: 'stock',
      input: { productId: 'p1', warehouseId: 'w1', quantity: '-3', reserved: '1.25' },
      output: { productId: 'p1', warehouseId: 'w1', quantity: -3, reserved: 1.25 },
    },
    // Total stock over all warehouses has no warehouse; integer ids from a source become text.
    { entity: 'stock', input: { productId: 42, quantity: 0 }, output: { productId: '42', quantity: 0 } },
    {
      entity: 'counterparty',
      input: {
        kind: 'company',
        name: 'ООО Ромашка',
        inn: '7707083893',
        kpp: '773601001',
        ogrn: '1027700132195',
        phones: [{ value: '+7 495 000-00-00', type: 'work' }],
        emails: [{ value: 'info@romashka.ru' }],
        addresses: [{ type: 'legal', value: 'Москва, ул. Ленина, 1', postalCode: '101000', city: 'Москва' }],
        comment: null,
      },
      output: {
        kind: 'company',
        name: 'ООО Ромашка',
        inn: '7707083893',
        kpp: '773601001',
        ogrn: '1027700132195',
        phones: [{ value: '+7 495 000-00-00', type: 'work' }],
        emails: [{ value: 'info@romashka.ru' }],
        addresses: [{ type: 'legal', value: 'Москва, ул. Ленина, 1', postalCode: '101000', city: 'Москва' }],
      },
    },
    {
      entity: 'contact',
      input: { counterpartyId: 'c1', firstName: 'Иван', lastName: 'Петров', position: 'закупщик' },
      output: { counterpartyId: 'c1', firstName: 'Иван', lastName: 'Петров', position: 'закупщик' },
    },
    {
      entity: 'order',
      input: {
        number: ' 000123 ',
        date: '2024-05-01T10:30:00',
        customerId: 'c1',
        contactId: 'k1',
        currency: 'RUB',
        lines: [
          {
            lineNo: '1',
            productId: 'p1',
            quantity: '2',
            price: '100.00',
            discount: '10',
            vatRate: '20',
            amount: '190',
          },
          { productId: 'p2', quantity: 1, price: 50, vatRate: null, amount: 50 },
        ],
        totals: { amount: '240', vatAmount: '31.67' },
        status: 'new',
        paid: true,
        paymentDate: '2024-05-02',
        source: 'site s1',
      },
      output: {
        number: '000123',
        date: '2024-05-01T10:30:00',
        customerId: 'c1',
        contactId: 'k1',
        currency: 'RUB',
        lines: [
          { lineNo: 1, productId: 'p1', quantity: 2, price: 100, discount: 10, vatRate: 20, amount: 190 },
          { productId: 'p2', quantity: 1, price: 50, vatRate: null, amount: 50 },
        ],
        totals: { amount: 240, vatAmount: 31.67 },
        status: 'new',
        paid: true,
        paymentDate: '2024-05-02',
        shipped: false,
        cancelled: false,
        source: 'site s1',
      },
    },
    {
      entity: 'order_status',
      input: {
        orderId: 'o1',
        status: ' shipped ',
        shipped: true,
        changedAt: '2026-05-02T10:00:00',
        number: '',
      },
      output: {
        orderId: 'o1',
        status: 'shipped',
        paid: false,
        shipped: true,
        cancelled: false,
        changedAt: '2026-05-02T10:00:00',
      },
    },
  ];

  for (const { entity, input, output } of cases) {
    it(`${entity} ${JSON.stringify(input).slice(0, 60)}`, () => {
      const result = registry.validate(entity, input);
      assert.deepEqual(result, { ok: true, data: output });
    });
  }

  it('covers every canonical entity', () => {
    assert.deepEqual(new Set(cases.map((c) => c.entity)), new Set(CANONICAL_ENTITIES));
  });
});

describe('validate: invalid objects give human issues', () => {
  const cases: Array<{ entity: string; input: unknown; issues: string[] }> = [
    {
      entity: 'product',
      input: { name: 'x', barcodes: ['1', 2] },
      issues: ['product.barcodes[1]: expected a string'],
    },
    { entity: 'product', input: { name: '  ' }, issues: ['product.name: must not be empty'] },
    { entity: 'product', input: {}, issues: ['product.name: is required'] },
    { entity: 'product', input: 'Стул', issues: ['product: expected an object'] },
    {
      entity: 'product',
      input: { name: 'x', id: 'p1', colour: 'red' },
      issues: ['product.id: unknown field', 'product.colour: unknown field'],
    },
    {
      entity: 'product',
      input: { name: 'x', vatRate: 120 },
      issues: ['product.vatRate: must be at most 100'],
    },
    {
      entity: 'product',
      input: { name: 'x', properties: [{ propertyId: 'p', value: { a: 1 } }] },
      issues: ['product.properties[0].value: expected a string, a number or true/false'],
    },
    {
      entity: 'product',
      input: { name: 'x', deleted: 'no' },
      issues: ['product.deleted: expected true or false'],
    },
    {
      entity: 'property',
      input: { name: 'x', type: 'text' },
      issues: ['property.type: expected one of "string", "number", "boolean", "date", "dictionary"'],
    },
    {
      entity: 'price',
      input: { productId: 'p', priceTypeId: 't', value: '' },
      issues: ['price.value: expected a number, got an empty string'],
    },
    {
      entity: 'price',
      input: { productId: 'p', priceTypeId: 't', value: '12 руб' },
      issues: ['price.value: expected a number, got "12 руб"'],
    },
    // "1,234.5" mixes grouping and decimal marks: guessing could be off by a thousand.
    {
      entity: 'price',
      input: { productId: 'p', priceTypeId: 't', value: '1,234.5' },
      issues: ['price.value: expected a number, got "1,234.5"'],
    },
    {
      entity: 'price',
      input: { productId: 'p', priceTypeId: 't', value: '-5', coefficient: 0 },
      issues: ['price.value: must be at least 0', 'price.coefficient: must be greater than 0'],
    },
    {
      entity: 'price',
      input: { productId: 'p', priceTypeId: 't', value: true },
      issues: ['price.value: expected a number'],
    },
    {
      entity: 'stock',
      input: { productId: '', quantity: 1 },
      issues: ['stock.productId: must not be empty'],
    },
    { entity: 'stock', input: { productId: 'p' }, issues: ['stock.quantity: is required'] },
    {
      entity: 'counterparty',
      input: { kind: 'org', name: 'A', kpp: '77360100', ogrn: '123' },
      issues: [
        'counterparty.kind: expected one of "company", "person"',
        'counterparty.kpp: must be 9 characters, e.g. 773601001',
        'counterparty.ogrn: must be 13 digits (15 for a sole trader)',
      ],
    },
    {
      entity: 'counterparty',
      input: { name: 'A', phones: [{ type: 'work' }], addresses: [{ value: 'Москва' }] },
      issues: ['counterparty.phones[0].value: is required', 'counterparty.addresses[0].type: is required'],
    },
    {
      entity: 'contact',
      input: { counterpartyId: 'c1', position: 'директор' },
      issues: ['contact: needs a name, firstName or lastName'],
    },
    {
      entity: 'order',
      input: {
        number: '1',
        date: '2024-02-30',
        customerId: 'c1',
        lines: [{ lineNo: 1.5, productId: 'p1', quantity: 'два', price: 1, amount: 2, extra: 1 }, {}],
      },
      issues: [
        'order.date: expected an ISO date like 2024-05-01 or 2024-05-01T10:30:00',
        'order.lines[0].lineNo: expected an integer',
        'order.lines[0].quantity: expected a number, got "два"',
        'order.lines[0].extra: unknown field',
        'order.lines[1].productId: is required',
        'order.lines[1].quantity: is required',
        'order.lines[1].price: is required',
        'order.lines[1].amount: is required',
      ],
    },
    {
      entity: 'order',
      input: { number: '1', date: '2024-05-01', customerId: 'c1' },
      issues: ['order.lines: is required'],
    },
    {
      entity: 'order',
      input: { number: '1', date: '2024-05-01', customerId: 'c1', lines: 'none', paid: 'yes' },
      issues: ['order.lines: expected a list', 'order.paid: expected true or false'],
    },
  ];

  for (const { entity, input, issues } of cases) {
    it(`${entity} ${JSON.stringify(input).slice(0, 60)}`, () => {
      assert.deepEqual(registry.validate(entity, input), { ok: false, issues });
    });
  }

  it('names an unknown entity', () => {
    const result = registry.validate('invoice', { number: '1' });
    assert.equal(result.ok, false);
    assert.match(
      (result as { issues: string[] }).issues[0]!,
      /^unknown entity "invoice"; known entities are product, /,
    );
  });
});

describe('validate: INN', () => {
  const cases: Array<{ inn: unknown; result: string | undefined | Error }> = [
    { inn: '7707083893', result: '7707083893' },
    { inn: '500100732259', result: '500100732259' },
    { inn: ' 7707083893 ', result: '7707083893' },
    // 1C sends "" for an empty INN: it means "none", not a broken INN.
    { inn: '', result: undefined },
    { inn: null, result: undefined },
    { inn: '12345', result: new Error('must be 10 digits (company) or 12 digits (person or sole trader)') },
    {
      inn: '77070838931',
      result: new Error('must be 10 digits (company) or 12 digits (person or sole trader)'),
    },
    {
      inn: '770708389A',
      result: new Error('must be 10 digits (company) or 12 digits (person or sole trader)'),
    },
    {
      inn: '7707 083893',
      result: new Error('must be 10 digits (company) or 12 digits (person or sole trader)'),
    },
    // As a number it would already have lost leading zeros (e.g. 0101…), so it is refused.
    { inn: 7707083893, result: new Error('expected a string') },
  ];
  for (const { inn, result } of cases) {
    it(`${JSON.stringify(inn)} → ${result instanceof Error ? result.message : JSON.stringify(result)}`, () => {
      const validated = registry.validate('counterparty', { name: 'A', inn });
      if (result instanceof Error) {
        assert.deepEqual(validated, { ok: false, issues: [`counterparty.inn: ${result.message}`] });
      } else {
        assert.equal(validated.ok, true);
        assert.equal((validated as { data: Record<string, unknown> }).data.inn, result);
        assert.equal('inn' in (validated as { data: Record<string, unknown> }).data, result !== undefined);
      }
    });
  }
});

const order = {
  number: '1',
  date: '2024-05-01',
  customerId: 'c1',
  contactId: '',
  warehouseId: null,
  lines: [
    { productId: 'p1', quantity: 1, price: 1, amount: 1 },
    { productId: 'p2', quantity: 1, price: 1, amount: 1 },
    { productId: 'p1', quantity: 1, price: 1, amount: 1 },
  ],
  totals: { amount: 3 },
};

describe('refsOf / mapRefs', () => {
  it('finds references in nested arrays with concrete paths, skipping empty and null', () => {
    assert.deepEqual(registry.refsOf('order', order), [
      { path: 'customerId', entity: 'counterparty', id: 'c1' },
      { path: 'lines[0].productId', entity: 'product', id: 'p1' },
      { path: 'lines[1].productId', entity: 'product', id: 'p2' },
      { path: 'lines[2].productId', entity: 'product', id: 'p1' },
    ]);
    assert.deepEqual(
      registry.refsOf('product', {
        name: 'x',
        groupId: 'g',
        properties: [{ propertyId: 'pr1' }, {}, { propertyId: 'pr2' }],
      }),
      [
        { path: 'groupId', entity: 'product_group', id: 'g' },
        { path: 'properties[0].propertyId', entity: 'property', id: 'pr1' },
        { path: 'properties[2].propertyId', entity: 'property', id: 'pr2' },
      ],
    );
    assert.deepEqual(registry.refsOf('unit', { name: 'шт' }), []);
    assert.deepEqual(registry.refsOf('order', { number: '1', lines: 'not a list' }), []);
  });

  it('replaces ids in a deep copy and reports the ones it cannot map', () => {
    const before = structuredClone(order);
    const ids: Record<string, string> = { 'counterparty:c1': 'B-C1', 'product:p1': 'B-P1' };
    const calls: string[] = [];
    const { data, missing } = registry.mapRefs('order', order, (entity, id) => {
      calls.push(`${entity}:${id}`);
      return ids[`${entity}:${id}`];
    });
    assert.deepEqual(calls, ['counterparty:c1', 'product:p1', 'product:p2', 'product:p1']);
    assert.deepEqual(data, {
      ...before,
      customerId: 'B-C1',
      lines: [
        { productId: 'B-P1', quantity: 1, price: 1, amount: 1 },
        { productId: 'p2', quantity: 1, price: 1, amount: 1 },
        { productId: 'B-P1', quantity: 1, price: 1, amount: 1 },
      ],
    });
    assert.deepEqual(missing, [{ path: 'lines[1].productId', entity: 'product', id: 'p2' }]);
    assert.deepEqual(order, before, 'the input is left untouched');
    assert.notEqual(data.totals, order.totals, 'nested objects are copies, not shared');
  });
});

describe('custom entities', () => {
  const custom = createEntityRegistry([
    {
      name: 'bundle',
      description: 'Комплект',
      refs: {
        ownerId: 'counterparty',
        'items[].productId': 'product',
        'meta.warehouseId': 'warehouse',
        'tagIds[]': 'tag',
      },
    },
    { name: 'tag' },
  ]);
  // One bundle for the reference tests: a number id, a null, an empty one, and t2 left unmapped.
  const bundle = () => ({
    ownerId: 17,
    items: [{ productId: 'p1' }, { productId: null }],
    meta: { warehouseId: 'w1' },
    tagIds: ['t1', '', 't2'],
  });
  const allButT2 = (entity: string, id: string) =>
    entity === 'tag' && id === 't2' ? undefined : `${entity}/${id}`;
  const MAPPED = {
    ownerId: 'counterparty/17',
    items: [{ productId: 'product/p1' }, { productId: null }],
    meta: { warehouseId: 'warehouse/w1' },
    tagIds: ['tag/t1', '', 't2'],
  };

  it('are registered beside the canonical ones and accept any JSON object', () => {
    assert.deepEqual(custom.names().slice(-2), ['bundle', 'tag']);
    assert.equal(custom.get('bundle')?.custom, true);
    assert.deepEqual(custom.get('bundle')?.title, { ru: 'Комплект', en: 'Комплект' });
    assert.deepEqual(custom.validate('bundle', { anything: [1, { x: null }] }), {
      ok: true,
      data: { anything: [1, { x: null }] },
    });
    assert.deepEqual(custom.validate('tag', ['x']), { ok: false, issues: ['tag: expected an object'] });
  });

  it('expose their declared references through refsOf and mapRefs', () => {
    const data = bundle();
    assert.deepEqual(custom.refsOf('bundle', data), [
      { path: 'ownerId', entity: 'counterparty', id: '17' },
      { path: 'items[0].productId', entity: 'product', id: 'p1' },
      { path: 'meta.warehouseId', entity: 'warehouse', id: 'w1' },
      { path: 'tagIds[0]', entity: 'tag', id: 't1' },
      { path: 'tagIds[2]', entity: 'tag', id: 't2' },
    ]);
    const { data: mapped, missing } = custom.mapRefs('bundle', data, allButT2);
    assert.deepEqual(mapped, MAPPED);
    assert.deepEqual(missing, [{ path: 'tagIds[2]', entity: 'tag', id: 't2' }]);
  });

  it('replace ids in place without a copy, and put exactly the values that were there back', () => {
    const data = bundle();
    const before = structuredClone(data);
    const items = data.items;
    const restore = custom.replaceRefsInPlace('bundle', data, allButT2);
    assert.deepEqual(data, MAPPED);
    assert.equal(data.items, items, 'the same objects, changed where they are');
    restore();
    assert.deepEqual(data, before, 'the number 17 is a number again, not "17"');
  });

  it('may not shadow a canonical entity, be declared twice or point to unknown entities', () => {
    assert.throws(() => createEntityRegistry([{ name: 'product' }]), {
      message:
        'custom entity "product" shadows a canonical entity: give it another name in obmen.yaml (entities:), e.g. "product_ext"',
    });
    assert.throws(
      () => createEntityRegistry([{ name: 'tag' }, { name: 'tag' }]),
      /custom entity "tag" is declared twice/,
    );
    assert.throws(
      () => createEntityRegistry([{ name: 'bundle', refs: { itemId: 'prodct' } }]),
      /^Error: entity "bundle": reference "itemId" points to unknown entity "prodct"; known entities are product, /,
    );
    assert.throws(
      () => createEntityRegistry([{ name: 'bundle', refs: { 'items[0].id': 'product' } }]),
      /entity "bundle": reference path "items\[0\]\.id" is not valid/,
    );
  });

  it('refsOf and mapRefs refuse an unknown entity by name', () => {
    assert.throws(() => registry.refsOf('bundle', {}), /unknown entity "bundle"/);
    assert.throws(() => registry.mapRefs('bundle', {}, (_e, id) => id), /unknown entity "bundle"/);
  });
});
