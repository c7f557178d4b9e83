import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import iconv from 'iconv-lite';
import { type PackageFile, runCatalogExchange, runSaleExchange } from '../emulators/onec-exchange/index.ts';
import { startObmen } from './commerceml-endpoint.harness.ts';

/**
 * Real files exported by 1C and by 1C-Bitrix sites (../shared/fixtures/commerceml) go through
 * the real HTTP protocol — the 1C exchange emulator against a real obmen on a SQLite file —
 * and the records obmen holds afterwards are compared with counts taken from the file text
 * here, independently of obmen's parser.
 */
const FIXTURES = new URL('../../shared/fixtures/commerceml/', import.meta.url).pathname;
const available = existsSync(FIXTURES);

/** Fixture sets: files that belong to one exchange of one system (ids are shared inside a set). */
function fixtureSets(): Map<string, PackageFile[]> {
  const sets = new Map<string, PackageFile[]>();
  for (const file of readdirSync(FIXTURES).sort()) {
    if (!file.endsWith('.xml')) continue;
    const [origin, rest] = file.split('__') as [string, string];
    const set = origin.startsWith('irpsv') ? `${origin}__${rest.split('_')[0]}` : origin;
    const name = origin.startsWith('irpsv') ? rest.split('_').slice(1).join('_') : rest;
    const list = sets.get(set) ?? [];
    list.push({ name, path: join(FIXTURES, file) });
    sets.set(set, list);
  }
  return sets;
}

function readText(path: string): string {
  const bytes = readFileSync(path);
  const head = bytes.subarray(0, 200).toString('latin1');
  return /encoding="windows-1251"/i.test(head)
    ? iconv.decode(bytes, 'windows-1251')
    : bytes.toString('utf8').replace(/^\uFEFF/, '');
}

/** Element blocks `<tag …>…</tag>` (not nested in themselves) with namespace prefixes dropped. */
function blocks(text: string, tag: string): string[] {
  const pattern = new RegExp(`<(?:\\w+:)?${tag}(?:\\s[^>]*)?>([\\s\\S]*?)</(?:\\w+:)?${tag}>`, 'g');
  return [...text.matchAll(pattern)].map((m) => m[1]!);
}

const firstId = (block: string) => /<(?:\w+:)?Ид>([^<]*)<\/(?:\w+:)?Ид>/.exec(block)?.[1]?.trim();

