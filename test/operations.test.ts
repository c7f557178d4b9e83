import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { ObmenError } from '../src/core/errors.ts';
import { replayRoute, retryFailures } from '../src/engine/operations.ts';
import { claimRows, completeRows } from '../src/engine/outbox.ts';
import type { OutboxTable } from '../src/store/schema.ts';
import type { Store } from '../src/store/store.ts';
import { forEachDialect } from './support/stores.ts';

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const NOW = T0 + 3_600_000;

async function addRecord(
  store: Store,
  entity: string,
  id: string,
  version: number,
  deleted = 0,
): Promise<void> {
  await store.db
    .insertInto('records')
    .values({
      entity,
      id,
      version,
      hash: `h-${id}-${version}`,
      data: JSON.stringify({ name: `name ${id}` }),
      origin: 'onec',
      deleted,
      source_updated_at: null,
      created_at: T0,
      updated_at: T0,
    })
    .execute();
}

async function addOutbox(store: Store, row: Partial<OutboxTable> & { route: string; record_id: string }) {
  await store.db
    .insertInto('outbox')
    .values({
      entity: 'product',
      state: 'pending',
      want_version: 1,
      attempts: 0,
      next_attempt_at: T0,
      lease_owner: null,
      lease_expires_at: null,
      lease_version: null,
      last_error: null,
      last_error_class: null,
      waiting_for: null,
      force: 0,
      delivered_hash: null,
      delivered_version: null,
      delivered_at: null,
      created_at: T0,
      updated_at: T0,
      ...row,
    })
    .execute();
}

async function outboxRows(store: Store): Promise<Map<string, OutboxTable>> {
  const rows = await store.db
    .selectFrom('outbox')
    .selectAll()
    .orderBy('route')
    .orderBy('record_id')
    .execute();
  return new Map(rows.map((r) => [`${r.route}/${r.record_id}`, r]));
}

const failed = (route: string, record_id: string, extra: Partial<OutboxTable> = {}) => ({
  route,
  record_id,
  state: 'failed' as const,
  attempts: 8,
  next_attempt_at: T0 + 999,
  last_error: `товар ${record_id}: Bitrix24 rejected field PRICE; fix the price and retry`,
  last_error_class: 'permanent',
  ...extra,
});

/** Every row not named in `changed` must be byte-for-byte what it was. */
function assertUnchanged(
  before: Map<string, OutboxTable>,
  after: Map<string, OutboxTable>,
  changed: string[],
  added = 0,
) {
  assert.equal(after.size, before.size + added, 'row count');
  for (const [key, row] of before) {
    if (!changed.includes(key)) assert.deepEqual(after.get(key), row, `${key} must not change`);
  }
}

function assertRetried(before: OutboxTable | undefined, after: OutboxTable | undefined) {
  assert.ok(before && after);
  assert.deepEqual(after, {
    ...before,
    state: 'pending',
    attempts: 0,
    next_attempt_at: NOW,
    updated_at: NOW,
  });
}

