import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import jsonata from 'jsonata';
import { convertValue } from '../src/mapping/convert.ts';
import { compileExpression, type EvalEnv, MappingError } from '../src/mapping/expression.ts';
import { loadMapping } from '../src/mapping/load.ts';
import { compileRouteMapping } from '../src/mapping/route.ts';
import { compileSourceMapping } from '../src/mapping/source.ts';

const ROUTE = { name: 'b24-deals', target: 'b24' };
const NOW = Date.UTC(2026, 0, 2, 3, 4, 5);

/** Maps one record with a route mapping of the given fields and returns the outcome. */
async function mapWith(spec: Record<string, unknown>, record: Record<string, unknown>, deps = {}) {
  return compileRouteMapping(ROUTE, spec, { now: () => NOW, ...deps }).map(record, {
    recordId: 'r1',
    externalIds: { onec: 'guid-1' },
  });
}

async function fieldsOf(spec: Record<string, unknown>, record: Record<string, unknown>, deps = {}) {
  const outcome = await mapWith(spec, record, deps);
  assert.equal(outcome.kind, 'ok', JSON.stringify(outcome));
  return (outcome as { fields: Record<string, unknown> }).fields;
}

describe('expression helpers', () => {
  const lookups = { colors: { map: { red: 'RED_ID', blue: 'BLUE_ID' } } };
  const cases: Array<[string, Record<string, unknown>, unknown]> = [
    ["$lookup('colors', color)", { color: 'red' }, 'RED_ID'],
    ["$lookup('colors', color)", { color: 'green' }, undefined],
    ["$reverseLookup('colors', id)", { id: 'BLUE_ID' }, 'blue'],
    ["$convert(w, 'kg->g')", { w: 1.5 }, 1500],
    ["$convert(w, 'kg->g')", { w: '0,25' }, 250],
    ["$convert(weight, 'g')", { weight: { value: 2, unit: 'кг' } }, 2000],
    ["$convert(len, 'm->mm')", { len: 0.1 }, 100],
    ['$normalizePhone(phone)', { phone: '8 (912) 345-67-89' }, '+79123456789'],
    ['$normalizeEmail(email)', { email: ' A.B@Gmail.com ' }, 'ab@gmail.com'],
    ['$normalizeInn(inn)', { inn: '7707 083 893' }, '7707083893'],
    ["$externalId('onec')", {}, 'guid-1'],
    ["$externalId('site')", {}, 'site-of-r1'],
    ['$now()', {}, '2026-01-02T03:04:05.000Z'],
    // Helpers also work where JSONata itself evaluates (array paths take the slow path).
    ["$lookup('colors', lines[qty > 1].color)", { lines: [{ qty: 2, color: 'blue' }] }, 'BLUE_ID'],
    ["$externalId('onec') & '/' & lines[0].sku", { lines: [[{ sku: 's' }]] }, 'guid-1/s'],
  ];
  for (const [expr, record, expected] of cases) {
    test(`${expr} on ${JSON.stringify(record)} → ${JSON.stringify(expected)}`, async () => {
      const outcome = await mapWith({ fields: { F: expr }, lookups }, record, {
        externalId: (system: string, ctx: { recordId?: string }) => `${system}-of-${ctx.recordId}`,
      });
      assert.equal(outcome.kind, 'ok', JSON.stringify(outcome));
      assert.deepEqual((outcome as { fields: Record<string, unknown> }).fields.F, expected);
    });
  }
});

