import assert from 'node:assert/strict';
import { createWriteStream, existsSync, readdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { finished } from 'node:stream/promises';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createEntityRegistry } from '../src/core/entities/index.ts';
import { isPrepared, preparedData, preparedKeys, preparedRefs } from '../src/engine/prepared.ts';
import {
  type CmlEvent,
  CmlSyntaxError,
  generateCatalog,
  parseCommerceMl,
  parseCommerceMlBatches,
  parseCommerceMlBatchesInWorker,
  parseCommerceMlInWorker,
} from '../src/formats/commerceml/index.ts';

/**
 * The parser thread gives exactly what the in-thread parser gives: the same events in the same
 * order with the same data, the same fault for a broken file, `raw` where asked for.
 */

const HERE = dirname(fileURLToPath(import.meta.url));
const FIXTURES =
  process.env.OBMEN_SHARED_FIXTURES ?? join(HERE, '..', '..', 'shared', 'fixtures', 'commerceml');

/** An event as plain data: items without their lazy `raw` (compared separately). */
function plain(event: CmlEvent): unknown {
  if (event.kind !== 'item') return event;
  const { externalId, data, deleted } = event.item;
  return { ...event, item: { externalId, data, deleted: deleted === true } };
}

/** A generated catalog written to `path`. */
async function generatedCatalog(path: string, options: Parameters<typeof generateCatalog>[0]): Promise<void> {
  const out = createWriteStream(path);
  await generateCatalog(options, out);
  out.end();
  await finished(out);
}

async function collect(events: AsyncIterable<CmlEvent>): Promise<{ events: unknown[]; error?: unknown }> {
  const out: unknown[] = [];
  try {
    for await (const event of events) out.push(plain(event));
  } catch (error) {
    return { events: out, error };
  }
  return { events: out };
}

