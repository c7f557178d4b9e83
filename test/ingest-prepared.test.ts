import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ManualClock } from '../src/core/clock.ts';
import type { SourceItem } from '../src/core/connector.ts';
import { createEntityRegistry } from '../src/core/entities/index.ts';
import { contentHash, stableStringify } from '../src/core/hash.ts';
import { type IngestContext, ingest } from '../src/engine/ingest.ts';
import { compileOwnership } from '../src/engine/ownership.ts';
import {
  type IngestItem,
  isPrepared,
  preparedContent,
  preparedData,
  preparedKeys,
  preparedKeysOf,
  preparedRefs,
  prepareItem,
  TextArena,
} from '../src/engine/prepared.ts';
import { keysFor, matchKeysOf } from '../src/matching/rules.ts';
import type { Store } from '../src/store/store.ts';
import { hubIdOf } from './support/links.ts';
import { forEachDialect } from './support/stores.ts';

/**
 * Items prepared on another thread (engine/prepared.ts) against the same items as sources send
 * them: the hub must not be able to tell them apart — same text, same hash, same references,
 * same match keys, same errors.
 */
const registry = createEntityRegistry();

function context(store: Store, extra: Partial<IngestContext> = {}): IngestContext {
  return {
    store,
    registry,
    routes: [],
    historyVersions: 5,
    clock: new ManualClock(),
    matching: true,
    ...extra,
  };
}

/** A product with every kind of reference a 1C catalog gives it. */
function kettle(id: string, extra: Record<string, unknown> = {}): SourceItem {
  return {
    externalId: id,
    data: {
      name: 'Чайник "Vitek" 1,7 л',
      article: ' VT-7 ',
      groupId: 'grp-1',
      baseUnitId: '796',
      barcodes: ['4601234567890'],
      properties: [
        { propertyId: 'prop-color', valueId: 'val-white' },
        { propertyId: 'prop-power', value: '2200' },
      ],
      attributes: { ВидНоменклатуры: 'Товар' },
      ...extra,
    },
  };
}

const prepared = (entity: string, items: SourceItem[]): IngestItem[] =>
  items.map((item) => prepareItem(registry, entity, item));

async function stored(store: Store, recordId: string) {
  return store.db
    .selectFrom('records')
    .select(['version', 'hash', 'data'])
    .where('entity', '=', 'product')
    .where('id', '=', recordId)
    .executeTakeFirstOrThrow();
}

/** The match keys stored for a record, by rule. */
function matchKeys(store: Store, recordId: string) {
  return store.db
    .selectFrom('match_keys')
    .select(['rule', 'key'])
    .where('record_id', '=', recordId)
    .orderBy('rule')
    .execute();
}

describe('preparedContent', () => {
  test('is the text the plain path writes and the contentHash of that text, deleted or not', () => {
    const item = prepareItem(registry, 'product', kettle('k-1'));
    assert.ok(isPrepared(item));
    assert.ok(preparedRefs(item.prepared).length >= 3, 'the kettle has group, unit and property references');
    const hub = (entity: string, id: string) => `hub-${entity}-${id}`;
    const { prepared } = item;
    // What ingest writes for the same product as sent: validated, references mapped, stable JSON.
    const checked = registry.validate('product', kettle('k-1').data);
    assert.ok(checked.ok);
    const json = stableStringify(registry.mapRefs('product', checked.data, hub).data);
    assert.match(json, /"hub-product_group-grp-1"/);
    for (const deleted of [false, true]) {
      const content = preparedContent(prepared, hub, deleted)!;
      assert.equal(new TextDecoder().decode(content.json), json);
      assert.equal(content.hash, contentHash(json, deleted));
    }
    assert.notEqual(
      preparedContent(item.prepared, hub, true)!.hash,
      preparedContent(item.prepared, hub, false)!.hash,
    );
  });

  test('writes any id as JSON would: quotes, backslashes and Cyrillic escaped or kept alike', () => {
    const item = prepareItem(registry, 'product', kettle('k-3'));
    assert.ok(isPrepared(item));
    const hub = (entity: string, id: string) => `хаб "${entity}"\\${id}\n`;
    const checked = registry.validate('product', kettle('k-3').data);
    assert.ok(checked.ok);
    const json = stableStringify(registry.mapRefs('product', checked.data, hub).data);
    const content = preparedContent(item.prepared, hub, false)!;
    assert.equal(new TextDecoder().decode(content.json), json);
    assert.equal(content.hash, contentHash(json, false));
  });

  test('is undefined while a reference has no hub id', () => {
    const item = prepareItem(registry, 'product', kettle('k-2'));
    assert.ok(isPrepared(item));
    const noGroup = (entity: string, id: string) => (entity === 'product_group' ? undefined : `hub-${id}`);
    assert.equal(preparedContent(item.prepared, noGroup, false), undefined);
  });
});

