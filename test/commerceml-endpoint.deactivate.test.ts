import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, beforeEach, describe, it } from 'node:test';
import { type PackageFile, runCatalogExchange } from '../emulators/onec-exchange/catalog.ts';
import { type CatalogXmlInput, writeCatalogXml } from '../src/formats/commerceml/index.ts';
import { type ObmenUnderTest, startObmen } from './commerceml-endpoint.harness.ts';

/**
 * `mode=deactivate` over HTTP, driven by the 1C exchange emulator exactly as 1C does (checkauth →
 * init → file → import… → deactivate → complete): goods and groups missing from a FULL package
 * are marked deleted; a package with only changes, or a failed import, deletes nothing.
 */

const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** A catalog of goods p-1…p-N (p-1 and p-2 with variants) in groups g-1…g-M. */
function catalog(goods: number, groups: number, onlyChanges = false): CatalogXmlInput {
  const products: CatalogXmlInput['products'] = [];
  for (let n = 1; n <= goods; n++) {
    products.push({
      id: `p-${n}`,
      data: { name: `Товар ${n}`, article: `A-${n}`, groupId: `g-${1 + (n % groups)}` },
    });
  }
  for (const parent of [1, 2].filter((n) => n <= goods)) {
    for (const c of ['red', 'blue']) {
      products.push({
        id: `p-${parent}#c-${c}`,
        data: {
          name: `Товар ${parent} (${c})`,
          parentProductId: `p-${parent}`,
          characteristics: [{ name: 'Цвет', value: c }],
        },
      });
    }
  }
  return {
    groups: Array.from({ length: groups }, (_, i) => ({
      id: `g-${i + 1}`,
      data: { name: `Группа ${i + 1}` },
    })),
    properties: [],
    priceTypes: [{ id: 'pt-retail', data: { name: 'Розничная', currency: 'RUB' } }],
    warehouses: [{ id: 'wh-1', data: { name: 'Основной склад' } }],
    products,
    prices: [],
    stock: [],
    onlyChanges,
    catalogId: 'cat-1',
    classifierId: 'cat-1',
    name: 'Каталог товаров',
  };
}

function packageOf(input: CatalogXmlInput, extra: Record<string, string> = {}): PackageFile[] {
  const dir = mkdtempSync(join(tmpdir(), 'cml-deactivate-'));
  dirs.push(dir);
  const { importXml, offersXml } = writeCatalogXml(input, { version: '2.08', encoding: 'utf-8' });
  const files: Record<string, Buffer | string> = {
    'import.xml': importXml,
    'offers.xml': offersXml,
    ...extra,
  };
  return Object.entries(files).map(([name, content]) => {
    const path = join(dir, name);
    writeFileSync(path, content);
    return { name, path };
  });
}