describe('the fast path gives JSONata results', () => {
  // Every expression is evaluated by the compiled closure and by JSONata itself: same answer.
  const expressions = [
    'name',
    'weight.value',
    'a.b.c',
    "'p-' & article",
    'article & "-" & qty',
    'price * 1.2',
    'qty + 1',
    'price / qty',
    '-qty',
    'qty % 2',
    'active and qty > 0',
    'active or missing',
    'not_there and active',
    "group in ['a', 'b']",
    "group in 'a'",
    'qty in [1, 2, 3]',
    'qty = 3',
    'qty != 3',
    "name = 'X'",
    'qty >= 3 ? "many" : "few"',
    'missing ? 1 : 2',
    'missing > 1',
    'price > qty',
    '$exists(missing)',
    '$not(active)',
    '$string(price)',
    '$uppercase(name)',
    'ratio & ""',
    'empty_obj ? 1 : 2',
    'obj ? 1 : 2',
    'tags',
    'tags[0]',
    'tags[1]',
    'tags[-1]',
    'tags[5]',
    'name[0]',
    'name[1]',
    'lines[1]',
    'lines[0].sku',
    'a.b[0]',
    'nested[0]',
    'nested[1]',
    'lines.qty',
    'lines[qty > 1].sku',
    'name & obj',
    'name > 1',
    'obj = obj',
  ];
  const records: Array<Record<string, unknown>> = [
    {
      name: 'X',
      weight: { value: 1.5 },
      a: { b: { c: 7 } },
      article: 'A1',
      qty: 3,
      price: 10.5,
      active: true,
      group: 'a',
      ratio: 0.1 + 0.2,
      empty_obj: {},
      obj: { k: 1 },
      tags: ['t1', 't2'],
      nested: [['x', 'y'], { k: 1 }],
      lines: [
        { qty: 1, sku: 's1' },
        { qty: 2, sku: 's2' },
      ],
    },
    { name: 'Y', qty: 0, active: false, group: 'z', a: { b: [{ c: 1 }, { c: 2 }] } },
    {},
  ];
  const env: EvalEnv = { helpers: {} };
  for (const source of expressions) {
    test(source, async () => {
      const compiled = compileExpression(source, 'test', new Set());
      for (const record of records) {
        let expected: unknown;
        let expectedError: string | undefined;
        try {
          expected = await jsonata(source).evaluate(record);
        } catch (error) {
          expectedError = (error as { code?: string }).code;
        }
        let actual: unknown;
        let actualError: string | undefined;
        try {
          actual = await compiled.evaluate(record, env);
        } catch (error) {
          actualError = (error as { code?: string }).code;
        }
        assert.equal(actualError, expectedError, `${source} on ${JSON.stringify(record)}`);
        assert.deepEqual(actual, expected, `${source} on ${JSON.stringify(record)}`);
      }
    });
  }
  test('common expressions do take the fast path', () => {
    for (const source of ['name', "'p-' & article", "active and group in ['a']", 'qty > 1 ? 1 : 0']) {
      assert.equal(compileExpression(source, 'test', new Set()).fast, true, source);
    }
    assert.equal(compileExpression('barcodes[0]', 'test', new Set()).fast, true);
    assert.equal(compileExpression('lines[qty > 1].sku', 'test', new Set()).fast, false);
  });
});