describe('parseCommerceMlInWorker', () => {
  let work: string;
  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'cml-worker-'));
  });
  after(() => rm(work, { recursive: true, force: true }));

  test('batches, in either thread: never empty, and together the events one by one', async () => {
    const path = join(work, 'batches.xml');
    await generatedCatalog(path, { goods: 1500, propertiesPerGood: 2, seed: 5 });
    const oneByOne = await collect(parseCommerceMl(path));
    for (const batches of [parseCommerceMlBatches(path), parseCommerceMlBatchesInWorker(path)]) {
      const flat: unknown[] = [];
      let count = 0;
      for await (const batch of batches) {
        assert.ok(batch.length > 0, 'a batch is never empty');
        count++;
        for (const event of batch) flat.push(plain(event));
      }
      assert.ok(count > 1, 'a 1,500-goods file comes in several batches');
      assert.deepEqual(flat, oneByOne.events);
    }
  });

  test('a value longer than the pieces the file is read in (300 KB) comes through whole', async () => {
    const path = join(work, 'long.xml');
    // Cyrillic (two bytes each in UTF-8) across several 64 KB reads: the scanner keeps the rest
    // of each piece and grows its own buffer for it.
    const description = 'Описание товара, очень длинное. '.repeat(5000);
    writeFileSync(
      path,
      `<?xml version="1.0" encoding="UTF-8"?>\n<КоммерческаяИнформация ВерсияСхемы="2.08"><Каталог><Ид>c</Ид><Товары>` +
        `<Товар><Ид>a1</Ид><Наименование>Первый</Наименование><Описание>${description}</Описание></Товар>` +
        `<Товар><Ид>a2</Ид><Наименование>Второй</Наименование></Товар>` +
        '</Товары></Каталог></КоммерческаяИнформация>',
    );
    const { events, error } = await collect(parseCommerceMl(path));
    assert.equal(error, undefined);
    const items = events.filter((e) => (e as CmlEvent).kind === 'item') as Array<
      Extract<CmlEvent, { kind: 'item' }>
    >;
    assert.deepEqual(
      items.map((e) => e.item.externalId),
      ['a1', 'a2'],
    );
    assert.equal(items[0]!.item.data.description, description.trim());
    assert.equal(items[1]!.item.data.name, 'Второй');
  });

  test('a generated catalog of 3,000 goods: the same events as the in-thread parser', async () => {
    const path = join(work, 'import.xml');
    await generatedCatalog(path, { goods: 3000, propertiesPerGood: 4, seed: 3 });
    const inThread = await collect(parseCommerceMl(path));
    const inWorker = await collect(parseCommerceMlInWorker(path));
    assert.equal(inThread.error, undefined);
    assert.equal(inWorker.error, undefined);
    // More events than one message holds, so batching and credits are exercised.
    assert.ok(inThread.events.length > 3000);
    assert.deepEqual(inWorker.events, inThread.events);
  });

  test(
    'every fixture file parses to the same events in the worker',
    { skip: !existsSync(FIXTURES) },
    async () => {
      const files = readdirSync(FIXTURES).filter((name) => name.endsWith('.xml'));
      assert.ok(files.length > 5);
      for (const name of files) {
        const path = join(FIXTURES, name);
        const inThread = await collect(parseCommerceMl(path));
        const inWorker = await collect(parseCommerceMlInWorker(path));
        assert.deepEqual(inWorker.events, inThread.events, name);
        assert.equal(String(inWorker.error ?? ''), String(inThread.error ?? ''), name);
      }
    },
  );

  test('a truncated file: the objects before the fault, then the same CmlSyntaxError', async () => {
    const path = join(work, 'broken.xml');
    writeFileSync(
      path,
      '<?xml version="1.0" encoding="UTF-8"?>\n<КоммерческаяИнформация ВерсияСхемы="2.08">\n<Каталог>\n<Товары>\n<Товар><Ид>x1</Ид><Наименование>Стол</Наименование></Товар>\n<Товар><Ид>x2</Ид>\n',
    );
    const inThread = await collect(parseCommerceMl(path));
    const inWorker = await collect(parseCommerceMlInWorker(path));
    assert.ok(inWorker.error instanceof CmlSyntaxError);
    assert.ok(inThread.error instanceof CmlSyntaxError);
    assert.equal(inWorker.error.message, inThread.error.message);
    assert.equal(inWorker.error.line, inThread.error.line);
    assert.deepEqual(inWorker.events, inThread.events);
    assert.ok(inWorker.events.some((e) => (e as { kind: string }).kind === 'item'));
  });

  test('a missing file fails with the file system error', async () => {
    const result = await collect(parseCommerceMlInWorker(join(work, 'nope.xml')));
    assert.match(String(result.error), /ENOENT/);
  });

  test('raw comes only for the entities asked for', async () => {
    const path = join(work, 'raw.xml');
    writeFileSync(
      path,
      '<?xml version="1.0" encoding="UTF-8"?>\n<КоммерческаяИнформация ВерсияСхемы="2.08">\n<Классификатор><Ид>c</Ид><Группы><Группа><Ид>g1</Ид><Наименование>Столы</Наименование></Группа></Группы></Классификатор>\n<Каталог><Ид>c</Ид><Товары>\n<Товар><Ид>x1</Ид><Артикул>A1</Артикул><Наименование>Стол</Наименование></Товар>\n</Товары></Каталог></КоммерческаяИнформация>\n',
    );
    const raws: Record<string, unknown> = {};
    for await (const event of parseCommerceMlInWorker(path, { rawFor: ['product'] })) {
      if (event.kind === 'item') raws[event.entity] = event.item.raw;
    }
    assert.deepEqual(raws['product'], { Ид: 'x1', Артикул: 'A1', Наименование: 'Стол' });
    assert.equal(raws['product_group'], undefined);
  });

  test('items of the entities to prepare come validated and written out, the rest as objects', async () => {
    const path = join(work, 'prepare.xml');
    writeFileSync(
      path,
      '<?xml version="1.0" encoding="UTF-8"?>\n<КоммерческаяИнформация ВерсияСхемы="2.08">\n<Классификатор><Ид>c</Ид><Группы><Группа><Ид>g1</Ид><Наименование>Столы</Наименование></Группа></Группы></Классификатор>\n<Каталог><Ид>c</Ид><Товары>\n<Товар><Ид>x1</Ид><Артикул> A1 </Артикул><Наименование>Стол</Наименование><Группы><Ид>g1</Ид></Группы><Штрихкод>4600000000011</Штрихкод></Товар>\n</Товары></Каталог></КоммерческаяИнформация>\n',
    );
    const registry = createEntityRegistry();
    const inThread = new Map<string, unknown>();
    for await (const event of parseCommerceMl(path))
      if (event.kind === 'item') inThread.set(event.item.externalId, event.item.data);
    const seen = new Map<string, boolean>();
    for await (const event of parseCommerceMlInWorker(path, {
      prepare: { entities: ['product'], custom: [] },
    })) {
      if (event.kind !== 'item') continue;
      const { item } = event;
      seen.set(item.externalId, isPrepared(item));
      if (!isPrepared(item)) continue;
      // What ingest would have validated on its own thread, with the same registry.
      const checked = registry.validate('product', inThread.get(item.externalId));
      assert.ok(checked.ok);
      assert.deepEqual(preparedData(item.prepared), checked.data);
      assert.deepEqual(preparedRefs(item.prepared), [{ entity: 'product_group', id: 'g1' }]);
      assert.deepEqual(preparedKeys(item.prepared), [
        { rule: 'article', key: 'A1' },
        { rule: 'barcode', key: '4600000000011' },
      ]);
    }
    assert.deepEqual(Object.fromEntries(seen), {
      g1: false, // not an entity to prepare
      x1: true,
    });
  });

  test('an abort stops the parser thread and the iteration', async () => {
    const path = join(work, 'import.xml');
    const controller = new AbortController();
    let seen = 0;
    await assert.rejects(
      (async () => {
        for await (const event of parseCommerceMlInWorker(path, { signal: controller.signal })) {
          if (event.kind === 'item' && ++seen === 10) controller.abort(new Error('new exchange'));
        }
      })(),
      /new exchange/,
    );
    assert.equal(seen, 10);
  });
});
