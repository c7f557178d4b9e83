import assert from 'node:assert/strict';
import { test } from 'node:test';
import { duplicatesReport, formatDuplicatesReport } from '../src/matching/duplicates.ts';
import { findMatch } from '../src/matching/find.ts';
import { holdMissingValue, holdPossibleDuplicate, listHolds, resolveHold } from '../src/matching/holds.ts';
import { indexMatchKeys, indexMatchKeysBatch } from '../src/matching/index-keys.ts';
import type { Store } from '../src/store/store.ts';
import { forEachDialect } from './support/stores.ts';

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);

/** Puts a record in the hub the way ingest does (record, link, match keys). */
async function addRecord(
  store: Store,
  entity: string,
  id: string,
  data: Record<string, unknown>,
  links: Record<string, string> = {},
): Promise<void> {
  await store.tx(async (trx) => {
    await trx
      .insertInto('records')
      .values({
        entity,
        id,
        version: 1,
        hash: `h-${id}`,
        data: JSON.stringify(data),
        origin: Object.keys(links)[0] ?? 'onec',
        deleted: 0,
        source_updated_at: null,
        created_at: T0,
        updated_at: T0,
      })
      .execute();
    for (const [system, externalId] of Object.entries(links)) {
      await trx
        .insertInto('links')
        .values({ entity, record_id: id, system, external_id: externalId, last_hash: null, updated_at: T0 })
        .execute();
    }
    await indexMatchKeys(trx, entity, id, data);
  });
}

