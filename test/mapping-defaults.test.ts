import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import Fastify from 'fastify';
import { type Bitrix24Emulator, startBitrix24Emulator } from '../emulators/bitrix24/index.ts';
import type { ApiContext } from '../src/api/context.ts';
import { installErrorHandlers } from '../src/api/errors.ts';
import { mappingRoutes } from '../src/api/routes/mapping.ts';
import { configSchema, type SystemConfig } from '../src/config/schema.ts';
import { buildCatalogPackage, newWrittenReferences } from '../src/connectors/bitrix-site/catalog-package.ts';
import { bitrixSiteDefaults } from '../src/connectors/bitrix-site/defaults.ts';
import { inSection } from '../src/connectors/bitrix-site/rest-catalog.ts';
import { resolveBitrixSiteSystem } from '../src/connectors/bitrix-site/spec.ts';
import { bitrix24Defaults, requiredFields } from '../src/connectors/bitrix24/defaults.ts';
import type { ResourceContext } from '../src/connectors/bitrix24/resources/common.ts';
import { companyWrite } from '../src/connectors/bitrix24/resources/company.ts';
import { contactWrite } from '../src/connectors/bitrix24/resources/contact.ts';
import { dealFields, rowsOf } from '../src/connectors/bitrix24/resources/deal.ts';
import { catalogFields, legacyFields } from '../src/connectors/bitrix24/resources/product.ts';
import { bitrix24OptionsSchema } from '../src/connectors/bitrix24/spec.ts';
import type { DefaultField, DeliveryItem, TargetDefaults } from '../src/core/connector.ts';
import { CANONICAL_ENTITIES } from '../src/core/entities/index.ts';
import { createMappingApi } from '../src/mapping/api.ts';
import { formatEffectiveMapping, showRouteMapping } from '../src/mapping/show.ts';
import type { Store } from '../src/store/store.ts';
import { createTestHub, hubConfig, product } from './support/hub.ts';
import { forEachDialect } from './support/stores.ts';

/**
 * The connectors' default tables (what `obmen mapping show` prints) are checked against the real
 * conversions: a probe record goes through the conversion as it is, and once per canonical leaf
 * changed or removed. The fields it writes must be exactly the table's, every field must change
 * with the paths its row names, and never with any other path. A conversion that gains, loses or
 * rewires a field fails here until its table says so.
 */

type Json = Record<string, unknown>;
type Convert = (data: Json) => Json;

/** Leaf paths of a record: `name`, `phones[0].value`, `totals.amount`. */
function leaves(value: unknown, path = ''): string[] {
  if (Array.isArray(value)) return value.flatMap((v, i) => leaves(v, `${path}[${i}]`));
  if (value && typeof value === 'object')
    return Object.entries(value).flatMap(([k, v]) => leaves(v, path ? `${path}.${k}` : k));
  return [path];
}

