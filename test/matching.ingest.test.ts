import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../src/core/clock.ts';
import type { SourceItem } from '../src/core/connector.ts';
import { createEntityRegistry } from '../src/core/entities/index.ts';
import { ingest } from '../src/engine/ingest.ts';
import { matchBeforeIngest } from '../src/matching/before-ingest.ts';
import { listHolds, resolveHold } from '../src/matching/holds.ts';
import { indexMatchKeysBatch } from '../src/matching/index-keys.ts';
import type { Store } from '../src/store/store.ts';
import { forEachDialect } from './support/stores.ts';

/**
 * Matching wired the way the engine will use it: matchBeforeIngest on a batch, then the real
 * ingest(), then the match keys of what was ingested (the lead moves that call into ingest's
 * transaction).
 */
async function ingestMatched(store: Store, system: string, entity: string, items: SourceItem[]) {
  const clock = new ManualClock();
  const matched = await matchBeforeIngest(store, entity, system, items, { now: clock.now() });
  const result = await ingest(
    { store, registry: createEntityRegistry(), routes: [], historyVersions: 20, clock },
    { system, entity, items: matched.items },
  );
  const byId = new Map(matched.items.map((item) => [item.externalId, item]));
  await store.tx((trx) =>
    indexMatchKeysBatch(
      trx,
      entity,
      result.records.map((r) => ({ recordId: r.recordId, data: byId.get(r.externalId)!.data })),
    ),
  );
  return { matched, result };
}

const phone = (value: string) => ({ value, type: 'mobile' });
const count = async (store: Store, entity: string) =>
  Number(
    (
      await store.db
        .selectFrom('records')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('entity', '=', entity)
        .executeTakeFirstOrThrow()
    ).n,
  );