describe('lookups', () => {
  const orderStatus = {
    map: {
      new: 'NEW',
      confirmed: 'PREPARATION',
      paid: 'PREPAYMENT_INVOICE',
      completed: 'WON',
      cancelled: 'LOSE',
    },
  };
  test('forward: canonical status → deal stage', async () => {
    const fields = await fieldsOf(
      { fields: { STAGE_ID: { lookup: 'orderStatus', from: 'status' } }, lookups: { orderStatus } },
      { status: 'paid' },
    );
    assert.deepEqual(fields, { STAGE_ID: 'PREPAYMENT_INVOICE' });
  });
  test('reverse: deal stage → canonical status', async () => {
    const fields = await fieldsOf(
      {
        fields: { status: { lookup: 'orderStatus', from: 'STAGE_ID', reverse: true } },
        lookups: { orderStatus },
      },
      { STAGE_ID: 'WON' },
    );
    assert.deepEqual(fields, { status: 'completed' });
  });
  test('a table with a repeated value cannot be read backwards (compile error)', () => {
    assert.throws(
      () =>
        compileRouteMapping(ROUTE, {
          fields: { s: { lookup: 't', from: 'x', reverse: true } },
          lookups: { t: { map: { a: 'X', b: 'X' } } },
        }),
      /route b24-deals, field s: lookup table "t" cannot be read backwards: keys "a" and "b" both map to X/,
    );
  });
  test('keys compare as text: 17 and "17" find the same entry', async () => {
    const fields = await fieldsOf(
      {
        fields: { SECTION_ID: { lookup: 'groups', from: 'groupId' } },
        lookups: { groups: { map: { '17': 5 } } },
      },
      { groupId: 17 },
    );
    assert.deepEqual(fields, { SECTION_ID: 5 });
  });
  test('tables from CSV (1C ";" export) and YAML files, relative to the config folder', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'obmen-map-'));
    writeFileSync(join(dir, 'groups.csv'), '\uFEFF# 1C group → Bitrix section\nc2a5;17\n"d3b6",18\n');
    writeFileSync(join(dir, 'stages.yaml'), 'map:\n  new: NEW\n  paid: PREPAYMENT_INVOICE\n');
    const spec = {
      fields: {
        SECTION_ID: { lookup: 'groups', from: 'groupId' },
        STAGE_ID: { lookup: 'stages', from: 'status' },
      },
      lookups: { groups: { file: 'groups.csv' }, stages: { file: 'stages.yaml' } },
    };
    const fields = await fieldsOf(spec, { groupId: 'd3b6', status: 'new' }, { baseDir: dir });
    assert.deepEqual(fields, { SECTION_ID: '18', STAGE_ID: 'NEW' });
  });
  test('an unknown key without a policy is an error naming the table and what to do', async () => {
    const outcome = await mapWith(
      {
        fields: { SECTION_ID: { lookup: 'groups', from: 'groupId' } },
        lookups: { groups: { map: { a: 1 } } },
      },
      { groupId: 'zz' },
    );
    assert.equal(outcome.kind, 'error');
    assert.match(
      (outcome as { message: string }).message,
      /field SECTION_ID: «zz» is not in lookup table "groups"; add it/,
    );
  });
  test('an empty key leaves the field out (or takes the default)', async () => {
    const spec = {
      fields: {
        A: { lookup: 'g', from: 'groupId' },
        B: { lookup: 'g', from: 'groupId', default: 0 },
      },
      lookups: { g: { map: { a: 1 } } },
    };
    assert.deepEqual(await fieldsOf(spec, {}), { B: 0 });
  });
});

describe('unit conversions', () => {
  const cases: Array<[unknown, string, number | undefined]> = [
    [1.5, 'kg->g', 1500],
    [0.1, 'kg->g', 100],
    [250, 'g->kg', 0.25],
    ['1,5', 'кг->г', 1500],
    [2, 'm→cm', 200],
    [1, 'l->ml', 1000],
    [1, 'm3->l', 1000],
    [3, 't->kg', 3000],
    [{ value: 500, unit: 'г' }, 'kg', 0.5],
    [undefined, 'kg->g', undefined],
    ['', 'kg->g', undefined],
  ];
  for (const [value, conversion, expected] of cases) {
    test(`${JSON.stringify(value)} ${conversion} → ${expected}`, () =>
      assert.equal(convertValue(value, conversion), expected));
  }
  test('bad conversions are refused with the reason', () => {
    assert.throws(() => convertValue(1, 'kg->m'), /cannot convert mass \(kg\) to length \(m\)/);
    assert.throws(() => convertValue(1, 'kg->stone'), /unknown unit "stone"/);
    assert.throws(() => convertValue('abc', 'kg->g'), /"abc" is not a number/);
  });
  test('a field conversion applies to the value', async () => {
    assert.deepEqual(
      await fieldsOf(
        { fields: { WEIGHT: { expr: 'weight.value', convert: 'kg->g' } } },
        { weight: { value: 2.5 } },
      ),
      {
        WEIGHT: 2500,
      },
    );
  });
  test('a field conversion with a bad pair fails at compile time', () => {
    assert.throws(
      () => compileRouteMapping(ROUTE, { fields: { W: { expr: 'w', convert: 'kg->mm' } } }),
      /route b24-deals, field W: convert: cannot convert mass/,
    );
  });
  test('a non-numeric value to convert is an error for that record', async () => {
    const outcome = await mapWith({ fields: { W: { expr: 'w', convert: 'kg->g' } } }, { w: 'heavy' });
    assert.equal(outcome.kind, 'error');
    assert.match(
      (outcome as { message: string }).message,
      /field W: "heavy" is not a number, cannot convert kg->g/,
    );
  });
});

