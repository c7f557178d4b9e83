import assert from 'node:assert/strict';
import { afterEach, beforeEach, test } from 'node:test';
import { sql } from 'kysely';
import { executeBulk } from '../src/engine/bulk.ts';
import { recordDeliveredLinks, upsertLinks } from '../src/engine/links.ts';
import { claimRows, completeRows, markPending, releaseRows } from '../src/engine/outbox.ts';
import type { Store } from '../src/store/store.ts';
import { forEachDialect } from './support/stores.ts';

const NOW = Date.UTC(2026, 10, 22, 10, 0, 0);
const ROUTE = 'products-to-site';

forEachDialect('outbox and links operations', (db) => {
  let store: Store;

  beforeEach(async () => {
    store = await db().open();
  });
  afterEach(async () => {
    await store.close();
  });

  const mark = (ids: string[], dueAt = NOW) =>
    store.tx((trx) =>
      markPending(
        trx,
        store.caps,
        ids.map((id) => ({ route: ROUTE, recordId: id, entity: 'product', version: 1, dueAt })),
        NOW,
      ),
    );
  const rows = () =>
    store.db
      .selectFrom('outbox')
      .select([
        'record_id',
        'state',
        'attempts',
        'next_attempt_at',
        'lease_owner',
        'last_error',
        'last_error_class',
        'waiting_for',
        'delivered_hash',
        'delivered_version',
      ])
      .where('route', '=', ROUTE)
      .orderBy('record_id')
      .execute();

  test('claims expired leases first, then waiting rows due, then pending rows due, up to the limit', async () => {
    await mark(['a-pending', 'b-pending', 'c-later'], NOW);
    await store.db
      .updateTable('outbox')
      .set({ next_attempt_at: NOW + 60_000 })
      .where('record_id', '=', 'c-later')
      .execute();
    // Due first among the pending rows.
    await store.db
      .updateTable('outbox')
      .set({ next_attempt_at: NOW - 10 })
      .where('record_id', '=', 'a-pending')
      .execute();
    await mark(['d-waiting', 'e-expired', 'f-held']);
    await store.db
      .updateTable('outbox')
      .set({ state: 'waiting', next_attempt_at: NOW - 1 })
      .where('record_id', '=', 'd-waiting')
      .execute();
    await store.db
      .updateTable('outbox')
      .set({ state: 'in_flight', lease_owner: 'dead', lease_expires_at: NOW - 1, attempts: 1 })
      .where('record_id', '=', 'e-expired')
      .execute();
    await store.db
      .updateTable('outbox')
      .set({ state: 'in_flight', lease_owner: 'alive', lease_expires_at: NOW + 30_000 })
      .where('record_id', '=', 'f-held')
      .execute();

    // With room for three of the five due rows, the expired lease and the waiting row go
    // before pending work (the returned order is not part of the contract).
    const first = await claimRows(store, ROUTE, 'me', 3, 30_000, NOW);
    assert.deepEqual(first.map((r) => [r.recordId, r.recovered, r.attempts]).sort(), [
      ['a-pending', false, 0],
      ['d-waiting', false, 0],
      ['e-expired', true, 2],
    ]);
    const rest = await claimRows(store, ROUTE, 'me', 10, 30_000, NOW);
    assert.deepEqual(
      rest.map((r) => r.recordId),
      ['b-pending'],
      'not the row due later, not the row under a live lease',
    );
    assert.deepEqual(await claimRows(store, ROUTE, 'other', 10, 30_000, NOW), []);
  });

  test('records delivered, retry, failed and waiting outcomes in one call; others’ leases stay', async () => {
    await mark(['r1', 'r2', 'r3', 'r4', 'r5']);
    await claimRows(store, ROUTE, 'me', 4, 30_000, NOW);
    await claimRows(store, ROUTE, 'other', 1, 30_000, NOW); // r5
    await store.tx((trx) =>
      completeRows(
        trx,
        ROUTE,
        'me',
        [
          { kind: 'delivered', recordId: 'r1', hash: 'h-1', version: 1 },
          {
            kind: 'retry',
            recordId: 'r2',
            attempts: 2,
            nextAttemptAt: NOW + 5_000,
            error: 'timeout',
            errorClass: 'transient',
          },
          { kind: 'failed', recordId: 'r3', attempts: 3, error: 'bad "name"', errorClass: 'permanent' },
          {
            kind: 'waiting',
            recordId: 'r4',
            waitingFor: ['counterparty:c1'],
            recheckAt: NOW + 30_000,
            message: 'waiting until counterparty c1 is delivered',
          },
          // Not leased by 'me': must not change.
          { kind: 'delivered', recordId: 'r5', hash: 'h-5', version: 1 },
        ],
        NOW + 1,
      ),
    );
    const [r1, r2, r3, r4, r5] = await rows();
    assert.deepEqual(
      [r1!.state, r1!.delivered_hash, r1!.delivered_version, r1!.lease_owner],
      ['delivered', 'h-1', 1, null],
    );
    assert.deepEqual(
      [r2!.state, r2!.attempts, r2!.next_attempt_at, r2!.last_error, r2!.last_error_class],
      ['pending', 2, NOW + 5_000, 'timeout', 'transient'],
    );
    assert.deepEqual([r3!.state, r3!.attempts, r3!.last_error], ['failed', 3, 'bad "name"']);
    assert.deepEqual(
      [r4!.state, r4!.next_attempt_at, r4!.waiting_for, r4!.last_error_class],
      ['waiting', NOW + 30_000, '["counterparty:c1"]', null],
    );
    assert.deepEqual([r5!.state, r5!.lease_owner, r5!.delivered_hash], ['in_flight', 'other', null]);
  });

  test('a newer version marked during the lease sends the row back to pending on delivery', async () => {
    await mark(['r1']);
    await claimRows(store, ROUTE, 'me', 1, 30_000, NOW);
    await store.tx((trx) =>
      markPending(
        trx,
        store.caps,
        [{ route: ROUTE, recordId: 'r1', entity: 'product', version: 2, dueAt: NOW }],
        NOW,
      ),
    );
    await store.tx((trx) =>
      completeRows(trx, ROUTE, 'me', [{ kind: 'delivered', recordId: 'r1', hash: 'h', version: 1 }], NOW),
    );
    const [r1] = await rows();
    assert.deepEqual([r1!.state, r1!.delivered_version], ['pending', 1]);
  });

  test('released leases are due again at once, without counting an attempt', async () => {
    await mark(['r1', 'r2']);
    const claimed = await claimRows(store, ROUTE, 'me', 2, 30_000, NOW);
    await releaseRows(store, ROUTE, 'other', ['r1'], NOW); // not its lease: nothing happens
    assert.equal((await rows())[0]!.state, 'in_flight');
    await releaseRows(
      store,
      ROUTE,
      'me',
      claimed.map((r) => r.recordId),
      NOW + 1,
    );
    assert.deepEqual(
      (await rows()).map((r) => [r.state, r.attempts, r.lease_owner]),
      [
        ['pending', 0, null],
        ['pending', 0, null],
      ],
    );
    assert.equal((await claimRows(store, ROUTE, 'other', 5, 30_000, NOW + 1)).length, 2);
  });

  test('delivered links: duplicates refused, re-created objects relinked, unknown hash kept', async () => {
    const scope = { entity: 'product', system: 'site' };
    await store.tx((trx) =>
      upsertLinks(trx, store.caps, scope, [{ recordId: 'hub-1', externalId: '100', hash: 'h1' }], NOW),
    );
    const conflicts = await store.tx((trx) =>
      recordDeliveredLinks(
        trx,
        store,
        scope,
        [
          { recordId: 'hub-2', externalId: '100', hash: 'h2' }, // 100 belongs to hub-1
          { recordId: 'hub-3', externalId: '300', hash: 'h3' },
          { recordId: 'hub-4', externalId: '300', hash: 'h4' }, // same answer twice in one batch
          { recordId: 'hub-1', externalId: '101' }, // hub-1 re-created under a new id, hash unknown
        ],
        NOW,
      ),
    );
    assert.deepEqual([...conflicts.keys()].sort(), ['hub-2', 'hub-4']);
    assert.match(
      conflicts.get('hub-2')!,
      /site answered with id 100, which already belongs to product hub-1/,
    );
    const links = await store.db
      .selectFrom('links')
      .select(['record_id', 'external_id', 'last_hash'])
      .where('system', '=', 'site')
      .orderBy('record_id')
      .execute();
    assert.deepEqual(links, [
      { record_id: 'hub-1', external_id: '101', last_hash: null },
      { record_id: 'hub-3', external_id: '300', last_hash: 'h3' },
    ]);
    // Confirming an existing link without a hash keeps the hash it had.
    await store.tx((trx) =>
      recordDeliveredLinks(trx, store, scope, [{ recordId: 'hub-3', externalId: '300' }], NOW),
    );
    const kept = await store.db
      .selectFrom('links')
      .select('last_hash')
      .where('record_id', '=', 'hub-3')
      .executeTakeFirstOrThrow();
    assert.equal(kept.last_hash, 'h3');
  });

  test('bulk inserts store every value exactly, for any row count, cached or not', async () => {
    const tricky = [
      '',
      'кавычки "двойные"',
      "одинарные 'x'",
      'back\\slash',
      'line\nbreak',
      '{"json":[1]}',
      '😀',
    ];
    for (const size of [3, 3, 7, 7, 1]) {
      const batch = Array.from({ length: size }, (_, i) => ({
        source: `s-${size}-${i}-${Math.random()}`,
        value: tricky[i % tricky.length]!,
        updated_at: NOW + i,
      }));
      await store.tx((trx) =>
        executeBulk(
          trx,
          store.caps,
          'test.cursors',
          { source: 'text', value: 'text', updated_at: 'bigint' },
          batch,
          (values) =>
            trx
              .insertInto('cursors')
              .values(values)
              .onConflict((oc) => oc.column('source').doUpdateSet({ value: sql`excluded.value` })),
        ),
      );
      const stored = await store.db
        .selectFrom('cursors')
        .select(['source', 'value', 'updated_at'])
        .where(
          'source',
          'in',
          batch.map((b) => b.source),
        )
        .execute();
      const bySource = new Map(stored.map((row) => [row.source, row]));
      for (const row of batch) assert.deepEqual(bySource.get(row.source), row);
    }
  });
});
