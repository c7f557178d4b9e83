import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import iconv from 'iconv-lite';
import {
  type BitrixSite,
  type BitrixSiteOptions,
  parseInterval,
  runBitrixSiteEmulatorCli,
  startBitrixSite,
} from '../emulators/bitrix-site/index.ts';
import { ExchangeClient, type ExchangeClientError, zipFiles } from '../src/exchange/commerceml/index.ts';
import { type CatalogXmlInput, writeCatalogXml, writeOrdersXml } from '../src/formats/commerceml/index.ts';

const LOGIN = 'exchange';
const PASSWORD = 'пароль-обмена';

async function withSite(
  options: Partial<BitrixSiteOptions>,
  fn: (site: BitrixSite, dir: string) => Promise<void>,
): Promise<void> {
  const site = await startBitrixSite({ login: LOGIN, password: PASSWORD, importStepMs: 50, ...options });
  const dir = await mkdtemp(join(tmpdir(), 'bitrix-site-test-'));
  try {
    await fn(site, dir);
  } finally {
    await site.close();
    await rm(dir, { recursive: true, force: true });
  }
}

const client = (site: BitrixSite, password = PASSWORD) =>
  new ExchangeClient({ url: site.exchangeUrl, login: LOGIN, password });

function catalog(goods: number, extra: Partial<CatalogXmlInput> = {}): CatalogXmlInput {
  return {
    groups: [{ id: 'g1', data: { name: 'Обувь' } }],
    properties: [],
    priceTypes: [{ id: 'retail', data: { name: 'Розничная', currency: 'RUB' } }],
    warehouses: [{ id: 'w1', data: { name: 'Основной склад' } }],
    products: Array.from({ length: goods }, (_, i) => ({
      id: `p${i}`,
      data: { name: `Ботинки ${i}`, article: `A-${i}`, groupId: 'g1' },
    })),
    prices: Array.from({ length: goods }, (_, i) => ({
      id: `p${i}|retail`,
      data: { productId: `p${i}`, priceTypeId: 'retail', value: 1000 + i, currency: 'RUB' },
    })),
    stock: Array.from({ length: goods }, (_, i) => ({
      id: `p${i}|*`,
      data: { productId: `p${i}`, quantity: i },
    })),
    onlyChanges: false,
    catalogId: 'cat',
    classifierId: 'cls',
    name: 'Каталог',
    ...extra,
  };
}

/** Uploads import.xml + offers.xml like 1C (zip when offered) and imports them; returns import calls. */
async function feed(site: BitrixSite, dir: string, input: CatalogXmlInput, zip: boolean): Promise<number> {
  const c = client(site);
  await c.checkauth('catalog');
  const init = await c.init('catalog', '2.08');
  const { importXml, offersXml } = writeCatalogXml(input, { version: '2.08', encoding: 'windows-1251' });
  const files = [
    { name: 'import.xml', path: join(dir, 'import.xml') },
    { name: 'offers.xml', path: join(dir, 'offers.xml') },
  ];
  await writeFile(files[0]!.path, importXml);
  await writeFile(files[1]!.path, offersXml);
  if (zip && init.zip) {
    await zipFiles(files, join(dir, 'pack.zip'));
    await c.uploadFile('catalog', 'pack.zip', join(dir, 'pack.zip'), init.fileLimit);
  } else {
    for (const f of files) await c.uploadFile('catalog', f.name, f.path, init.fileLimit);
  }
  let calls = 0;
  for (const f of files) calls += (await c.importUntilDone('catalog', f.name)).calls;
  return calls;
}