describe('defaults, conditions, filters, external ids', () => {
  test('default replaces an empty result; constants are expressions', async () => {
    const spec = {
      fields: {
        COMMENT: { expr: 'comment', default: '—' },
        CURRENCY: "'RUB'",
        QTY: '0',
        EMPTY: 'nothing',
      },
    };
    assert.deepEqual(await fieldsOf(spec, { comment: '' }), { COMMENT: '—', CURRENCY: 'RUB', QTY: 0 });
    assert.deepEqual(await fieldsOf(spec, { comment: 'hi' }), { COMMENT: 'hi', CURRENCY: 'RUB', QTY: 0 });
  });
  const conditional = {
    fields: {
      OPENED: { expr: "status != 'cancelled'", when: "kind = 'person'" },
      COMPANY_TITLE: { expr: 'name', when: "kind = 'company'" },
    },
  };
  const conditions: Array<[Record<string, unknown>, Record<string, unknown>]> = [
    [{ kind: 'person', status: 'new', name: 'Иван' }, { OPENED: true }],
    [{ kind: 'person', status: 'cancelled', name: 'Иван' }, { OPENED: false }],
    [{ kind: 'company', status: 'new', name: 'ООО Ромашка' }, { COMPANY_TITLE: 'ООО Ромашка' }],
    [{ status: 'new' }, {}],
  ];
  for (const [record, expected] of conditions) {
    test(`when: ${JSON.stringify(record)} → ${JSON.stringify(expected)}`, async () => {
      assert.deepEqual(await fieldsOf(conditional, record), expected);
    });
  }
  const filter = "active and groupId in ['g1', 'g2'] and price > 0";
  const filters: Array<[Record<string, unknown>, boolean]> = [
    [{ active: true, groupId: 'g1', price: 10 }, true],
    [{ active: true, groupId: 'g3', price: 10 }, false],
    [{ active: false, groupId: 'g1', price: 10 }, false],
    [{ active: true, groupId: 'g2', price: 0 }, false],
    [{ groupId: 'g1', price: 10 }, false],
    [{ active: true, groupId: 'g1', price: 10, tags: ['x'] }, true],
  ];
  for (const [record, expected] of filters) {
    test(`filter ${JSON.stringify(record)} → ${expected}`, async () => {
      const mapping = compileRouteMapping(ROUTE, { filter });
      assert.equal(await mapping.filter(record), expected);
    });
  }
  test('routes[].filter works too, but not together with mapping.filter', async () => {
    const mapping = compileRouteMapping({ ...ROUTE, filter: 'active' }, {});
    assert.equal(await mapping.filter({ active: true }), true);
    assert.equal(await mapping.filter({ active: false }), false);
    assert.throws(
      () => compileRouteMapping({ ...ROUTE, filter: 'active' }, { filter: 'x' }),
      /the filter is given twice/,
    );
  });
  test('computed external id', async () => {
    const outcome = await mapWith({ externalId: "'order-' & number" }, { number: 'ЗК-00017' });
    assert.deepEqual(outcome, { kind: 'ok', fields: {}, externalId: 'order-ЗК-00017' });
    const numeric = await mapWith({ externalId: 'number' }, { number: 17 });
    assert.deepEqual(numeric, { kind: 'ok', fields: {}, externalId: '17' });
    const empty = await mapWith({ externalId: 'number' }, {});
    assert.equal(empty.kind, 'error');
    assert.match((empty as { message: string }).message, /externalId: expression "number" gave no value/);
  });
});