function tokens(path: string): Array<string | number> {
  return path
    .split(/\.|(?=\[)/)
    .map((p) => (p.startsWith('[') ? Number(p.slice(1, -1)) : p))
    .filter((p) => p !== '');
}

/** A copy of `data` with the leaf at `path` changed (`change`) or removed. */
function mutate(data: Json, path: string, how: 'change' | 'remove'): Json {
  const copy = structuredClone(data);
  const keys = tokens(path);
  let holder = copy as Record<string | number, unknown>;
  for (const key of keys.slice(0, -1)) holder = holder[key] as Record<string | number, unknown>;
  const last = keys.at(-1)!;
  const old = holder[last];
  if (how === 'remove') delete holder[last];
  else holder[last] = typeof old === 'number' ? old + 7 : typeof old === 'boolean' ? !old : `${String(old)}X`;
  return copy;
}

/** Does a table row's `from` entry cover this leaf? `phones` covers `phones[0].value`. */
function covers(from: readonly string[], leaf: string): boolean {
  const generic = leaf.replace(/\[\d+\]/g, '[]');
  return from.some((f) => generic === f || generic.startsWith(`${f}.`) || generic.startsWith(`${f}[`));
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/**
 * Checks one table against its conversion on a probe record: the exact field set, and that each
 * field depends on the paths its row names and on no other.
 */
function checkTable(label: string, fields: readonly DefaultField[], convert: Convert, probe: Json): void {
  const base = convert(probe);
  const table = new Map(fields.map((f) => [f.field, f]));
  const seen = new Set(Object.keys(base));
  const paths = leaves(probe);
  const variants = new Map<string, { change: Json; remove: Json }>();
  // A removal that leaves an invalid record (a weight without its value) is no variant: the
  // canonical schema would not let it reach a connector.
  const attempt = (data: Json) => {
    try {
      return convert(data);
    } catch {
      return base;
    }
  };
  for (const path of paths) {
    const change = convert(mutate(probe, path, 'change'));
    const remove = attempt(mutate(probe, path, 'remove'));
    for (const key of [...Object.keys(change), ...Object.keys(remove)]) seen.add(key);
    variants.set(path, { change, remove });
  }
  assert.deepEqual(
    [...seen].sort(),
    [...table.keys()].sort(),
    `${label}: the conversion writes exactly the fields of the table`,
  );
  for (const row of fields) {
    for (const [path, v] of variants) {
      const moved =
        !same(v.change[row.field], base[row.field]) || !same(v.remove[row.field], base[row.field]);
      if (!covers(row.from, path)) {
        assert.ok(!moved, `${label}: ${row.field} changes with ${path}, which its row does not name`);
      }
    }
    if (row.from.length === 0) continue;
    let all = structuredClone(probe);
    for (const path of paths.filter((p) => covers(row.from, p))) all = mutate(all, path, 'change');
    let none = structuredClone(probe);
    for (const path of paths.filter((p) => covers(row.from, p)).reverse())
      none = mutate(none, path, 'remove');
    assert.ok(
      !same(convert(all)[row.field], base[row.field]) || !same(attempt(none)[row.field], base[row.field]),
      `${label}: ${row.field} does not follow ${row.from.join(', ')}`,
    );
  }
}

const item = (data: Json, extra: Partial<DeliveryItem> = {}): DeliveryItem => ({
  recordId: 'rec-1',
  entity: 'x',
  version: 1,
  hash: 'h',
  data,
  deleted: false,
  externalId: undefined,
  ...extra,
});

const b24System = (options: Json = {}): SystemConfig =>
  ({ kind: 'bitrix24', url: 'https://portal.example.ru', options }) as SystemConfig;
const b24 = (options: Json = {}) => {
  const parsed = bitrix24OptionsSchema.parse(options);
  return { ctx: { options: parsed } as ResourceContext, defaults: bitrix24Defaults, parsed };
};
const objectOf = (defaults: TargetDefaults | undefined, object: string) => {
  const found = defaults?.objects.find((o) => o.object === object);
  assert.ok(found, `a published table for ${object}`);
  return found.fields;
};

const PHONES = [{ value: '+79120000001', type: 'mobile' }];
const EMAILS = [{ value: 'buyer@example.ru', type: 'work' }];

const CONTACT = {
  kind: 'person',
  firstName: 'Иван',
  lastName: 'Петров',
  middleName: 'Сергеевич',
  name: 'Петров Иван Сергеевич',
  position: 'Закупщик',
  comment: 'звонить после 10',
  phones: PHONES,
  emails: EMAILS,
  counterpartyId: 'company:12',
  inn: '7707083893',
  kpp: '773601001',
};
const COMPANY = {
  kind: 'company',
  name: 'ООО Ромашка',
  comment: 'опт',
  addresses: [{ type: 'legal', value: 'Москва, Тверская 1' }],
  phones: PHONES,
  emails: EMAILS,
  inn: '7707083893',
  kpp: '773601001',
};
const ORDER = {
  number: 'A-100',
  date: '2026-11-01',
  status: 'paid',
  cancelled: false,
  currency: 'RUB',
  totals: { amount: 1990 },
  comment: 'доставка',
  source: 'site',
  customerId: 'company:12',
  contactId: 'contact:7',
  lines: [{ lineNo: 1, productId: '5', name: 'Чайник', price: 1000, discount: 10, quantity: 2, vatRate: 20 }],
};
const PRODUCT = {
  name: 'Чайник',
  fullName: 'Чайник электрический 1,7 л',
  article: 'A-1',
  description: 'Стальной',
  groupId: 'g-1',
  baseUnitId: 'u-1',
  baseUnit: { code: '796', name: 'Штука', shortName: 'шт' },
  barcodes: ['4600000000017'],
  properties: [{ propertyId: 'p-1', value: 'красный' }],
  vatRate: 20,
  weight: { value: 1.5, unit: 'kg' },
  images: ['import_files/a.jpg'],
  attributes: { Страна: 'Россия' },
  characteristics: [{ name: 'Объём', value: '1,7 л' }],
  manufacturer: 'Acme',
  deleted: false,
};

describe('Bitrix24 default tables match the conversions', () => {
  for (const options of [{}, { requisites: 'userfield', idField: 'UF_CRM_1C_ID' }]) {
    const { ctx, parsed } = b24(options);
    const defaults = bitrix24Defaults('counterparty', b24System(options));
    test(`contact and company ${JSON.stringify(options)}`, () => {
      checkTable(
        'crm.contact',
        objectOf(defaults, 'crm.contact'),
        (d) => contactWrite(ctx, item(d)).fields,
        CONTACT,
      );
      checkTable(
        'crm.company',
        objectOf(defaults, 'crm.company'),
        (d) => companyWrite(ctx, item(d)).fields,
        COMPANY,
      );
      assert.deepEqual(
        objectOf(bitrix24Defaults('contact', b24System(options)), 'crm.contact'),
        objectOf(defaults, 'crm.contact'),
      );
      const required = objectOf(defaults, 'crm.contact')
        .filter((f) => f.required)
        .map((f) => f.field);
      assert.ok(
        required.every((f) => requiredFields(parsed).includes(f)),
        'the rows marked required are the ones the conversion keeps with extends: none',
      );
    });
  }

  test('deal and its product rows', () => {
    for (const options of [{}, { dealCategoryId: 3, currency: 'KZT' }]) {
      const { ctx } = b24(options);
      const defaults = bitrix24Defaults('order', b24System(options));
      checkTable('crm.deal', objectOf(defaults, 'crm.deal'), (d) => dealFields(ctx, item(d)), ORDER);
      checkTable(
        'crm.deal.productrows',
        objectOf(defaults, 'crm.deal.productrows'),
        (d) => rowsOf(d)[0] ?? {},
        ORDER,
      );
    }
  });

  test('product: catalog.product (with and without the article as code) and legacy crm.product', () => {
    for (const options of [{}, { productCode: 'article' }]) {
      const { parsed } = b24(options);
      const fields = objectOf(bitrix24Defaults('product', b24System(options)), 'catalog.product');
      const required = requiredFields(parsed);
      checkTable(
        `catalog.product ${JSON.stringify(options)}`,
        fields,
        // The portal's VAT rate ids stand in as 100 + rate (the real ones come from catalog.vat.list).
        (d) => catalogFields(item(d), 25, parsed.productCode === 'article', vatIdOf(d), required),
        PRODUCT,
      );
    }
    const { parsed } = b24({ legacyProducts: true });
    checkTable(
      'crm.product',
      objectOf(bitrix24Defaults('product', b24System({ legacyProducts: true })), 'crm.product'),
      (d) => legacyFields(item(d), parsed.currency, requiredFields(parsed)),
      PRODUCT,
    );
  });

  test('extends: none keeps only the required fields and the mapping fields', () => {
    const { ctx } = b24();
    const written = contactWrite(
      ctx,
      item(CONTACT, { withoutDefaults: true, fields: { NAME: 'Только имя' } }),
    );
    assert.deepEqual(Object.keys(written.fields).sort(), [
      'NAME',
      'ORIGINATOR_ID',
      'ORIGIN_ID',
      'UF_CRM_OBMEN_ID',
    ]);
    const product = catalogFields(
      item(PRODUCT, { withoutDefaults: true, fields: { name: 'X' } }),
      25,
      false,
      undefined,
      requiredFields(b24().parsed),
    );
    assert.deepEqual(product, { iblockId: 25, name: 'X', xmlId: 'rec-1', active: 'Y' });
  });
});

function vatIdOf(data: Json): number | undefined {
  return typeof data['vatRate'] === 'number' ? 100 + data['vatRate'] : undefined;
}

/** Child elements (and attributes) of the first <Товар>, as name → its XML (the writer indents with tabs). */
function goodsElements(xml: string): Json {
  const start = xml.search(/<Товар[\s>]/);
  const block = xml.slice(start, xml.indexOf('</Товар>', start));
  const out: Json = {};
  const [head, ...lines] = block.split('\n');
  for (const m of (head ?? '').matchAll(/(\S+)="([^"]*)"/g)) out[m[1]!] = m[2];
  const depth = (line: string) => /^\t*/.exec(line)![0].length;
  const childDepth = Math.min(...lines.filter((line) => line.trim()).map(depth));
  let current: string | undefined;
  for (const line of lines) {
    const tag = /^\t*<([^\s/>]+)/.exec(line)?.[1];
    if (depth(line) === childDepth && tag) current = tag;
    if (current) out[current] = `${(out[current] as string | undefined) ?? ''}${line.trim()}`;
  }
  return out;
}

describe('1C-Bitrix site default table matches the CommerceML it writes', () => {
  for (const version of ['2.08', '3.1'] as const) {
    test(`product, CommerceML ${version}`, () => {
      const system = {
        kind: 'bitrix-site',
        url: 'https://shop.example.ru',
        credentials: { login: 'obmen', password: 'secret' },
        options: { version },
      } as SystemConfig;
      const settings = resolveBitrixSiteSystem('shop', system);
      const convert: Convert = (data) => {
        const [file] = buildCatalogPackage(
          'product',
          [item(data, { entity: 'product' })],
          settings,
          newWrittenReferences(),
        );
        return goodsElements(file!.bytes.toString('utf8'));
      };
      checkTable(
        `site product ${version}`,
        objectOf(bitrixSiteDefaults('product', system), 'import.xml Товар'),
        convert,
        PRODUCT,
      );
      // extends: none: the element is built from the mapping's fields alone (and its Ид).
      const [file] = buildCatalogPackage(
        'product',
        [item(PRODUCT, { entity: 'product', withoutDefaults: true, fields: { name: 'Только имя' } })],
        settings,
        newWrittenReferences(),
      );
      assert.deepEqual(Object.keys(goodsElements(file!.bytes.toString('utf8'))).sort(), [
        'Ид',
        'Наименование',
      ]);
    });
  }
});

describe('1C-Bitrix site default table with options.rest.catalog matches catalog.product', () => {
  test('product over the site REST: the Bitrix24 conversion with the site XML_ID', () => {
    const system = {
      kind: 'bitrix-site',
      url: 'https://shop.example.ru',
      credentials: { login: 'obmen', password: 'secret', restWebhookCode: 'code1234' },
      options: { rest: { catalog: true } },
    } as SystemConfig;
    const table = objectOf(bitrixSiteDefaults('product', system), 'catalog.product');
    // rest-catalog.ts calls the writer with the site's options (no code) and the site's XML_ID.
    const required = requiredFields({ idField: 'XML_ID' });
    checkTable(
      'site catalog.product',
      table,
      // The section of the group stands in as 7 (the real one comes from catalog.section.list).
      (d) =>
        catalogFields(
          inSection(item(d), typeof d['groupId'] === 'string' ? 7 : undefined),
          2,
          false,
          vatIdOf(d),
          required,
          'xml-1',
        ),
      PRODUCT,
    );
    assert.deepEqual(
      table.filter((f) => f.required).map((f) => f.field),
      ['iblockId', 'xmlId', 'active'],
    );
  });
});

const SHOW_CONFIG = configSchema.parse({
  systems: {
    b24: { kind: 'bitrix24', url: 'https://portal.example.ru', credentials: { webhookCode: 'code1' } },
    shop: { kind: 'bitrix-site', url: 'https://shop.example.ru', credentials: { login: 'a', password: 'b' } },
  },
  routes: [
    {
      name: 'products-to-b24',
      entity: 'product',
      target: 'b24',
      filter: "article != ''",
      mapping: {
        fields: {
          previewText: "description & ' / ' & fullName",
          iblockSectionId: { lookup: 'sections', from: 'groupId', default: 0 },
        },
        lookups: { sections: { map: { 'g-1': 11 } } },
      },
    },
    {
      name: 'products-to-shop',
      entity: 'product',
      target: 'shop',
      mapping: { extends: 'none', fields: { name: 'fullName' } },
    },
    { name: 'companies-to-b24', entity: 'counterparty', target: 'b24', filter: '$exists(inn)' },
  ],
});

describe('the effective field table (mapping show)', () => {
  test('marks what the mapping overrides and adds, and the default for the rest', () => {
    const e = showRouteMapping(SHOW_CONFIG, 'products-to-b24', process.cwd());
    const fields = e.objects[0]!.fields;
    const by = (f: string) => fields.find((x) => x.field === f);
    assert.equal(by('name')?.source, 'default');
    assert.equal(by('name')?.rule, 'name');
    assert.equal(by('previewText')?.source, 'mapping');
    assert.equal(by('previewText')?.rule, "description & ' / ' & fullName");
    assert.equal(by('previewText')?.overrides, 'description');
    assert.deepEqual(e.added, [
      {
        field: 'iblockSectionId',
        key: 'iblockSectionId',
        source: 'mapping',
        rule: 'lookup sections[groupId], default 0',
      },
    ]);
    assert.equal(e.exitDeactivates, true);
    const text = formatEffectiveMapping(e);
    assert.match(
      text,
      /^\* previewText +mapping +description & ' \/ ' & fullName +\[instead of: description\]$/m,
    );
    assert.match(text, /^ {2}name +default +name$/m);
    assert.match(text, /stops passing: written as deleted/);
    assert.match(text, /deletion: active = "N"/);
  });

  test('extends: none shows the defaults it drops; a target without deactivation keeps leavers', () => {
    const shop = showRouteMapping(SHOW_CONFIG, 'products-to-shop', process.cwd());
    const fields = shop.objects[0]!.fields;
    assert.equal(fields.find((f) => f.field === 'Описание')?.source, 'dropped');
    assert.equal(fields.find((f) => f.field === 'Ид')?.source, 'default', 'the Ид stays');
    assert.deepEqual(
      fields.find((f) => f.field === 'Наименование'),
      {
        field: 'Наименование',
        key: 'name',
        from: ['name'],
        source: 'mapping',
        rule: 'fullName',
        overrides: 'name',
      },
    );
    assert.match(formatEffectiveMapping(shop), /^- Описание \(description\) +dropped/m);

    const companies = showRouteMapping(SHOW_CONFIG, 'companies-to-b24', process.cwd());
    assert.deepEqual(
      companies.objects.map((o) => o.object),
      ['crm.company', 'crm.contact'],
    );
    assert.equal(companies.exitDeactivates, false);
    assert.match(
      formatEffectiveMapping(companies),
      /stops passing: kept as it is \(the target takes no deletion/,
    );
    assert.throws(
      () => showRouteMapping(SHOW_CONFIG, 'nope', process.cwd()),
      /no route "nope".*products-to-b24/,
    );
  });
});

forEachDialect('defaults through the API and the engine', (db) => {
  test('GET /api/v1/mapping/:route returns the effective table, also for a route without a mapping', async () => {
    const store: Store = await db().open();
    const app = Fastify({ logger: false });
    const ctx: ApiContext = {
      store,
      config: SHOW_CONFIG,
      entities: new Set(CANONICAL_ENTITIES),
      now: () => Date.now(),
      mapping: createMappingApi({ config: SHOW_CONFIG, store }),
    };
    installErrorHandlers(app, 1024 * 1024, undefined);
    await app.register(async (v1) => mappingRoutes(v1, ctx), { prefix: '/api/v1' });
    try {
      const mapped = await app.inject({ method: 'GET', url: '/api/v1/mapping/products-to-b24' });
      assert.equal(mapped.statusCode, 200);
      const body = mapped.json();
      assert.equal(body.effective.targetKind, 'bitrix24');
      assert.equal(
        body.effective.objects[0].fields.find((f: { field: string }) => f.field === 'previewText').source,
        'mapping',
      );
      const plain = await app.inject({ method: 'GET', url: '/api/v1/mapping/companies-to-b24' });
      assert.equal(plain.statusCode, 200);
      assert.equal(plain.json().spec, null, 'no mapping written');
      assert.equal(plain.json().effective.objects[0].object, 'crm.company');
    } finally {
      await app.close();
      await store.close();
    }
  });

  test('extends: none reaches Bitrix24: only the mapping fields and the required ones are written', async () => {
    const portal: Bitrix24Emulator = await startBitrix24Emulator({
      webhook: { userId: 1, code: 'nonecode' },
    });
    const store = await db().open();
    const hub = await createTestHub(
      store,
      hubConfig({
        systems: {
          onec: { kind: 'noop' },
          b24: {
            kind: 'bitrix24',
            url: portal.url,
            credentials: { webhookUserId: '1', webhookCode: 'nonecode' },
            limits: { rate: '50/s' },
          },
        },
        routes: [
          {
            name: 'products-to-b24',
            entity: 'product',
            target: 'b24',
            mapping: { extends: 'none', fields: { name: "'Товар ' & article" } },
          },
        ],
      }),
    );
    try {
      await hub.ingest('onec', 'product', [
        product('p1', 'Чайник', { description: 'Стальной', weight: { value: 2, unit: 'kg' } }),
      ]);
      assert.equal((await hub.deliver('products-to-b24')).delivered, 1);
      const [row] = [...portal.state.table('product').values()];
      assert.equal(row?.['name'], 'Товар A-p1');
      assert.equal(row?.['previewText'], undefined, 'the default description is left out');
      assert.equal(row?.['weight'], undefined, 'the default weight is left out');
      assert.equal(row?.['active'], 'Y');
      assert.equal(typeof row?.['xmlId'], 'string', 'the id obmen finds it by again is kept');
    } finally {
      await hub.close();
      await store.close();
      await portal.close();
    }
  });

  test('extends: none on a target that cannot honour it stops the start with the reason', async () => {
    const store = await db().open();
    try {
      await assert.rejects(
        createTestHub(
          store,
          hubConfig({
            systems: {
              b24: {
                kind: 'bitrix24',
                url: 'https://portal.example.ru',
                credentials: { webhookCode: 'code1' },
              },
            },
            routes: [{ name: 'prices-to-b24', entity: 'price', target: 'b24', mapping: { extends: 'none' } }],
          }),
        ),
        /route prices-to-b24: mapping\.extends: none is not supported here: the bitrix24 connector has no published default table for price/,
      );
    } finally {
      await store.close();
    }
  });
});