forEachDialect('ingest of prepared items', (db) => {
  test('a product prepared and the same product as sent are one version: same text, same hash', async () => {
    const store = await db().open();
    try {
      const ctx = context(store);
      const first = await ingest(ctx, {
        system: 'onec',
        entity: 'product',
        items: prepared('product', [kettle('p-1')]),
      });
      assert.equal(first.created, 1);
      const recordId = first.records[0]!.recordId;
      const before = await stored(store, recordId);
      assert.equal(typeof before.data, 'string', 'stored as text, not as the bytes it was bound as');
      // The references hold hub ids (reserved: the group, unit and properties come later).
      const data = JSON.parse(before.data) as Record<string, unknown>;
      assert.equal(data['groupId'], await hubIdOf(store, 'product_group', 'onec', 'grp-1'));
      assert.equal(data['baseUnitId'], await hubIdOf(store, 'unit', 'onec', '796'));
      assert.equal(data['article'], 'VT-7', 'validated (trimmed) like the plain path');

      const plain = await ingest(ctx, { system: 'onec', entity: 'product', items: [kettle('p-1')] });
      assert.deepEqual([plain.unchanged, plain.updated, plain.created], [1, 0, 0]);
      const again = await ingest(ctx, {
        system: 'onec',
        entity: 'product',
        items: prepared('product', [kettle('p-1')]),
      });
      assert.deepEqual([again.unchanged, again.updated], [1, 0]);
      assert.deepEqual(await stored(store, recordId), before);

      // A change sent prepared writes what the plain path writes for it.
      const changed = await ingest(ctx, {
        system: 'onec',
        entity: 'product',
        items: prepared('product', [kettle('p-1', { name: 'Чайник Vitek VT-7' })]),
      });
      assert.equal(changed.updated, 1);
      const after = await stored(store, recordId);
      assert.equal(after.version, 2);
      const plainChange = await ingest(ctx, {
        system: 'onec',
        entity: 'product',
        items: [kettle('p-1', { name: 'Чайник Vitek VT-7' })],
      });
      assert.equal(plainChange.unchanged, 1);
      assert.deepEqual(await stored(store, recordId), after);
    } finally {
      await store.close();
    }
  });

  test('match keys are written from prepared content, and a prepared product is matched by them', async () => {
    const store = await db().open();
    try {
      const ctx = context(store);
      const fromSite = await ingest(ctx, { system: 'site', entity: 'product', items: [kettle('site-9')] });
      assert.deepEqual(await matchKeys(store, fromSite.records[0]!.recordId), [
        { rule: 'article', key: 'VT-7' },
        { rule: 'barcode', key: '4601234567890' },
      ]);
      // The same kettle from 1C, prepared: matched by article to the site's record, not a second one.
      const fromOnec = await ingest(ctx, {
        system: 'onec',
        entity: 'product',
        items: prepared('product', [kettle('1c-9')]),
      });
      assert.deepEqual([fromOnec.matched, fromOnec.created], [1, 0]);
      assert.equal(fromOnec.records[0]!.recordId, fromSite.records[0]!.recordId);
      const onecKeys = await ingest(ctx, {
        system: 'onec',
        entity: 'product',
        items: prepared('product', [kettle('1c-10', { article: 'VT-10', barcodes: ['4600000000010'] })]),
      });
      assert.deepEqual(await matchKeys(store, onecKeys.records[0]!.recordId), [
        { rule: 'article', key: 'VT-10' },
        { rule: 'barcode', key: '4600000000010' },
      ]);
    } finally {
      await store.close();
    }
  });

  test('what cannot be prepared stays as sent, and ingest reports it in its own words', async () => {
    const store = await db().open();
    try {
      const bad = kettle('p-bad', { barcodes: 'not a list' });
      const deletion: SourceItem = { externalId: 'p-gone', data: {}, deleted: true };
      const items = prepared('product', [bad, deletion, kettle('p-ok')]);
      assert.equal(isPrepared(items[0]!), false, 'invalid content is left to ingest');
      assert.equal(isPrepared(items[1]!), false, 'a deletion without content keeps the last content');
      assert.equal(isPrepared(items[2]!), true);
      const result = await ingest(context(store), { system: 'onec', entity: 'product', items });
      // The rest of the batch goes on: the kettle, and the deletion (kept as a deleted record).
      assert.equal(result.created, 2);
      assert.equal(result.invalid.length, 1);
      assert.match(result.invalid[0]!.message, /^product p-bad from onec: product\.barcodes/);
    } finally {
      await store.close();
    }
  });

  test('with field ownership the prepared content is merged as an object, like the plain one', async () => {
    const store = await db().open();
    try {
      const ctx = context(store, {
        ownership: compileOwnership({ product: { owners: { site: ['name'] }, unowned: 'any' } }),
      });
      const first = await ingest(ctx, { system: 'site', entity: 'product', items: [kettle('x-1')] });
      await ingest(ctx, { system: 'onec', entity: 'product', items: [kettle('x-1-1c')] });
      // 1C sends another name: the site owns it, so the stored name stays the site's.
      const renamed = await ingest(ctx, {
        system: 'onec',
        entity: 'product',
        items: prepared('product', [kettle('x-1-1c', { name: 'Имя из 1С', description: 'из 1С' })]),
      });
      assert.equal(renamed.records[0]!.recordId, first.records[0]!.recordId);
      const data = JSON.parse((await stored(store, first.records[0]!.recordId)).data);
      assert.equal(data.name, 'Чайник "Vitek" 1,7 л');
      assert.equal(data.description, 'из 1С');
    } finally {
      await store.close();
    }
  });
});