describe('mapping errors name the route, field and position', () => {
  const cases: Array<[Record<string, unknown>, RegExp]> = [
    [
      { fields: { STAGE_ID: 'stat us' } },
      /^route b24-deals, field STAGE_ID: expression "stat us" at position 5: Syntax error: "us"/,
    ],
    [{ fields: { X: '$lookup(' } }, /^route b24-deals, field X: expression "\$lookup\(" at position 8: /],
    [{ filter: 'active and (' }, /^route b24-deals, filter: expression "active and \(" at position/],
    [{ externalId: "'a' &" }, /^route b24-deals, externalId: expression "'a' &" at position/],
    [
      { fields: { X: { expr: 'a', when: 'b =' } } },
      /^route b24-deals, field X \(when\): expression "b =" at position/,
    ],
    [
      { fields: { X: "$lookup('nope', a)" } },
      /^route b24-deals, field X: expression "\$lookup\('nope', a\)" at position 0: \$lookup: no lookup table "nope"/,
    ],
    [{ fields: { X: "$convert(a, 'kg->m')" } }, /field X: expression .* \$convert: cannot convert mass/],
    [
      { fields: { X: { expr: 'a', lookup: 't', from: 'b' } } },
      /field X: give exactly one of "expr" .* or "lookup"/,
    ],
    [{ fields: { X: { lookup: 't' } }, lookups: { t: { map: {} } } }, /field X: "lookup: t" needs "from"/],
    [{ fields: { X: { lookup: 'nope', from: 'a' } } }, /field X: no lookup table "nope"/],
    [
      { fields: { X: { expr: 'a', missing: 'default', directory: 'D' } } },
      /field X: "missing: default" needs "default"/,
    ],
    [
      { fields: { X: { expr: 'a', missing: 'hold' } } },
      /field X: "missing: hold" needs a lookup table or a "directory"/,
    ],
    [
      { fields: { X: { expr: 'a', missing: 'create', directory: 'D' } } },
      /field X: "missing: create" needs a target that can create directory values, and b24's connector cannot/,
    ],
    [{ fields: { X: 42 } }, /^route b24-deals: mapping\.fields\.X/],
    [{ unknownKey: 1 }, /^route b24-deals: mapping: .*unknownKey/i],
    [{ lookups: { t: { map: {}, file: 'x.csv' } } }, /lookup table "t" needs exactly one of "map" or "file"/],
  ];
  for (const [spec, pattern] of cases) {
    test(JSON.stringify(spec), () => {
      assert.throws(
        () => compileRouteMapping(ROUTE, spec),
        (error: unknown) => {
          assert.ok(error instanceof MappingError, String(error));
          assert.match(error.message, pattern);
          return true;
        },
      );
    });
  }
  test('a runtime failure is an error outcome with the position, not an exception', async () => {
    const outcome = await mapWith({ fields: { X: 'a + 1' } }, { a: 'text' });
    assert.equal(outcome.kind, 'error');
    assert.match(
      (outcome as { message: string }).message,
      /^route b24-deals, field X: expression "a \+ 1" at position \d+: /,
    );
    assert.equal((outcome as { field?: string }).field, 'X');
  });
  test('a failing filter throws a MappingError naming the filter', async () => {
    const mapping = compileRouteMapping(ROUTE, { filter: 'a > 1' });
    await assert.rejects(mapping.filter({ a: 'x' }), /route b24-deals, filter: expression "a > 1"/);
  });
});