forEachDialect('matching before ingest', (db) => {
  test('the same customer from Bitrix24 in other phone/e-mail formats updates the 1C record, no duplicate', async () => {
    const store = await db().open();
    try {
      const first = await ingestMatched(store, 'onec', 'counterparty', [
        { externalId: 'g-1', data: { name: 'ООО Ромашка', inn: '7707083893', kpp: '773601001' } },
        { externalId: 'g-2', data: { name: 'Иванов', phones: [phone('8 (912) 345-67-89')] } },
        { externalId: 'g-3', data: { name: 'Петрова', emails: [{ value: 'Petrova@Mail.ru' }] } },
      ]);
      assert.equal(first.result.created, 3);
      const byExternal = new Map(first.result.records.map((r) => [r.externalId, r.recordId]));

      const second = await ingestMatched(store, 'b24', 'counterparty', [
        { externalId: 'C_10', data: { name: 'Ромашка', inn: '7707 083 893', kpp: '773601001' } },
        { externalId: 'C_11', data: { name: 'Иванов И.', phones: [phone('+7 912 345 67 89')] } },
        { externalId: 'C_12', data: { name: 'Петрова А.', emails: [{ value: ' petrova@mail.ru' }] } },
        { externalId: 'C_13', data: { name: 'Новый клиент', phones: [phone('+7 999 000 00 00')] } },
      ]);
      assert.deepEqual(
        second.matched.matched.map((m) => [m.externalId, m.recordId, m.rule]),
        [
          ['C_10', byExternal.get('g-1'), 'inn_kpp'],
          ['C_11', byExternal.get('g-2'), 'phone'],
          ['C_12', byExternal.get('g-3'), 'email'],
        ],
      );
      assert.equal(second.result.created, 1, 'only the new customer is created');
      assert.equal(await count(store, 'counterparty'), 4);
      const record = second.result.records.find((r) => r.externalId === 'C_11')!;
      assert.equal(record.recordId, byExternal.get('g-2'));
    } finally {
      await store.close();
    }
  });

  test('ambiguous → held (not ingested) → resolved by link → the next read updates the chosen record', async () => {
    const store = await db().open();
    try {
      const first = await ingestMatched(store, 'onec', 'counterparty', [
        { externalId: 'g-1', data: { name: 'Петров (опт)', phones: [phone('+79123456789')] } },
        { externalId: 'g-2', data: { name: 'Петров (розница)', phones: [phone('8 912 345 67 89')] } },
      ]);
      const incoming: SourceItem = {
        externalId: 'C_7',
        data: { name: 'Петров', phones: [phone('89123456789')] },
      };
      const held = await ingestMatched(store, 'b24', 'counterparty', [incoming]);
      assert.equal(held.matched.items.length, 0);
      assert.equal(held.matched.held.length, 1);
      assert.equal(held.result.received, 0);
      assert.equal(await count(store, 'counterparty'), 2);
      const [hold] = (await listHolds(store)).items;
      assert.deepEqual(hold!.candidates.map((c) => c.name).sort(), ['Петров (опт)', 'Петров (розница)']);

      // Read again before anyone decided: still held, still one hold.
      await ingestMatched(store, 'b24', 'counterparty', [incoming]);
      assert.equal((await listHolds(store)).total, 1);

      const chosen = first.result.records.find((r) => r.externalId === 'g-2')!.recordId;
      await resolveHold(store, hold!.id, { link: chosen }, 'user:anna');
      const after = await ingestMatched(store, 'b24', 'counterparty', [incoming]);
      assert.equal(after.matched.held.length, 0);
      assert.deepEqual(
        after.result.records.map((r) => r.recordId),
        [chosen],
      );
      assert.equal(await count(store, 'counterparty'), 2);
    } finally {
      await store.close();
    }
  });

  test('two Bitrix24 contacts matching one hub record: the first links, the second stays its own object', async () => {
    const store = await db().open();
    try {
      await ingestMatched(store, 'onec', 'counterparty', [
        { externalId: 'g-1', data: { name: 'Иванов', phones: [phone('+79123456789')] } },
      ]);
      const second = await ingestMatched(store, 'b24', 'counterparty', [
        { externalId: 'C_1', data: { name: 'Иванов', phones: [phone('8 912 345-67-89')] } },
        { externalId: 'C_2', data: { name: 'Иванов И.', phones: [phone('(912) 345 67 89')] } },
      ]);
      assert.deepEqual(
        second.matched.matched.map((m) => m.externalId),
        ['C_1'],
      );
      // Bitrix24 itself keeps C_1 and C_2 apart: obmen never merges them (the duplicates
      // report lists them), and holding C_2 would block a real object of that system.
      assert.deepEqual(second.matched.held, []);
      assert.equal(await count(store, 'counterparty'), 2);
    } finally {
      await store.close();
    }
  });

  test('1C offers sharing their product article stay separate products (same system never merges)', async () => {
    const store = await db().open();
    try {
      const first = await ingestMatched(store, 'onec', 'product', [
        { externalId: 'P', data: { name: 'Футболка', article: 'TS-1' } },
      ]);
      const second = await ingestMatched(store, 'onec', 'product', [
        { externalId: 'P#C1', data: { name: 'Футболка (красная)', article: 'TS-1', parentProductId: 'P' } },
        { externalId: 'P#C2', data: { name: 'Футболка (синяя)', article: 'TS-1', parentProductId: 'P' } },
      ]);
      assert.deepEqual(second.matched.matched, []);
      assert.deepEqual(second.matched.held, []);
      assert.equal(first.result.created + second.result.created, 3);
      assert.equal(await count(store, 'product'), 3);
    } finally {
      await store.close();
    }
  });

  test('products: the site XML_ID equal to the 1C Ид matches; then the article', async () => {
    const store = await db().open();
    try {
      const first = await ingestMatched(store, 'onec', 'product', [
        { externalId: 'guid-st', data: { name: 'Стол', article: 'ST-1' } },
        { externalId: 'guid-su', data: { name: 'Стул', article: 'SU-1' } },
      ]);
      const ids = new Map(first.result.records.map((r) => [r.externalId, r.recordId]));
      const site = await ingestMatched(store, 'site', 'product', [
        { externalId: 'guid-st', data: { name: 'Стол письменный' } },
        { externalId: '5001', data: { name: 'Стул', article: 'su-1' } },
      ]);
      assert.deepEqual(
        site.matched.matched.map((m) => [m.externalId, m.recordId, m.rule]),
        [
          ['guid-st', ids.get('guid-st'), 'external_id'],
          ['5001', ids.get('guid-su'), 'article'],
        ],
      );
      assert.equal(await count(store, 'product'), 2);
    } finally {
      await store.close();
    }
  });
});