/** Distinct objects per canonical entity, read from the text of a set's files. */
function expectedCounts(files: PackageFile[]): Record<string, number> {
  const ids: Record<string, Set<string>> = {};
  const add = (entity: string, id: string | undefined) => {
    if (!id) return;
    ids[entity] ??= new Set();
    ids[entity].add(id);
  };
  for (const file of files) {
    const text = readText(file.path);
    // Groups nest: every <Группа> open tag is one group, whose Ид is the first Ид after it.
    for (const m of text.matchAll(/<(?:\w+:)?Группа>\s*<(?:\w+:)?Ид>([^<]+)</g))
      add('product_group', m[1]!.trim());
    for (const block of blocks(text, 'Свойства')) {
      for (const m of block.matchAll(/<(?:\w+:)?Свойство>\s*<(?:\w+:)?Ид>([^<]+)</g))
        add('property', m[1]!.trim());
    }
    for (const block of blocks(text, 'ТипЦены')) add('price_type', firstId(block));
    for (const list of blocks(text, 'ЕдиницыИзмерения')) {
      for (const unit of blocks(list, 'ЕдиницаИзмерения')) {
        add('unit', firstId(unit) ?? /<(?:\w+:)?Код>([^<]+)</.exec(unit)?.[1]?.trim());
      }
    }
    for (const block of blocks(text, 'Склады')) {
      for (const m of block.matchAll(/<(?:\w+:)?Склад>\s*<(?:\w+:)?Ид>([^<]+)</g))
        add('warehouse', m[1]!.trim());
    }
    for (const catalog of blocks(text, 'Каталог')) {
      for (const good of blocks(catalog, 'Товар')) add('product', firstId(good));
    }
    for (const offer of blocks(text, 'Предложение')) {
      const offerId = firstId(offer);
      if (!offerId) continue;
      const [parent, characteristic] = offerId.split('#');
      const productId = characteristic ? offerId : parent!;
      if (
        characteristic &&
        /<(?:\w+:)?Наименование>/.test(
          offer.replace(
            /<(?:\w+:)?(Цены|ХарактеристикиТовара|ЗначенияСвойств|Остатки)>[\s\S]*?<\/(?:\w+:)?\1>/g,
            '',
          ),
        )
      ) {
        add('product', offerId);
      }
      for (const price of blocks(offer, 'Цена')) {
        const type = /<(?:\w+:)?ИдТипаЦены>([^<]+)</.exec(price)?.[1];
        if (type) add('price', `${productId}|${type.trim()}`);
      }
      const bare = offer.replace(/<(?:\w+:)?(Цены|Остатки|ОстаткиПоСкладам)>[\s\S]*?<\/(?:\w+:)?\1>/g, '');
      if (/<(?:\w+:)?Количество>/.test(bare)) add('stock', `${productId}|*`);
      for (const m of offer.matchAll(/<(?:\w+:)?Склад\s[^>]*ИдСклада="([^"]+)"/g))
        add('stock', `${productId}|${m[1]}`);
      for (const rest of blocks(offer, 'Остаток')) {
        const store = blocks(rest, 'Склад')[0];
        add('stock', `${productId}|${store ? firstId(store) : '*'}`);
      }
    }
    for (const doc of blocks(text, 'Документ')) {
      const orderId = firstId(doc) ?? /<(?:\w+:)?Номер>([^<]+)</.exec(doc)?.[1];
      add('order', orderId);
      // Each order document is also the order's state in 1C (sale-status.ts), unless deleted.
      if (!/<(?:\w+:)?ПометкаУдаления>true</.test(doc)) add('order_status', orderId);
      for (const party of blocks(doc, 'Контрагент')) add('counterparty', firstId(party));
    }
  }
  return Object.fromEntries(Object.entries(ids).map(([entity, set]) => [entity, set.size]));
}

describe('CommerceML endpoint conformance: real 1C and Bitrix files over HTTP', () => {
  if (!available) {
    test('skipped: ../shared/fixtures/commerceml is absent (a fresh clone has no shared fixtures)', (t) => {
      t.skip(`no fixtures at ${FIXTURES}`);
    });
    return;
  }

  for (const [set, files] of fixtureSets()) {
    test(`${set}: ${files.map((f) => f.name).join(', ')}`, async () => {
      // Counted per 1C Ид with the default matching rules on: ids of one system are never merged.
      const obmen = await startObmen({ importStepSeconds: 1 });
      try {
        const documents = files.filter(
          (f) =>
            blocks(readText(f.path), 'Документ').length > 0 || /orders|documents|query-response/.test(f.name),
        );
        const catalog = files.filter((f) => !documents.includes(f));
        const messages: Record<string, string> = {};
        if (catalog.length > 0) {
          const result = await runCatalogExchange({ client: obmen.client(), files: catalog });
          Object.assign(messages, result.messages);
        }
        if (documents.length > 0) {
          const result = await runSaleExchange({ client: obmen.client(), documents });
          Object.assign(messages, result.messages);
        }
        for (const file of files) {
          if (file.name.endsWith('.xml'))
            assert.match(messages[file.name] ?? '', /завершён/, `${file.name} imported`);
        }
        const rows = await obmen.store.db
          .selectFrom('records')
          .select(['entity', (eb) => eb.fn.countAll<number>().as('n')])
          .groupBy('entity')
          .execute();
        const actual = Object.fromEntries(rows.map((r) => [r.entity, Number(r.n)]));
        const expected = expectedCounts(files);
        assert.deepEqual(
          actual,
          expected,
          `records by entity for ${set}; messages: ${JSON.stringify(messages)}`,
        );
      } finally {
        await obmen.close();
      }
    });
  }

  test('with the default matching rules, offers with characteristics stay separate products', async () => {
    const files = fixtureSets()
      .get('carono+php-commerceml')!
      .filter((f) => !/orders/.test(f.name));
    const obmen = await startObmen({ importStepSeconds: 1 });
    try {
      await runCatalogExchange({ client: obmen.client(), files });
      assert.equal(await obmen.recordCount('product'), expectedCounts(files)['product']);
    } finally {
      await obmen.close();
    }
  });
});