describe('reference values the target lacks (seed 003: «красный»)', () => {
  const colorField = (missing: string, extra: Record<string, unknown> = {}) => ({
    fields: {
      COLOR: { expr: 'color', missing, directory: 'Цвет', system: '1C:Розница', ...extra },
    },
  });
  const directory = new Set(['синий', 'зелёный']);
  const directoryHas = (_dir: string, value: unknown) => directory.has(String(value));

  test('hold: the item waits with the Russian message naming value, directory and system', async () => {
    const outcome = await mapWith(colorField('hold'), { color: 'красный' }, { directoryHas });
    assert.deepEqual(outcome, {
      kind: 'hold',
      field: 'COLOR',
      value: 'красный',
      message: 'значение «красный» отсутствует в справочнике «Цвет» системы 1C:Розница',
    });
  });
  test('hold, then retry after someone adds the value: it goes through', async () => {
    const values = new Set(['синий']);
    const mapping = compileRouteMapping(ROUTE, colorField('hold'), {
      directoryHas: async (_d, v) => values.has(String(v)),
    });
    assert.equal((await mapping.map({ color: 'красный' })).kind, 'hold');
    values.add('красный');
    assert.deepEqual(await mapping.map({ color: 'красный' }), { kind: 'ok', fields: { COLOR: 'красный' } });
  });
  test('a value the directory has passes as it is', async () => {
    assert.deepEqual(await fieldsOf(colorField('hold'), { color: 'синий' }, { directoryHas }), {
      COLOR: 'синий',
    });
  });
  test('default: the default value replaces the unknown one', async () => {
    const fields = await fieldsOf(
      colorField('default', { default: 'не указан' }),
      { color: 'красный' },
      { directoryHas },
    );
    assert.deepEqual(fields, { COLOR: 'не указан' });
  });
  test('create: the connector creates the value and its id is used', async () => {
    const created: Array<[string, unknown]> = [];
    const fields = await fieldsOf(
      colorField('create'),
      { color: 'красный' },
      {
        directoryHas,
        ensureReferenceValue: async (dir: string, value: unknown) => {
          created.push([dir, value]);
          return 'color-42';
        },
      },
    );
    assert.deepEqual(fields, { COLOR: 'color-42' });
    assert.deepEqual(created, [['Цвет', 'красный']]);
  });
  test('create that fails is an error naming the value and the directory', async () => {
    const outcome = await mapWith(
      colorField('create'),
      { color: 'красный' },
      {
        directoryHas,
        ensureReferenceValue: async () => {
          throw new Error('access denied');
        },
      },
    );
    assert.equal(outcome.kind, 'error');
    assert.match(
      (outcome as { message: string }).message,
      /cannot create «красный» in «Цвет» of 1C:Розница: access denied/,
    );
  });
  test('with a lookup table, "missing" means the key is not in the table; the directory defaults to the table name and the system to the route target', async () => {
    const spec = {
      fields: { COLOR_ID: { lookup: 'colors', from: 'color', missing: 'hold' } },
      lookups: { colors: { map: { синий: 'blue-1' } } },
    };
    assert.deepEqual(await mapWith(spec, { color: 'синий' }), { kind: 'ok', fields: { COLOR_ID: 'blue-1' } });
    const held = await mapWith(spec, { color: 'красный' });
    assert.equal(held.kind, 'hold');
    assert.equal(
      (held as { message: string }).message,
      'значение «красный» отсутствует в справочнике «colors» системы b24',
    );
  });
});

describe('trace', () => {
  test('per-field account of a record: values, lookup keys, skipped fields, the filter', async () => {
    const mapping = compileRouteMapping(ROUTE, {
      filter: 'active',
      fields: {
        NAME: 'name',
        SECTION_ID: { lookup: 'groups', from: 'groupId' },
        WEIGHT: { expr: 'weight', convert: 'kg->g', when: '$exists(weight)' },
        NOTE: { expr: 'comment', default: '-' },
      },
      lookups: { groups: { map: { g1: 17 } } },
    });
    const trace = await mapping.trace({ active: false, name: 'Стол', groupId: 'g1' });
    assert.deepEqual(trace.filter, { passed: false });
    assert.deepEqual(trace.fields, [
      { field: 'NAME', rule: 'name', outcome: 'set', value: 'Стол' },
      { field: 'SECTION_ID', rule: 'lookup groups[groupId]', outcome: 'set', input: 'g1', value: 17 },
      { field: 'WEIGHT', rule: 'weight', outcome: 'skipped', note: 'condition (when) is false' },
      { field: 'NOTE', rule: 'comment', outcome: 'default', value: '-', note: 'empty value' },
    ]);
    assert.deepEqual(trace.outcome, { kind: 'ok', fields: { NAME: 'Стол', SECTION_ID: 17, NOTE: '-' } });
  });
});