describe('1C-Bitrix site emulator: 1c_exchange.php', () => {
  it('checkauth answers Bitrix’s lines in windows-1251; wrong password, missing cookie and wrong sessid fail', () =>
    withSite({}, async (site) => {
      const raw = await fetch(`${site.exchangeUrl}?type=catalog&mode=checkauth`, {
        headers: { authorization: `Basic ${Buffer.from(`${LOGIN}:${PASSWORD}`).toString('base64')}` },
      });
      assert.match(raw.headers.get('content-type') ?? '', /charset=windows-1251/);
      const lines = (await raw.text()).trim().split('\n');
      assert.equal(lines[0], 'success');
      assert.equal(lines[1], 'PHPSESSID');
      assert.match(lines[3] ?? '', /^sessid=/);
      assert.match(lines[4] ?? '', /^timestamp=\d+$/);

      await assert.rejects(client(site, 'wrong').checkauth('catalog'), (error: ExchangeClientError) => {
        assert.match(error.reply, /^failure\nОшибка авторизации/);
        return true;
      });
      const noCookie = await fetch(`${site.exchangeUrl}?type=catalog&mode=init`);
      const text = iconv.decode(Buffer.from(await noCookie.arrayBuffer()), 'windows-1251');
      assert.match(text, /^failure\nСеанс обмена не найден/);
      const cookie = `${lines[1]}=${lines[2]}`;
      const badSessid = await fetch(`${site.exchangeUrl}?type=catalog&mode=init&sessid=nope`, {
        headers: { cookie },
      });
      const sessidText = iconv.decode(Buffer.from(await badSessid.arrayBuffer()), 'windows-1251');
      assert.match(sessidText, /^failure\nОшибка проверки источника запроса/);
    }));

  it('imports a catalog sent in chunks, zipped and plain, into sections, products, offers, prices and stock', () =>
    withSite({ fileLimit: 4096 }, async (site, dir) => {
      await feed(site, dir, catalog(30), true);
      const state = site.state;
      assert.equal(state.sections.get('g1')?.name, 'Обувь');
      assert.equal(state.products.size, 30);
      assert.equal(state.products.get('p7')?.sectionXmlId, 'g1');
      assert.equal(state.products.get('p7')?.article, 'A-7');
      assert.deepEqual(state.offers.get('p7')?.prices['retail'], { value: 1007, currency: 'RUB' });
      assert.equal(state.offers.get('p7')?.quantity, 7);
      assert.equal(state.priceTypes.get('retail')?.name, 'Розничная');
      await feed(site, dir, catalog(30), false);
      assert.equal(state.products.size, 30, 'the same XML_IDs are updated, not duplicated');
      const stats = (await (await fetch(`${site.url}/_stats`)).json()) as { calls: Record<string, number> };
      assert.ok(
        (stats.calls['catalog:file'] ?? 0) > 2,
        'files larger than file_limit arrive in several chunks',
      );
      const snapshot = (await (await fetch(`${site.url}/_state`)).json()) as { counts: { products: number } };
      assert.equal(snapshot.counts.products, 30);
    }));

  it('imports a big file step by step, answering progress before success', () =>
    withSite({ importStepMs: 20, elementsPerStep: 20, stepDelayMs: 60, zip: false }, async (site, dir) => {
      const calls = await feed(site, dir, catalog(120), false);
      assert.ok(calls > 2, `expected progress replies before success, got ${calls} import calls`);
      assert.equal(site.state.products.size, 120);
    }));

  it('a full import deletes elements missing from it (ELEMENT_ACTION=D); a partial one keeps them', () =>
    withSite({}, async (site, dir) => {
      await feed(site, dir, catalog(5), false);
      await feed(site, dir, catalog(3, { onlyChanges: true }), false);
      assert.equal(site.state.products.size, 5);
      await feed(site, dir, catalog(3), false);
      assert.deepEqual([...site.state.products.keys()].sort(), ['p0', 'p1', 'p2']);
    }));

  it('imports properties as iblock properties (a Справочник as a list) and products’ values; unknown property Ид and list values are skipped', () =>
    withSite({}, async (site, dir) => {
      const input = catalog(2, {
        properties: [
          {
            id: 'color',
            data: {
              name: 'Цвет',
              type: 'dictionary',
              values: [
                { id: 'red', value: 'Красный' },
                { id: 'blue', value: 'Синий' },
              ],
            },
          },
          { id: 'supplier', data: { name: 'Поставщик', type: 'string' } },
        ],
      });
      input.products[0]!.data.properties = [
        { propertyId: 'color', valueId: 'blue' },
        { propertyId: 'supplier', value: 'ООО Ромашка' },
        { propertyId: 'not-on-site', value: 'пропадёт' },
      ];
      input.products[1]!.data.properties = [{ propertyId: 'color', valueId: 'green' }];
      await feed(site, dir, input, false);
      assert.deepEqual(site.state.properties.get('color'), {
        xmlId: 'color',
        name: 'Цвет',
        propertyType: 'L',
        active: true,
        enumValues: [
          { xmlId: 'red', value: 'Красный' },
          { xmlId: 'blue', value: 'Синий' },
        ],
      });
      assert.equal(site.state.properties.get('supplier')?.propertyType, 'S');
      assert.deepEqual(site.state.products.get('p0')?.properties, {
        color: [{ value: 'Синий', valueXmlId: 'blue' }],
        supplier: [{ value: 'ООО Ромашка' }],
      });
      assert.deepEqual(site.state.products.get('p1')?.properties, {});
      const state = (await (await fetch(`${site.url}/_state`)).json()) as {
        counts: { properties: number };
        products: Array<{ xmlId: string; properties?: Record<string, unknown> }>;
      };
      assert.equal(state.counts.properties, 2);
      assert.deepEqual(state.products.find((p) => p.xmlId === 'p0')?.properties?.['color'], [
        { value: 'Синий', valueXmlId: 'blue' },
      ]);
    }));

  it('refuses a unit without its code with Bitrix’s message, and prices of an unknown price type', () =>
    withSite({}, async (site, dir) => {
      const input = catalog(1);
      input.products[0]!.data.baseUnit = { name: 'Штука' };
      await assert.rejects(feed(site, dir, input, false), (error: ExchangeClientError) => {
        assert.match(error.message, /Ошибка добавления новой единицы измерения/);
        return true;
      });
      const prices = catalog(1, { priceTypes: [] });
      prices.prices[0]!.data.priceTypeId = 'wholesale';
      await assert.rejects(feed(site, dir, prices, false), /тип цены с XML_ID wholesale не найден/);
    }));

  it('orders: query re-sends until success of the same session commits; 1C’s statuses update them', () =>
    withSite({}, async (site, dir) => {
      await feed(site, dir, catalog(5), false);
      const generated = await fetch(`${site.url}/_orders/generate?count=3`, { method: 'POST' });
      assert.equal(generated.status, 201);
      const first = client(site);
      await first.checkauth('sale');
      await first.init('sale', '2.08');
      const count = async (c: ExchangeClient) =>
        (iconv.decode(await c.query(), 'windows-1251').match(/<Документ>/g) ?? []).length;
      assert.equal(await count(first), 3);
      // No success: the next exchange gets the same orders again.
      const second = client(site);
      await second.checkauth('sale');
      assert.equal(await count(second), 3);
      await assert.rejects(first.success(), /в этом сеансе заказы не выгружались/);
      await second.success();
      assert.equal(await count(second), 0);

      const order = site.state.orders.get(2)!;
      const documents = writeOrdersXml(
        [
          {
            id: '2',
            order: {
              number: '2',
              date: '2026-01-01T10:00:00',
              customerId: 'c',
              lines: [],
              paid: true,
              shipped: true,
              cancelled: false,
              status: 'F',
            },
            customer: { id: 'c', data: { name: 'Покупатель' } as never },
          },
        ],
        { version: '3.1', encoding: 'utf-8' },
      );
      await writeFile(join(dir, 'docs.xml'), documents);
      const init = await second.init('sale', '3.1');
      await second.uploadFile('sale', 'docs.xml', join(dir, 'docs.xml'), init.fileLimit);
      const done = await second.importUntilDone('sale', 'docs.xml');
      assert.match(done.message, /Обновлено заказов: 1/);
      assert.equal(order.statusId, 'F');
      assert.equal(order.payed, true);
      assert.equal(order.deducted, true);
      assert.equal(await count(second), 0, 'a change made by 1C is not exported back to 1C');
    }));

  it('fault injection: scheduled HTTP 500, failure on import; the generator refuses an empty catalog', () =>
    withSite({}, async (site, dir) => {
      const empty = await fetch(`${site.url}/_orders/generate?count=1`, { method: 'POST' });
      assert.equal(empty.status, 409);
      await fetch(`${site.url}/_faults`, {
        method: 'POST',
        body: JSON.stringify({ failNext: { 'catalog:checkauth': 1 } }),
      });
      await assert.rejects(client(site).checkauth('catalog'), /HTTP 500/);
      await client(site).checkauth('catalog');
      site.setFaults({ failImport: 'Ошибка импорта: нет места на диске' });
      await assert.rejects(feed(site, dir, catalog(1), false), /нет места на диске/);
      assert.equal(site.state.stats.failures, 1);
    }));

  it('CLI: --help, missing login, intervals', async () => {
    assert.equal(await runBitrixSiteEmulatorCli(['--help']), 0);
    assert.equal(await runBitrixSiteEmulatorCli(['--port', '0']), 2);
    assert.equal(parseInterval('30s'), 30_000);
    assert.equal(parseInterval('2m'), 120_000);
    assert.equal(parseInterval('500ms'), 500);
    assert.throws(() => parseInterval('soon'), /30s, 2m or 500ms/);
  });
});