forEachDialect('matching', (db) => {
  test('counterparties: INN+KPP first, then e-mail, then phone across formats', async () => {
    const store = await db().open();
    try {
      await addRecord(store, 'counterparty', 'c-romashka', {
        name: 'ООО Ромашка',
        inn: '7707083893',
        kpp: '773601001',
      });
      await addRecord(store, 'counterparty', 'c-ivanov', {
        name: 'Иванов И.И.',
        emails: ['Ivanov@Mail.ru'],
        phones: ['8 (912) 345-67-89'],
      });
      const cases: Array<[Record<string, unknown>, unknown]> = [
        [
          { name: 'Ромашка', inn: '7707 083 893', kpp: '773601001' },
          { kind: 'one', recordId: 'c-romashka', rule: 'inn_kpp', key: '7707083893/773601001' },
        ],
        [
          { name: 'x', emails: [' ivanov@mail.RU'] },
          { kind: 'one', recordId: 'c-ivanov', rule: 'email', key: 'ivanov@mail.ru' },
        ],
        [
          { name: 'x', phones: ['+7 912 345 67 89'] },
          { kind: 'one', recordId: 'c-ivanov', rule: 'phone', key: '+79123456789' },
        ],
        [
          { name: 'x', phones: ['89123456789'] },
          { kind: 'one', recordId: 'c-ivanov', rule: 'phone', key: '+79123456789' },
        ],
        [
          { name: 'x', phones: ['(912) 345-67-89 доб. 5'] },
          { kind: 'one', recordId: 'c-ivanov', rule: 'phone', key: '+79123456789' },
        ],
        [{ name: 'x', phones: ['+7 912 000 00 00'], emails: ['other@mail.ru'] }, { kind: 'none' }],
        // A different branch (KPP) of the same company is a different counterparty.
        [{ name: 'x', inn: '7707083893', kpp: '771001001' }, { kind: 'none' }],
      ];
      for (const [data, expected] of cases) {
        assert.deepEqual(await findMatch(store, 'counterparty', data), expected, JSON.stringify(data));
      }
    } finally {
      await store.close();
    }
  });

  test('a candidate with another INN is not a match by e-mail (shared accountant)', async () => {
    const store = await db().open();
    try {
      await addRecord(store, 'counterparty', 'c-a', {
        name: 'A',
        inn: '7707083893',
        emails: ['buh@firm.ru'],
      });
      assert.deepEqual(
        await findMatch(store, 'counterparty', { name: 'B', inn: '7736050003', emails: ['buh@firm.ru'] }),
        {
          kind: 'none',
        },
      );
      // Without an INN of its own the e-mail still matches.
      const found = await findMatch(store, 'counterparty', { name: 'B', emails: ['buh@firm.ru'] });
      assert.equal(found.kind, 'one');
    } finally {
      await store.close();
    }
  });

  test('ambiguous matches list the candidates and are held, never guessed; exclude skips a record', async () => {
    const store = await db().open();
    try {
      await addRecord(
        store,
        'counterparty',
        'c-1',
        { name: 'Петров (опт)', phones: ['+79123456789'] },
        { b24: 'C_1' },
      );
      await addRecord(
        store,
        'counterparty',
        'c-2',
        { name: 'Петров (розница)', phones: ['8 912 345-67-89'] },
        { b24: 'C_2' },
      );
      const result = await findMatch(store, 'counterparty', {
        name: 'Петров',
        phones: ['+7 (912) 345-67-89'],
      });
      assert.deepEqual(result, {
        kind: 'ambiguous',
        rule: 'phone',
        candidates: [
          { recordId: 'c-1', rule: 'phone', key: '+79123456789', name: 'Петров (опт)' },
          { recordId: 'c-2', rule: 'phone', key: '+79123456789', name: 'Петров (розница)' },
        ],
      });
      assert.deepEqual(
        await findMatch(store, 'counterparty', { name: 'x', phones: ['89123456789'] }, { exclude: ['c-2'] }),
        {
          kind: 'one',
          recordId: 'c-1',
          rule: 'phone',
          key: '+79123456789',
        },
      );
    } finally {
      await store.close();
    }
  });

  test('products: 1C Ид / XML_ID first, then article, then barcode; rule order is configurable', async () => {
    const store = await db().open();
    try {
      await addRecord(
        store,
        'product',
        'p-1',
        { name: 'Стол', article: 'ST-1', barcodes: ['4600000000017'] },
        { onec: 'guid-st' },
      );
      await addRecord(
        store,
        'product',
        'p-2',
        { name: 'Стул', article: 'SU-1', barcodes: ['4600000000024'] },
        { onec: 'guid-su' },
      );
      assert.deepEqual(
        await findMatch(store, 'product', { name: 'x', article: 'SU-1' }, { externalIds: ['guid-st'] }),
        { kind: 'one', recordId: 'p-1', rule: 'external_id', key: 'guid-st' },
      );
      assert.deepEqual(await findMatch(store, 'product', { name: 'x', article: ' su-1 ' }), {
        kind: 'one',
        recordId: 'p-2',
        rule: 'article',
        key: 'SU-1',
      });
      assert.deepEqual(await findMatch(store, 'product', { name: 'x', barcodes: ['4600000000017'] }), {
        kind: 'one',
        recordId: 'p-1',
        rule: 'barcode',
        key: '4600000000017',
      });
      assert.deepEqual(
        await findMatch(
          store,
          'product',
          { name: 'x', article: 'SU-1', barcodes: ['4600000000017'] },
          { rules: ['barcode', 'article'] },
        ),
        { kind: 'one', recordId: 'p-1', rule: 'barcode', key: '4600000000017' },
      );
    } finally {
      await store.close();
    }
  });

  test('re-indexing replaces keys; a deleted record matches nothing', async () => {
    const store = await db().open();
    try {
      await addRecord(store, 'counterparty', 'c-1', { name: 'A', phones: ['+79120000001'] });
      await store.tx((trx) =>
        indexMatchKeys(trx, 'counterparty', 'c-1', { name: 'A', phones: ['+79120000002'] }),
      );
      assert.equal((await findMatch(store, 'counterparty', { phones: ['+79120000001'] })).kind, 'none');
      assert.equal((await findMatch(store, 'counterparty', { phones: ['+79120000002'] })).kind, 'one');
      await store.tx((trx) =>
        indexMatchKeysBatch(trx, 'counterparty', [{ recordId: 'c-1', data: undefined, deleted: true }]),
      );
      assert.equal((await findMatch(store, 'counterparty', { phones: ['+79120000002'] })).kind, 'none');
    } finally {
      await store.close();
    }
  });

  test('a possible duplicate is held once, refreshed, and resolved by linking to a candidate', async () => {
    const store = await db().open();
    try {
      await addRecord(store, 'counterparty', 'c-1', { name: 'Петров (опт)', phones: ['+79123456789'] });
      await addRecord(store, 'counterparty', 'c-2', { name: 'Петров (розница)', phones: ['+79123456789'] });
      const data = { name: 'Петров', phones: ['8 912 345 67 89'] };
      const match = await findMatch(store, 'counterparty', data);
      assert.equal(match.kind, 'ambiguous');
      const candidates = match.kind === 'ambiguous' ? match.candidates : [];
      const first = await holdPossibleDuplicate(
        store,
        { entity: 'counterparty', system: 'b24', externalId: 'C_9', data, candidates },
        T0,
      );
      const again = await holdPossibleDuplicate(
        store,
        { entity: 'counterparty', system: 'b24', externalId: 'C_9', data, candidates },
        T0 + 1,
      );
      assert.equal(again.id, first.id, 'the same object is held once');
      assert.match(
        first.message,
        /counterparty C_9 from b24 matches 2 existing objects by phone: Петров \(опт\) \(c-1, phone \+79123456789\); Петров \(розница\)/,
      );
      const open = await listHolds(store);
      assert.equal(open.total, 1);
      assert.deepEqual(
        open.items[0]!.candidates.map((c) => c.recordId),
        ['c-1', 'c-2'],
      );

      const resolved = await resolveHold(store, first.id, { link: 'c-2' }, 'user:anna', T0 + 5);
      assert.equal(resolved.state, 'resolved');
      assert.deepEqual(resolved.resolution, { link: 'c-2' });
      const link = await store.db
        .selectFrom('links')
        .select('record_id')
        .where('entity', '=', 'counterparty')
        .where('system', '=', 'b24')
        .where('external_id', '=', 'C_9')
        .executeTakeFirstOrThrow();
      assert.equal(link.record_id, 'c-2', 'the next read of C_9 goes straight to c-2');
      assert.equal((await listHolds(store)).total, 0);
      assert.equal((await listHolds(store, { state: 'resolved' })).items[0]!.resolvedBy, 'user:anna');
      await assert.rejects(resolveHold(store, first.id, { create: true }, 'x'), /already resolved/);
    } finally {
      await store.close();
    }
  });

  test('resolving with create reserves a new hub id; bad decisions are refused with the reason', async () => {
    const store = await db().open();
    try {
      await addRecord(store, 'counterparty', 'c-1', { name: 'A', phones: ['+79123456789'] }, { b24: 'C_1' });
      const hold = await holdPossibleDuplicate(store, {
        entity: 'counterparty',
        system: 'b24',
        externalId: 'C_7',
        data: { name: 'A2' },
        candidates: [{ recordId: 'c-1', rule: 'phone', key: '+79123456789', name: 'A' }],
      });
      await assert.rejects(
        resolveHold(store, hold.id, { link: 'nope' }, 'x'),
        /counterparty nope does not exist/,
      );
      await assert.rejects(resolveHold(store, hold.id, { link: 'c-1' }, 'x'), /already linked to C_1 in b24/);
      await assert.rejects(
        resolveHold(store, hold.id, { retry: true }, 'x'),
        /possible duplicate; resolve it with/,
      );
      await assert.rejects(resolveHold(store, 999, { create: true }, 'x'), /hold 999 does not exist/);
      const done = await resolveHold(store, hold.id, { create: true }, 'cli');
      assert.ok(done.resolution && 'create' in done.resolution);
      const recordId = (done.resolution as { recordId: string }).recordId;
      const link = await store.db
        .selectFrom('links')
        .select('record_id')
        .where('system', '=', 'b24')
        .where('external_id', '=', 'C_7')
        .executeTakeFirstOrThrow();
      assert.equal(link.record_id, recordId);
      assert.notEqual(recordId, 'c-1');
    } finally {
      await store.close();
    }
  });

  test('missing-value holds: one per route, record and field; resolved by retry', async () => {
    const store = await db().open();
    try {
      const item = {
        entity: 'product',
        route: 'retail-products',
        recordId: 'p-1',
        field: 'COLOR',
        value: 'красный',
        message: 'значение «красный» отсутствует в справочнике «Цвет» системы 1C:Розница',
      };
      const a = await holdMissingValue(store, item);
      const b = await holdMissingValue(store, item);
      assert.equal(a.id, b.id);
      assert.equal((await listHolds(store, { kind: 'missing_value' })).items[0]!.message, item.message);
      await assert.rejects(resolveHold(store, a.id, { create: true }, 'x'), /waits for a reference value/);
      assert.equal((await resolveHold(store, a.id, { retry: true }, 'x')).state, 'resolved');
    } finally {
      await store.close();
    }
  });

  test('duplicates report: groups sharing INN / phone / e-mail, with their ids in a system', async () => {
    const store = await db().open();
    try {
      await addRecord(
        store,
        'counterparty',
        'c-1',
        { name: 'Ромашка', inn: '7707083893', phones: ['+79123456789'] },
        { b24: 'C_1' },
      );
      await addRecord(
        store,
        'counterparty',
        'c-2',
        { name: 'Ромашка ООО', inn: '7707083893', emails: ['a@b.ru'] },
        { b24: 'C_2' },
      );
      await addRecord(
        store,
        'counterparty',
        'c-3',
        { name: 'Ivanov', phones: ['8 912 345 67 89'], emails: ['A@b.ru'] },
        { onec: 'g-3' },
      );
      await addRecord(
        store,
        'counterparty',
        'c-4',
        { name: 'Unique', phones: ['+79990000000'] },
        { b24: 'C_4' },
      );

      const all = await duplicatesReport(store, { entity: 'counterparty' });
      assert.deepEqual(
        all.groups.map((g) => [g.rule, g.key, g.records.map((r) => r.recordId)]),
        [
          ['email', 'a@b.ru', ['c-2', 'c-3']],
          ['inn_kpp', '7707083893', ['c-1', 'c-2']],
          ['phone', '+79123456789', ['c-1', 'c-3']],
        ],
      );
      assert.deepEqual(all.groups[1]!.records[0], {
        recordId: 'c-1',
        name: 'Ромашка',
        externalIds: ['b24:C_1'],
      });

      const inB24 = await duplicatesReport(store, { entity: 'counterparty', system: 'b24' });
      assert.deepEqual(
        inB24.groups.map((g) => [g.rule, g.records.map((r) => `${r.recordId}=${r.externalIds.join(',')}`)]),
        [['inn_kpp', ['c-1=C_1', 'c-2=C_2']]],
      );
      const text = formatDuplicatesReport(inB24);
      assert.match(text, /Likely duplicate counterparty objects in b24: 1 groups/);
      assert.match(text, /INN\/KPP 7707083893 — 2 objects:\n {2}c-1 {2}Ромашка {2}\[C_1\]/);
      assert.equal(
        formatDuplicatesReport(await duplicatesReport(store, { entity: 'product' })),
        'No likely duplicate product objects.',
      );
      const limited = await duplicatesReport(store, { entity: 'counterparty', limit: 1 });
      assert.equal(limited.groups.length, 1);
      assert.equal(limited.truncated, true);
    } finally {
      await store.close();
    }
  });
});