describe('source mappings', () => {
  const item = {
    externalId: 'guid-1',
    data: { name: 'Стол', article: 'A-1', weight: { value: 1, unit: 'kg' } },
    raw: { Ref_Key: 'guid-1', Цвет_Key: 'c-red', Артикул: 'A-1', Вес: 1.25, ПометкаУдаления: false },
  };
  test('fields read raw system fields and set canonical dot paths over the connector data', async () => {
    const mapping = compileSourceMapping(
      { name: 'onec-products', system: 'onec' },
      {
        fields: {
          'attributes.color': "$lookup('colors', raw.`Цвет_Key`)",
          'weight.value': 'raw.`Вес`',
          manufacturer: { expr: 'raw.Производитель', default: 'n/a' },
        },
        lookups: { colors: { map: { 'c-red': 'красный' } } },
      },
    );
    const outcome = await mapping.map(item);
    assert.equal(outcome.kind, 'ok');
    const data = (outcome as { item: { data: Record<string, unknown> } }).item.data;
    assert.deepEqual(data, {
      name: 'Стол',
      article: 'A-1',
      weight: { value: 1.25, unit: 'kg' },
      attributes: { color: 'красный' },
      manufacturer: 'n/a',
    });
    assert.deepEqual(item.data.weight, { value: 1, unit: 'kg' }, 'the input item is not modified');
  });
  test('filter skips items; externalId recomputes the id; extends: none starts empty', async () => {
    const mapping = compileSourceMapping(
      { name: 's', system: 'onec' },
      {
        extends: 'none',
        filter: 'raw.ПометкаУдаления = false',
        externalId: "'p-' & raw.Артикул",
        fields: { name: 'name' },
      },
    );
    const ok = await mapping.map(item);
    assert.deepEqual(ok, { kind: 'ok', item: { ...item, externalId: 'p-A-1', data: { name: 'Стол' } } });
    assert.deepEqual(await mapping.map({ ...item, raw: { ...item.raw, ПометкаУдаления: true } }), {
      kind: 'skip',
    });
  });
  test('hold and create are for routes; a source mapping refuses them at compile time', () => {
    assert.throws(
      () =>
        compileSourceMapping(
          { name: 's', system: 'onec' },
          {
            fields: { c: { lookup: 't', from: 'a', missing: 'hold' } },
            lookups: { t: { map: {} } },
          },
        ),
      /source s, field c: "missing: hold" applies to routes/,
    );
  });
  test('setting a path through a list is an error naming the item and the field', async () => {
    const mapping = compileSourceMapping(
      { name: 's', system: 'onec' },
      { fields: { 'barcodes.main': "'1'" } },
    );
    const outcome = await mapping.map({ externalId: 'x', data: { barcodes: ['1'] } });
    assert.equal(outcome.kind, 'error');
    assert.match(
      (outcome as { message: string }).message,
      /^x: source s, field barcodes.main: cannot set "barcodes.main": "barcodes" is a list/,
    );
  });
});

