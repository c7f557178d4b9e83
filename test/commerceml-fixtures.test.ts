import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import iconv from 'iconv-lite';
import { createEntityRegistry } from '../src/core/entities/index.ts';
import { type CmlEvent, parseCommerceMl } from '../src/formats/commerceml/index.ts';

/**
 * Conformance at parser level: every real file in ../shared/fixtures/commerceml/ (exported by
 * 1C configurations and 1C-Bitrix sites) parses without a fault, and the number of records of
 * each kind equals what a plain text count over the file finds. The expected numbers are
 * computed here from the file text with regular expressions, independently of the parser.
 */

const HERE = dirname(fileURLToPath(import.meta.url));
const FIXTURES =
  process.env.OBMEN_SHARED_FIXTURES ?? join(HERE, '..', '..', 'shared', 'fixtures', 'commerceml');
const available = existsSync(FIXTURES);
const registry = createEntityRegistry();

function decoded(path: string): string {
  const bytes = readFileSync(path);
  const head = bytes.subarray(0, 200).toString('latin1');
  return /encoding="windows-1251"/i.test(head) ? iconv.decode(bytes, 'win1251') : bytes.toString('utf8');
}

const count = (text: string, pattern: RegExp): number => text.match(pattern)?.length ?? 0;

/** The element blocks `<name>…</name>` (not nested in themselves) of a text. */
function blocks(text: string, name: string): string[] {
  return text.match(new RegExp(`<${name}(?:\\s[^>]*)?>[\\s\\S]*?</${name}>`, 'g')) ?? [];
}

/** What the file holds, counted from its text. */
function expectedCounts(text: string): Record<string, number> {
  const expected: Record<string, number> = {};
  const put = (entity: string, n: number) => {
    if (n > 0) expected[entity] = n;
  };
  const isOrders = /<Документ>/.test(text);
  if (isOrders) {
    // Every document in these files is "Заказ товара"; each buyer is reported once per order.
    put('order', count(text, /<ХозОперация>Заказ товара<\/ХозОперация>/g));
    put('counterparty', count(text, /<Контрагент>/g) - count(text, /<Представитель>\s*<Контрагент>/g));
    return expected;
  }
  put('product_group', count(text, /<Группа>/g));
  put('property', count(text, /<Свойство>/g));
  put('unit', count(text, /<ЕдиницаИзмерения>/g));
  put('price_type', count(text, /<ТипЦены>/g));
  put('warehouse', count(text, /<Склад>/g) - count(text, /<Остаток>\s*<Склад>/g));
  const offers = blocks(text, 'Предложение');
  // Goods of import files, plus offers that name a characteristic and carry a name (variants).
  // (A name of its own: price and tax blocks have Наименование too.)
  const variants = offers.filter(
    (offer) =>
      /<Ид>[^<#]+#[^<]+<\/Ид>/.test(offer) &&
      /<Наименование>/.test(offer.replace(/<Цены>[\s\S]*?<\/Цены>/g, '')),
  ).length;
  put('product', count(text, /<Товар[\s>]/g) + variants);
  put('price', count(text, /<Цена>/g));
  let stock = count(text, /КоличествоНаСкладе="/g) + count(text, /<Остаток>/g);
  for (const offer of offers) {
    if (/<Количество>/.test(offer.replace(/<Остатки>[\s\S]*?<\/Остатки>/g, ''))) stock += 1;
  }
  put('stock', stock);
  return expected;
}

function expectedKind(file: string, text: string): string {
  if (/<Документ>/.test(text)) return 'orders';
  if (/_prices\.xml$/.test(file)) return 'prices';
  if (/_rests\.xml$/.test(file)) return 'rests';
  if (/<ПакетПредложений/.test(text)) return 'offers';
  if (/<Каталог|<Классификатор/.test(text)) return 'import';
  return 'unknown';
}

describe(
  'CommerceML fixtures (real files)',
  { skip: available ? false : `skipped: ${FIXTURES} is absent` },
  () => {
    const files = available ? readdirSync(FIXTURES).filter((f) => f.endsWith('.xml')) : [];

    test('the fixture folder has the files the README lists', () => {
      assert.ok(files.length >= 19, `found ${files.length} files`);
    });

    for (const name of files) {
      test(name, async () => {
        const path = join(FIXTURES, name);
        const text = decoded(path);
        const counts: Record<string, number> = {};
        const events: CmlEvent[] = [];
        for await (const event of parseCommerceMl(path)) {
          events.push(event);
          if (event.kind !== 'item') continue;
          counts[event.entity] = (counts[event.entity] ?? 0) + 1;
          const result = registry.validate(event.entity, event.item.data);
          assert.ok(
            result.ok,
            `${event.entity} ${event.item.externalId} (line ${event.line}): ${result.ok ? '' : result.issues.join('; ')}`,
          );
        }
        const errors = events.filter((e) => e.kind === 'itemError');
        assert.deepEqual(errors, [], 'no item errors in real files');
        assert.deepEqual(counts, expectedCounts(text));
        const pkg = events[0];
        assert.equal(pkg?.kind, 'package');
        if (pkg?.kind !== 'package') return;
        assert.equal(pkg.version, text.match(/ВерсияСхемы="([^"]+)"/)?.[1]);
        assert.equal(pkg.documentKind, expectedKind(name, text));
        assert.equal(pkg.onlyChanges, /СодержитТолькоИзменения="true"/.test(text));
      });
    }
  },
);