forEachDialect('outbox operations', (database) => {
  describe('retryFailures', () => {
    let store: Store;
    beforeEach(async () => {
      store = await database().open();
      await addOutbox(store, failed('b24-products', 'p1'));
      await addOutbox(store, failed('b24-products', 'p2', { last_error_class: 'config' }));
      await addOutbox(store, failed('b24-products', 'p3'));
      await addOutbox(store, { route: 'b24-products', record_id: 'p4', state: 'delivered', attempts: 1 });
      await addOutbox(store, failed('site-products', 'p1'));
      await addOutbox(store, {
        route: 'site-products',
        record_id: 'p2',
        state: 'waiting',
        waiting_for: '["x:1"]',
      });
    });
    afterEach(async () => {
      await store.close();
    });

    it('refuses an empty selector with a message saying what to give', async () => {
      const before = await outboxRows(store);
      await assert.rejects(retryFailures(store, {}, NOW), (error: unknown) => {
        assert.ok(error instanceof ObmenError);
        assert.equal(error.errorClass, 'config');
        assert.equal(error.message, 'say which failures to retry: --route, --id or --all');
        return true;
      });
      assertUnchanged(before, await outboxRows(store), []);
    });

    it('retries one failure: pending now, attempts reset, last error kept; nothing else moves', async () => {
      const before = await outboxRows(store);
      assert.deepEqual(await retryFailures(store, { route: 'b24-products', recordIds: ['p1'] }, NOW), {
        retried: 1,
      });
      const after = await outboxRows(store);
      assertRetried(before.get('b24-products/p1'), after.get('b24-products/p1'));
      assert.match(after.get('b24-products/p1')?.last_error ?? '', /rejected field PRICE/);
      assertUnchanged(before, after, ['b24-products/p1']);
    });

    it('retries many ids of a route, skipping ids that are not failed', async () => {
      const before = await outboxRows(store);
      const result = await retryFailures(
        store,
        { route: 'b24-products', recordIds: ['p2', 'p3', 'p4', 'nope'] },
        NOW,
      );
      assert.deepEqual(result, { retried: 2 });
      const after = await outboxRows(store);
      assertRetried(before.get('b24-products/p2'), after.get('b24-products/p2'));
      assertRetried(before.get('b24-products/p3'), after.get('b24-products/p3'));
      assertUnchanged(before, after, ['b24-products/p2', 'b24-products/p3']);
    });

    it('retries all failures of one route only', async () => {
      const before = await outboxRows(store);
      assert.deepEqual(await retryFailures(store, { route: 'b24-products' }, NOW), { retried: 3 });
      const after = await outboxRows(store);
      const changed = ['b24-products/p1', 'b24-products/p2', 'b24-products/p3'];
      for (const key of changed) assertRetried(before.get(key), after.get(key));
      assertUnchanged(before, after, changed);
    });

    it('retries every failure with all: true and never touches rows in other states', async () => {
      const before = await outboxRows(store);
      assert.deepEqual(await retryFailures(store, { all: true }, NOW), { retried: 4 });
      const after = await outboxRows(store);
      const changed = ['b24-products/p1', 'b24-products/p2', 'b24-products/p3', 'site-products/p1'];
      for (const key of changed) assertRetried(before.get(key), after.get(key));
      assertUnchanged(before, after, changed);
    });

    it('retries an id on every route when only ids are given; an empty id list selects nothing', async () => {
      const before = await outboxRows(store);
      assert.deepEqual(await retryFailures(store, { route: 'b24-products', recordIds: [] }, NOW), {
        retried: 0,
      });
      assertUnchanged(before, await outboxRows(store), []);
      assert.deepEqual(await retryFailures(store, { recordIds: ['p1'] }, NOW), { retried: 2 });
      assertUnchanged(before, await outboxRows(store), ['b24-products/p1', 'site-products/p1']);
    });

    it('retries thousands of listed ids in chunks, counting each once', async () => {
      const ids = Array.from({ length: 2500 }, (_, i) => `bulk-${i}`);
      // Slices keep each insert under SQLite's bound-parameter limit.
      for (let i = 0; i < ids.length; i += 500) {
        await store.db
          .insertInto('outbox')
          .values(
            ids.slice(i, i + 500).map((id) => ({
              ...failed('bulk', id),
              entity: 'product',
              want_version: 1,
              force: 0,
              created_at: T0,
              updated_at: T0,
            })),
          )
          .execute();
      }
      const result = await retryFailures(
        store,
        { route: 'bulk', recordIds: [...ids, ids[0] as string] },
        NOW,
      );
      assert.deepEqual(result, { retried: 2500 });
      const left = await store.db
        .selectFrom('outbox')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('route', '=', 'bulk')
        .where('state', '=', 'failed')
        .executeTakeFirstOrThrow();
      assert.equal(Number(left.n), 0);
    });
  });

  describe('replayRoute', () => {
    let store: Store;
    const route = { name: 'b24-products', entity: 'product' };
    beforeEach(async () => {
      store = await database().open();
      await addRecord(store, 'product', 'p1', 2);
      await addRecord(store, 'product', 'p2', 5);
      await addRecord(store, 'product', 'p3', 1);
      await addRecord(store, 'product', 'p4', 3, 1);
      await addRecord(store, 'product', 'p5', 7);
      await addRecord(store, 'counterparty', 'c1', 1);
      // p1 delivered at v1 and since changed; p2 parked; p3 absent; p4 deleted, absent;
      // p5 leased by a worker; an unrelated route holds p1 too.
      await addOutbox(store, {
        route: 'b24-products',
        record_id: 'p1',
        state: 'delivered',
        want_version: 1,
        attempts: 1,
        delivered_hash: 'h-p1-1',
        delivered_version: 1,
        delivered_at: T0,
      });
      await addOutbox(store, failed('b24-products', 'p2', { want_version: 5 }));
      await addOutbox(store, {
        route: 'b24-products',
        record_id: 'p5',
        state: 'in_flight',
        want_version: 6,
        attempts: 2,
        next_attempt_at: T0 + 5,
        lease_owner: 'worker:1:abc',
        lease_expires_at: NOW + 60_000,
        lease_version: 6,
      });
      await addOutbox(store, {
        route: 'site-products',
        record_id: 'p1',
        state: 'delivered',
        want_version: 2,
      });
    });
    afterEach(async () => {
      await store.close();
    });

    it('queues every record of the entity with force, keeping leases of rows in flight', async () => {
      const before = await outboxRows(store);
      assert.deepEqual(await replayRoute(store, route, { now: NOW }), { queued: 5 });
      const after = await outboxRows(store);
      const requeued = (key: string, want: number) => {
        const row = after.get(key);
        assert.ok(row, key);
        assert.equal(row.state, 'pending', key);
        assert.equal(row.force, 1, key);
        assert.equal(row.want_version, want, key);
        assert.equal(row.attempts, 0, key);
        assert.equal(row.next_attempt_at, NOW, key);
        assert.equal(row.updated_at, NOW, key);
        assert.equal(row.lease_owner, null, key);
        return row;
      };
      const p1 = requeued('b24-products/p1', 2);
      assert.equal(p1.delivered_version, 1, 'delivery history is kept');
      assert.equal(p1.created_at, T0);
      const p2 = requeued('b24-products/p2', 5);
      assert.match(
        p2.last_error ?? '',
        /rejected field PRICE/,
        'the last error stays until the next outcome',
      );
      for (const [id, version] of [
        ['p3', 1],
        ['p4', 3],
      ] as const) {
        const row = requeued(`b24-products/${id}`, version);
        assert.equal(row.entity, 'product');
        assert.equal(row.created_at, NOW);
        assert.equal(row.last_error, null);
      }
      assert.deepEqual(after.get('b24-products/p5'), {
        ...before.get('b24-products/p5'),
        want_version: 7,
        force: 2,
        updated_at: NOW,
      });
      assert.equal(after.size, before.size + 2);
      assert.deepEqual(after.get('site-products/p1'), before.get('site-products/p1'));
      assert.equal(
        [...after.values()].filter((r) => r.record_id === 'c1').length,
        0,
        'other entities are not queued',
      );
    });

    it('replays only the listed ids, and a waiting row becomes pending with its wait cleared', async () => {
      await store.db
        .updateTable('outbox')
        .set({ state: 'waiting', waiting_for: '["product_group:g1"]' })
        .where('route', '=', 'b24-products')
        .where('record_id', '=', 'p1')
        .execute();
      const before = await outboxRows(store);
      const result = await replayRoute(store, route, { recordIds: ['p1', 'p3', 'missing'], now: NOW });
      assert.deepEqual(result, { queued: 2 });
      const after = await outboxRows(store);
      assert.equal(after.get('b24-products/p1')?.state, 'pending');
      assert.equal(after.get('b24-products/p1')?.waiting_for, null);
      assert.equal(after.get('b24-products/p3')?.force, 1);
      assert.equal(after.has('b24-products/missing'), false);
      assertUnchanged(before, after, ['b24-products/p1', 'b24-products/p3'], 1);
      assert.deepEqual(await replayRoute(store, route, { recordIds: [], now: NOW }), { queued: 0 });
    });

    it('a replay during a lease is served after it, whatever that lease wrote, retried or skipped', async () => {
      const lease = (owner: string, at: number) =>
        claimRows(store, 'b24-products', owner, 10, 60_000, at).then((rows) =>
          rows.filter((r) => r.recordId === 'p1'),
        );
      const row = async () => (await outboxRows(store)).get('b24-products/p1')!;
      // p1 is due at its current version (2): nothing but the replay can send it twice.
      await store.db
        .updateTable('outbox')
        .set({ state: 'pending', next_attempt_at: T0, want_version: 2 })
        .where('route', '=', 'b24-products')
        .where('record_id', '=', 'p1')
        .execute();

      // Claimed without force (an ordinary delivery), replayed while in flight, then delivered.
      assert.equal((await lease('w1', NOW))[0]?.force, false);
      await replayRoute(store, route, { recordIds: ['p1'], now: NOW });
      assert.deepEqual([(await row()).state, (await row()).force], ['in_flight', 2]);
      await store.tx((trx) =>
        completeRows(
          trx,
          'b24-products',
          'w1',
          [{ kind: 'delivered', recordId: 'p1', hash: 'h', version: 2 }],
          NOW,
        ),
      );
      assert.deepEqual([(await row()).state, (await row()).force], ['pending', 1], 'written again');

      // The next lease carries the replay; a failure of it keeps the replay for the retry.
      assert.equal((await lease('w2', NOW + 1))[0]?.force, true);
      await replayRoute(store, route, { recordIds: ['p1'], now: NOW + 1 });
      await store.tx((trx) =>
        completeRows(
          trx,
          'b24-products',
          'w2',
          [
            {
              kind: 'retry',
              recordId: 'p1',
              attempts: 1,
              nextAttemptAt: NOW + 2,
              error: 'x',
              errorClass: 'transient',
            },
          ],
          NOW + 1,
        ),
      );
      assert.deepEqual([(await row()).state, (await row()).force], ['pending', 2]);
      const retried = await lease('w3', NOW + 2);
      assert.equal(retried[0]?.force, true);
      assert.equal((await row()).force, 1, 'the new lease serves the replay');
      await store.tx((trx) =>
        completeRows(
          trx,
          'b24-products',
          'w3',
          [{ kind: 'delivered', recordId: 'p1', hash: 'h', version: 2 }],
          NOW + 2,
        ),
      );
      assert.deepEqual([(await row()).state, (await row()).force], ['delivered', 0], 'and once is enough');
    });

    it('is repeatable: a second replay updates the same rows and creates none', async () => {
      await replayRoute(store, route, { now: NOW });
      const first = await outboxRows(store);
      assert.deepEqual(await replayRoute(store, route, { now: NOW + 1 }), { queued: 5 });
      const second = await outboxRows(store);
      assert.equal(second.size, first.size);
      assert.equal(second.get('b24-products/p3')?.updated_at, NOW + 1);
      assert.equal(second.get('b24-products/p3')?.created_at, NOW);
    });
  });
});
