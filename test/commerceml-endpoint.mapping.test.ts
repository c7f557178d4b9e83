import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runCatalogExchange } from '../emulators/onec-exchange/index.ts';
import { ManualClock } from '../src/core/clock.ts';
import { isPulledSource, runPull } from '../src/engine/pull.ts';
import { createScheduler } from '../src/engine/scheduler.ts';
import { type ObmenUnderTest, startObmen } from './commerceml-endpoint.harness.ts';

// sources[].mapping of a system that pushes: what 1C sends through the exchange is mapped by
// the same source mapping a pull would apply, before it is stored.
const SOURCES = [
  {
    name: 'erp-goods',
    system: 'erp',
    entity: 'product',
    mapping: {
      filter: "article != 'A-skip'",
      fields: {
        name: '$uppercase(name)',
        // A value the canonical product refuses: that good is reported, the rest loads.
        vatRate: "article = 'A-bad' ? 'много' : vatRate",
        // raw is the Товар element as 1C wrote it.
        manufacturer: "raw.Изготовитель.Наименование & ' (' & raw.Артикул & ')'",
        'attributes.Источник': "'1С'",
      },
    },
  },
];

const good = (id: string, article: string, name: string) =>
  `<Товар><Ид>${id}</Ид><Артикул>${article}</Артикул><Наименование>${name}</Наименование>` +
  `<Изготовитель><Ид>m1</Ид><Наименование>Завод</Наименование></Изготовитель>` +
  `<ЗначенияРеквизитов><ЗначениеРеквизита><Наименование>ВидНоменклатуры</Наименование><Значение>Товар</Значение></ЗначениеРеквизита></ЗначенияРеквизитов></Товар>\n`;

function catalogXml(goods: string[]): string {
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\n<КоммерческаяИнформация ВерсияСхемы="2.08">\n' +
    '<Каталог СодержитТолькоИзменения="false">\n<Ид>cat</Ид>\n<Товары>\n' +
    goods.join('') +
    '</Товары>\n</Каталог>\n</КоммерческаяИнформация>\n'
  );
}

// parseThread: the file is parsed on a worker thread (raw travels for mapped entities only) or here.
for (const parseThread of [true, false]) {
  describe(`CommerceML endpoint: source mappings apply to what 1C pushes (parseThread: ${parseThread})`, () => {
    let obmen: ObmenUnderTest;
    let work: string;
    before(async () => {
      obmen = await startObmen({ importStepSeconds: 0.05, parseThread }, { sources: SOURCES });
      work = await mkdtemp(join(tmpdir(), 'cml-mapping-'));
    });
    after(async () => {
      await obmen.close();
      await rm(work, { recursive: true, force: true });
    });

    const stored = async (externalId: string) => {
      const row = await obmen.store.db
        .selectFrom('links as l')
        .innerJoin('records as r', (join) =>
          join.onRef('r.entity', '=', 'l.entity').onRef('r.id', '=', 'l.record_id'),
        )
        .select('r.data')
        .where('l.system', '=', 'erp')
        .where('l.entity', '=', 'product')
        .where('l.external_id', '=', externalId)
        .executeTakeFirst();
      return row ? (JSON.parse(row.data) as Record<string, unknown>) : undefined;
    };

    test('the stored goods carry the mapped fields; the filter and a refused good are reported', async () => {
      const path = join(work, 'import.xml');
      writeFileSync(
        path,
        catalogXml([
          good('p-1', 'A-1', 'Стул'),
          good('p-2', 'A-skip', 'Шкаф'),
          good('p-3', 'A-bad', 'Лампа'),
          good('p-4', 'A-4', 'Стол'),
        ]),
      );
      const result = await runCatalogExchange({
        client: obmen.client(),
        files: [{ name: 'import.xml', path }],
        zip: 'never',
      });
      const message = result.messages['import.xml'] ?? '';
      assert.match(message, /отброшено фильтром источника 1/);
      assert.match(message, /с ошибками 1/);

      const chair = await stored('p-1');
      assert.equal(chair?.['name'], 'СТУЛ');
      assert.equal(chair?.['manufacturer'], 'Завод (A-1)');
      assert.deepEqual(chair?.['attributes'], { ВидНоменклатуры: 'Товар', Источник: '1С' });
      assert.equal((await stored('p-4'))?.['name'], 'СТОЛ');
      assert.equal(await stored('p-2'), undefined, 'left out by the filter');
      assert.equal(await stored('p-3'), undefined, 'a refused VAT rate');

      const session = await obmen.store.db
        .selectFrom('sessions')
        .selectAll()
        .where('name', '=', 'commerceml catalog import.xml')
        .executeTakeFirstOrThrow();
      assert.equal(session.status, 'partial');
      assert.equal(JSON.parse(session.counts).filtered, 1);
      assert.match(session.error ?? '', /import\.xml, строка 8, товар p-3: .*vatRate/);
    });

    test('the source is not pulled on a schedule: the system pushes', async () => {
      const source = obmen.runtime.sources.find((s) => s.name === 'erp-goods')!;
      assert.equal(isPulledSource(obmen.runtime, source), false);
      const clock = new ManualClock(Date.now());
      const scheduler = createScheduler({
        store: obmen.store,
        config: obmen.runtime.config,
        owner: 'test',
        clock,
        isPulled: (s) => isPulledSource(obmen.runtime, s),
      });
      await scheduler.tick();
      clock.advance(10 * 60_000);
      await scheduler.tick();
      const jobs = await obmen.store.db.selectFrom('jobs').select('name').execute();
      assert.deepEqual(
        jobs.filter((j) => j.name.startsWith('pull:')),
        [],
      );
      await assert.rejects(runPull(obmen.runtime, 'erp-goods'), /pushes its data to obmen and is never read/);
    });
  });
}

test('two sources of one pushing system and entity are a config error at start', async () => {
  await assert.rejects(
    startObmen({}, { sources: [SOURCES[0], { ...SOURCES[0], name: 'erp-goods-2' }] }),
    /sources erp-goods and erp-goods-2 both describe the product objects system erp pushes/,
  );
});