test('prepared text is the validated content: preparedData gives it back in source-id form', () => {
  const item = prepareItem(registry, 'product', kettle('p-2', { name: 'obmen-ref-00-0 "в кавычках"' }));
  assert.ok(isPrepared(item));
  const checked = registry.validate('product', kettle('p-2', { name: 'obmen-ref-00-0 "в кавычках"' }).data);
  assert.ok(checked.ok);
  assert.deepEqual(preparedData(item.prepared), checked.data);
  assert.deepEqual(
    preparedRefs(item.prepared)
      .map((r) => `${r.entity}:${r.id}`)
      .sort(),
    ['product_group:grp-1', 'property:prop-color', 'property:prop-power', 'unit:796'],
  );
  assert.equal(item.prepared.cuts.length, preparedRefs(item.prepared).length);
  const checkedKeys = matchKeysOf('product', checked.data);
  assert.ok(checkedKeys.length > 0);
  assert.deepEqual(preparedKeys(item.prepared), checkedKeys);
  // By one rule, as matching before ingest reads them.
  for (const rule of new Set(checkedKeys.map((k) => k.rule)))
    assert.deepEqual(preparedKeysOf(item.prepared, rule), keysFor(rule, checked.data));
});

test('a text arena hands over the blocks its texts are in, each text whole in one block', () => {
  const arena = new TextArena(64);
  const first = arena.write(['{"a":', ',"b":"Чайник"}']);
  const second = arena.write(['{"c":"', 'x'.repeat(100), '"}']);
  const decode = (text: Uint8Array) => new TextDecoder().decode(text.subarray(1));
  assert.equal(decode(first.text), '{"a":,"b":"Чайник"}');
  assert.deepEqual(first.cuts, [1 + '{"a":'.length]);
  assert.equal(decode(second.text), `{"c":"${'x'.repeat(100)}"}`, 'longer than a block: a block of its own');
  assert.deepEqual(second.cuts, [7, 107]);
  const blocks = arena.take();
  assert.equal(blocks.length, 2);
  assert.ok(
    blocks.includes(first.text.buffer as ArrayBuffer) && blocks.includes(second.text.buffer as ArrayBuffer),
  );
  assert.deepEqual(arena.take(), [], 'taken once');
  assert.notEqual(arena.write(['{}']).text.buffer, second.text.buffer, 'after a take, a new block');
});

test('preparing leaves the item as it came: a custom entity shares nested objects with its validated content', () => {
  const custom = createEntityRegistry([{ name: 'bundle', refs: { 'items[].productId': 'product' } }]);
  const item: SourceItem = { externalId: 'b-1', data: { items: [{ productId: 'p1' }, { productId: 'p2' }] } };
  const before = structuredClone(item);
  const ready = prepareItem(custom, 'bundle', item);
  assert.ok(isPrepared(ready));
  assert.deepEqual(item, before, 'the stand-ins were taken out of the shared objects again');
  assert.deepEqual(preparedData(ready.prepared), before.data);
  assert.deepEqual(
    preparedRefs(ready.prepared).map((r) => r.id),
    ['p1', 'p2'],
  );
});