describe('examples/mappings compile and do what their comments say', () => {
  const dir = join(import.meta.dirname, '..', 'examples', 'mappings');
  const load = (file: string) => loadMapping(`route ${file}`, file, dir);
  test('site-products: filter, lookup, conversion, default', async () => {
    const { spec, baseDir } = load('site-products.yaml');
    const mapping = compileRouteMapping({ name: 'site-products', target: 'site' }, spec, { baseDir });
    const record = {
      name: 'Стол',
      article: 'ST-1',
      groupId: 'c2a5e1b0-furniture',
      weight: { value: 12.5, unit: 'kg' },
      barcodes: ['4600000000017'],
    };
    assert.equal(await mapping.filter(record), true);
    assert.equal(await mapping.filter({ ...record, groupId: 'other' }), false);
    assert.deepEqual(await mapping.map(record, { externalIds: { onec: 'guid-st' } }), {
      kind: 'ok',
      fields: {
        XML_ID: 'guid-st',
        CODE: 'st-1',
        IBLOCK_SECTION_ID: 17,
        PROPERTY_WEIGHT: 12500,
        PROPERTY_BRAND: 'Без бренда',
        PROPERTY_BARCODE: '4600000000017',
      },
    });
  });
  test('b24-deals and its source twin: the status table both ways', async () => {
    const out = load('b24-deals.yaml');
    const deals = compileRouteMapping({ name: 'b24-deals', target: 'b24' }, out.spec, {
      baseDir: out.baseDir,
    });
    const mapped = await deals.map({ number: '17', status: 'shipped', totals: { amount: 1500 } });
    assert.deepEqual(mapped, {
      kind: 'ok',
      fields: {
        TITLE: 'Заказ 17',
        STAGE_ID: 'EXECUTING',
        OPPORTUNITY: 1500,
        CURRENCY_ID: 'RUB',
        CLOSED: 'N',
      },
      externalId: 'order-17',
    });
    const back = load('b24-deals-source.yaml');
    const source = compileSourceMapping({ name: 'b24-deals-in', system: 'b24' }, back.spec, {
      baseDir: back.baseDir,
    });
    const item = await source.map({
      externalId: '5',
      data: { number: '17' },
      raw: { STAGE_ID: 'WON', COMMENTS: 'ok' },
    });
    assert.deepEqual(item, {
      kind: 'ok',
      item: {
        externalId: '5',
        data: { number: '17', status: 'completed', comment: 'ok' },
        raw: { STAGE_ID: 'WON', COMMENTS: 'ok' },
      },
    });
  });
  test('retail-products: the «красный» hold of seed 003', async () => {
    const { spec, baseDir } = load('retail-products.yaml');
    const colours = new Set(['синий']);
    const mapping = compileRouteMapping({ name: 'retail-products', target: 'retail' }, spec, {
      baseDir,
      directoryHas: (directory, value) => (directory === 'Цвет' ? colours.has(String(value)) : false),
    });
    const held = await mapping.map({ attributes: { color: 'красный', size: 'XL' } });
    assert.deepEqual(held, {
      kind: 'hold',
      field: 'Цвет',
      value: 'красный',
      message: 'значение «красный» отсутствует в справочнике «Цвет» системы 1C:Розница',
    });
    assert.deepEqual(
      await mapping.map({ attributes: { color: 'синий', size: 'XL' }, weight: { value: 2, unit: 'kg' } }),
      {
        kind: 'ok',
        fields: { Цвет: 'синий', Размер: 'единый', Вес: 2000 },
      },
    );
  });
  test('onec-products-source: raw 1C fields with backquoted names', async () => {
    const { spec, baseDir } = load('onec-products-source.yaml');
    const source = compileSourceMapping({ name: 'onec-products', system: 'onec' }, spec, { baseDir });
    const raw = {
      Цвет_Key: '6a1c0e2e-1111-11ee-8000-000c29aa0001',
      Производитель: 'Макита',
      ЭтоГруппа: false,
    };
    const result = await source.map({ externalId: 'g1', data: { name: 'Дрель' }, raw });
    assert.equal(result.kind, 'ok');
    assert.deepEqual((result as { item: { data: unknown } }).item.data, {
      name: 'Дрель',
      attributes: { color: 'красный', country: 'Россия' },
      manufacturer: 'Макита',
    });
    assert.deepEqual(
      await source.map({ externalId: 'grp', data: { name: 'Группа' }, raw: { ЭтоГруппа: true } }),
      { kind: 'skip' },
    );
  });
});

describe('asynchronous helpers', () => {
  test('run once per evaluation; a failure is the field error, never an unhandled rejection', async () => {
    const calls: string[] = [];
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const mapping = compileRouteMapping(
        { name: 'r', target: 't' },
        { fields: { ONEC: "$externalId('onec')", GROUP: "$externalId('onec', 'groupId')" } },
        {
          externalId: async (system) => {
            calls.push(system);
            return `id-in-${system}`;
          },
          refExternalId: async (_system, path) => {
            calls.push(path);
            throw new Error(`"${path}" is gone`);
          },
        },
      );
      const outcome = await mapping.map({ name: 'x' }, { recordId: 'r1' });
      assert.deepEqual(calls, ['onec', 'groupId'], 'each helper ran once');
      assert.equal(outcome.kind, 'error');
      assert.match(outcome.kind === 'error' ? outcome.message : '', /field GROUP: .*"groupId" is gone/);
      const ok = await compileRouteMapping(
        { name: 'r', target: 't' },
        { fields: { ONEC: "$externalId('onec')" } },
        { externalId: async (system) => `id-in-${system}` },
      ).map({ name: 'x' }, { recordId: 'r1' });
      assert.deepEqual(ok, { kind: 'ok', fields: { ONEC: 'id-in-onec' } });
      await new Promise((resolve) => setImmediate(resolve));
      assert.deepEqual(unhandled, []);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});