describe('CommerceML mode=deactivate: what a full package no longer holds is deleted', () => {
  let obmen: ObmenUnderTest;
  beforeEach(async () => {
    obmen = await startObmen({ zip: false });
  });
  afterEach(() => obmen.close());

  const exchange = async (files: PackageFile[]) => {
    const said: string[] = [];
    await runCatalogExchange({
      client: obmen.client(),
      files,
      zip: 'never',
      finish: true,
      onProgress: (text) => said.push(text),
    });
    return said.find((line) => line.startsWith('deactivate: ')) ?? '';
  };
  const deleted = async (entity: string) =>
    (
      await obmen.store.db
        .selectFrom('links')
        .innerJoin('records', (join) =>
          join.onRef('records.entity', '=', 'links.entity').onRef('records.id', '=', 'links.record_id'),
        )
        .select('links.external_id')
        .where('links.entity', '=', entity)
        .where('links.system', '=', 'erp')
        .where('records.deleted', '=', 1)
        .orderBy('links.external_id')
        .execute()
    ).map((row) => row.external_id);
  const lastSession = async () => {
    const row = await obmen.store.db
      .selectFrom('sessions')
      .selectAll()
      .where('name', 'like', '%deactivate%')
      .orderBy('id', 'desc')
      .executeTakeFirstOrThrow();
    return { ...row, counts: JSON.parse(row.counts) as Record<string, number> };
  };

  it('a smaller full package deletes the goods, variants and groups it left out; a repeat deletes nothing more', async () => {
    assert.match(await exchange(packageOf(catalog(6, 4))), /товаров 0, характеристик 0, групп 0/);
    assert.equal(await obmen.recordCount('product'), 6 + 4);
    assert.equal(await obmen.recordCount('product_group'), 4);

    // 1C now sends p-2…p-5 only (p-1 and p-6 are gone, and with p-1 its variants), and 3 groups.
    const smaller = catalog(6, 3);
    smaller.products = smaller.products.filter(
      (p) => !['p-1', 'p-6'].includes(p.id) && !p.id.startsWith('p-1#'),
    );
    const reply = await exchange(packageOf(smaller));
    assert.match(
      reply,
      /^deactivate: Деактивированы отсутствующие в полной выгрузке: товаров 2, характеристик 2, групп 1$/,
    );
    assert.deepEqual(await deleted('product'), ['p-1', 'p-1#c-blue', 'p-1#c-red', 'p-6']);
    assert.deepEqual(await deleted('product_group'), ['g-4']);
    const session = await lastSession();
    assert.equal(session.status, 'ok');
    assert.deepEqual(
      [session.counts['products'], session.counts['variants'], session.counts['product_groups']],
      [2, 2, 1],
    );
    // The deletions reach every route as new versions, like any other change.
    const record = await obmen.store.db
      .selectFrom('records')
      .innerJoin('links', (join) => join.onRef('links.record_id', '=', 'records.id'))
      .select(['records.version', 'records.data'])
      .where('links.external_id', '=', 'p-6')
      .executeTakeFirstOrThrow();
    assert.equal(record.version, 2);
    assert.equal((JSON.parse(record.data) as { name: string }).name, 'Товар 6', 'last content kept');

    assert.match(await exchange(packageOf(smaller)), /товаров 0, характеристик 0, групп 0/);
    assert.equal((await deleted('product')).length, 4);
  });

  it('a package with only changes deletes nothing', async () => {
    await exchange(packageOf(catalog(6, 4)));
    const reply = await exchange(packageOf(catalog(2, 1, true)));
    assert.match(reply, /Деактивация не выполнялась: файл import\.xml содержит только изменения/);
    assert.deepEqual(await deleted('product'), []);
    assert.deepEqual(await deleted('product_group'), []);
    const session = await lastSession();
    assert.equal(session.counts['skipped'], 1);
    assert.match(session.error ?? '', /СодержитТолькоИзменения/);
  });

  it('a failed import in the exchange deletes nothing', async () => {
    await exchange(packageOf(catalog(6, 4)));
    const files = packageOf(catalog(2, 1), {
      'rests.xml': '<?xml version="1.0"?><КоммерческаяИнформация><ПакетПредложений>',
    });
    const client = obmen.client();
    await assert.rejects(runCatalogExchange({ client, files, zip: 'never', finish: true }), /rests\.xml/);
    // 1C stops at the failure; a deactivate sent anyway in the same exchange changes nothing.
    const reply = await client.deactivate();
    assert.match(reply, /Деактивация не выполнялась: импорт файла rests\.xml не завершился успешно/);
    assert.deepEqual(await deleted('product'), []);
    assert.equal(await obmen.recordCount('product'), 6 + 4, 'what import.xml and offers.xml held is loaded');
  });

  it('1C that ends with complete but sends no deactivate gets the same, once', async () => {
    await exchange(packageOf(catalog(6, 4)));
    const client = obmen.client();
    await runCatalogExchange({ client, files: packageOf(catalog(5, 4)), zip: 'never' });
    assert.deepEqual(await deleted('product'), [], 'nothing before the exchange ends');
    assert.match(await client.complete(), /товаров 1, характеристик 0, групп 0/);
    assert.deepEqual(await deleted('product'), ['p-6']);
    assert.equal(await client.complete(), 'Обмен завершён');
  });

  it('with missingAfterFullImport: keep nothing is deleted', async () => {
    await obmen.close();
    obmen = await startObmen({ zip: false, missingAfterFullImport: 'keep' });
    await exchange(packageOf(catalog(6, 4)));
    const reply = await exchange(packageOf(catalog(2, 1)));
    assert.match(reply, /missingAfterFullImport: keep/);
    assert.deepEqual(await deleted('product'), []);
  });
});
