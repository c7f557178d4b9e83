import assert from 'node:assert/strict';
import { afterEach, beforeEach, test } from 'node:test';
import { type HttpTarget, startHttpTarget } from '../emulators/http-target/index.ts';
import { ManualClock } from '../src/core/clock.ts';
import { replayRoute, retryFailures } from '../src/engine/operations.ts';
import { claimRows } from '../src/engine/outbox.ts';
import type { Store } from '../src/store/store.ts';
import { createTestHub, hubConfig, product, type TestHub } from './support/hub.ts';
import { forEachDialect } from './support/stores.ts';

forEachDialect('engine delivery over HTTP', (db) => {
  let target: HttpTarget;
  let store: Store;
  let hub: TestHub;
  let clock: ManualClock;

  beforeEach(async () => {
    target = await startHttpTarget();
    store = await db().open();
    clock = new ManualClock(Date.UTC(2026, 10, 22, 10, 0, 0));
    hub = await createTestHub(
      store,
      hubConfig({
        systems: {
          onec: { kind: 'http', url: target.url },
          site: { kind: 'http', url: target.url },
        },
        routes: [
          { name: 'products-to-site', entity: 'product', target: 'site', batchSize: 50 },
          { name: 'customers-to-site', entity: 'counterparty', target: 'site' },
          { name: 'orders-to-site', entity: 'order', target: 'site' },
        ],
      }),
      { clock },
    );
  });
  afterEach(async () => {
    await target.close();
    await hub.close();
    await store.close();
  });

  const writesOf = (id: string) => {
    for (const held of target.objects('product').values())
      if ((held.data as { article?: string }).article === `A-${id}`) return held;
    return undefined;
  };

  test('ten updates before delivery become one write of the latest state', async () => {
    const before = target.stats().writes;
    for (let i = 1; i <= 10; i++) await hub.ingest('onec', 'product', [product('p1', `Чайник v${i}`)]);
    const rows = await hub.outbox('products-to-site');
    assert.equal(rows.length, 1, 'one outbox row per route and object');
    const totals = await hub.deliver('products-to-site');
    assert.equal(totals.delivered, 1);
    assert.equal(target.stats().writes - before, 1);
    assert.equal((writesOf('p1')!.data as { name: string }).name, 'Чайник v10');
    const record = await store.db.selectFrom('records').select(['version']).executeTakeFirstOrThrow();
    assert.equal(record.version, 10);
  });

  test('re-ingesting unchanged data makes no version and no write', async () => {
    const items = Array.from({ length: 120 }, (_, i) => product(`p${i}`, `Товар ${i}`));
    const first = await hub.ingest('onec', 'product', items);
    assert.equal(first.created, 120);
    await hub.deliver('products-to-site');
    const writes = target.stats().writes;
    const again = await hub.ingest(
      'onec',
      'product',
      items.map((item) => ({ ...item, data: { ...item.data } })),
    );
    assert.equal(again.unchanged, 120);
    assert.equal(again.created + again.updated, 0);
    const totals = await hub.deliver('products-to-site');
    assert.equal(totals.claimed, 0);
    assert.equal(target.stats().writes, writes);
    const history = await store.db
      .selectFrom('record_history')
      .select(({ fn }) => fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    assert.equal(Number(history.n), 0, 'no version replaced: history (past versions only) is empty');
    const versions = await store.db
      .selectFrom('records')
      .select('version')
      .where('version', '>', 1)
      .execute();
    assert.equal(versions.length, 0);
  });

  test('a newer version arriving during delivery is delivered after it, never before', async () => {
    await hub.ingest('onec', 'product', [product('p1', 'v1')]);
    // Another worker holds the lease while the new version arrives.
    const claimed = await claimRows(store, 'products-to-site', 'other-worker', 10, 60_000, clock.now());
    assert.equal(claimed.length, 1);
    await hub.ingest('onec', 'product', [product('p1', 'v2')]);
    const row = (await hub.outbox('products-to-site'))[0]!;
    assert.equal(row.state, 'in_flight', 'the lease is not broken by a new version');
    assert.equal(
      (await hub.deliver('products-to-site')).claimed,
      0,
      'no second delivery while one is in flight',
    );
    clock.advance(61_000); // the other worker died: its lease expires
    const totals = await hub.deliver('products-to-site');
    assert.equal(totals.delivered, 1);
    assert.equal((writesOf('p1')!.data as { name: string }).name, 'v2');
    assert.equal(target.stats().stale, 0);
  });

  test('one bad item of a batch is parked with the target message; the rest is delivered', async () => {
    target.setFaults({
      rejectWhen: (item) =>
        String(item.data.name).includes('плохой') ? 'name contains a forbidden word' : undefined,
    });
    const items = Array.from({ length: 10 }, (_, i) =>
      product(`p${i}`, i === 3 || i === 7 ? `плохой ${i}` : `ok ${i}`),
    );
    await hub.ingest('onec', 'product', items);
    const totals = await hub.deliver('products-to-site');
    assert.equal(totals.delivered, 8);
    assert.equal(totals.failed, 2);
    const failed = (await hub.outbox('products-to-site')).filter((r) => r.state === 'failed');
    assert.equal(failed.length, 2);
    for (const row of failed) {
      assert.match(row.last_error!, /forbidden word/);
      assert.equal(row.last_error_class, 'permanent');
    }
  });

  test('a transient failure is retried after backoff and then delivered', async () => {
    // The shared client retries an idempotent write 3 times itself; the 4th failure reaches the engine.
    target.setFaults({ failNextRequests: 4 });
    await hub.ingest('onec', 'product', [product('p1', 'x'), product('p2', 'y')]);
    const first = await hub.deliver('products-to-site');
    assert.equal(first.retried, 2);
    const rows = await hub.outbox('products-to-site');
    assert.ok(
      rows.every((r) => r.state === 'pending' && r.attempts === 1 && r.next_attempt_at > clock.now()),
    );
    const logged = await store.db.selectFrom('request_log').select('status').execute();
    assert.deepEqual(
      logged.map((r) => r.status),
      [503, 503, 503, 503],
      'every attempt is in the request log',
    );
    assert.equal((await hub.deliver('products-to-site')).claimed, 0, 'not before the backoff');
    clock.advance(60_000);
    const second = await hub.deliver('products-to-site');
    assert.equal(second.delivered, 2);
  });

  test('a rate-limited answer waits as told and does not count as an attempt', async () => {
    target.setFaults({ rateLimit: { perSecond: 0.001, burst: 0 } });
    await hub.ingest('onec', 'product', [product('p1', 'x')]);
    const first = await hub.deliver('products-to-site');
    assert.equal(first.retried, 1);
    const row = (await hub.outbox('products-to-site'))[0]!;
    assert.equal(row.attempts, 0);
    assert.equal(row.last_error_class, 'rate_limited');
    target.setFaults({ rateLimit: undefined });
    clock.advance(3_600_000);
    assert.equal((await hub.deliver('products-to-site')).delivered, 1);
  });

  test('exhausted attempts park the row; a manual retry delivers it', async () => {
    target.setFaults({ failNextRequests: 100 });
    await hub.ingest('onec', 'product', [product('p1', 'x')]);
    for (let i = 0; i < 3; i++) {
      await hub.deliver('products-to-site');
      clock.advance(60_000);
    }
    const row = (await hub.outbox('products-to-site'))[0]!;
    assert.equal(row.state, 'failed');
    assert.match(row.last_error!, /gave up after 3 attempts/);
    target.setFaults({ failNextRequests: 0 });
    const retried = await retryFailures(store, { route: 'products-to-site' }, clock.now());
    assert.equal(retried.retried, 1);
    assert.equal((await hub.deliver('products-to-site')).delivered, 1);
  });

  test('an order waits for its customer and products, which are then delivered first', async () => {
    const order = {
      externalId: 'o1',
      data: {
        number: 'ЗК-001',
        date: '2026-11-20T10:00:00Z',
        customerId: 'c1',
        currency: 'RUB',
        status: 'new',
        lines: [{ productId: 'p1', quantity: 2, price: 100, amount: 200 }],
        totals: { amount: 200 },
      },
    };
    await hub.ingest('onec', 'order', [order]);
    const waiting = await hub.deliver('orders-to-site');
    assert.equal(waiting.waiting, 1);
    const row = (await hub.outbox('orders-to-site'))[0]!;
    assert.equal(row.state, 'waiting');
    assert.match(row.last_error!, /counterparty .* product|product .* counterparty/);

    await hub.ingest('onec', 'counterparty', [
      { externalId: 'c1', data: { kind: 'company', name: 'ООО Ромашка', inn: '7707083893' } },
    ]);
    await hub.ingest('onec', 'product', [product('p1', 'Чайник')]);
    await hub.deliver('customers-to-site');
    await hub.deliver('products-to-site');
    const after = await hub.deliver('orders-to-site');
    assert.equal(after.delivered, 1);
    const held = [...target.objects('order').values()][0]!;
    const customer = [...target.objects('counterparty').values()][0]!;
    const item = writesOf('p1')!;
    const data = held.data as { customerId: string; lines: Array<{ productId: string }> };
    assert.equal(data.customerId, customer.externalId, 'references carry the target ids');
    assert.equal(data.lines[0]!.productId, item.externalId);
  });

  test('a missing dependency is queued on its own route automatically', async () => {
    await hub.ingest('onec', 'counterparty', [
      { externalId: 'c9', data: { kind: 'person', name: 'Иванов' } },
    ]);
    await hub.ingest('onec', 'product', [product('p9', 'Утюг')]);
    await store.db.deleteFrom('outbox').execute(); // as if those routes were added later
    await hub.ingest('onec', 'order', [
      {
        externalId: 'o9',
        data: {
          number: '9',
          date: '2026-11-20',
          customerId: 'c9',
          lines: [{ productId: 'p9', quantity: 1, price: 5, amount: 5 }],
          totals: { amount: 5 },
        },
      },
    ]);
    assert.equal((await hub.deliver('orders-to-site')).waiting, 1);
    assert.equal((await hub.outbox('customers-to-site')).length, 1, 'customer queued');
    assert.equal((await hub.outbox('products-to-site')).length, 1, 'product queued');
    await hub.deliver('customers-to-site');
    await hub.deliver('products-to-site');
    assert.equal((await hub.deliver('orders-to-site')).delivered, 1);
  });

  test('replay resends every object of the entity, even unchanged ones', async () => {
    await hub.ingest('onec', 'product', [product('p1', 'a'), product('p2', 'b'), product('p3', 'c')]);
    await hub.deliver('products-to-site');
    const writes = target.stats().writes;
    assert.equal((await hub.deliver('products-to-site')).claimed, 0);
    const replay = await replayRoute(
      store,
      { name: 'products-to-site', entity: 'product' },
      { now: clock.now() },
    );
    assert.equal(replay.queued, 3);
    const totals = await hub.deliver('products-to-site');
    assert.equal(totals.delivered, 3);
    assert.equal(target.stats().writes - writes, 3);
    const externalIds = [...target.objects('product').values()].map((o) => o.externalId);
    assert.equal(new Set(externalIds).size, 3, 'idempotent: no object created twice');
  });

  test('a replay asked while the object is being written is not lost: it is written again after', async () => {
    await hub.ingest('onec', 'product', [product('p1', 'a')]);
    target.setFaults({ latencyMs: 150 });
    const first = hub.deliver('products-to-site');
    // The write is on its way (the target holds it in its latency) when the operator replays.
    while (target.stats().inFlight === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    const replay = await replayRoute(
      store,
      { name: 'products-to-site', entity: 'product' },
      { now: clock.now() },
    );
    assert.equal(replay.queued, 1);
    assert.equal((await first).delivered, 1);
    const row = (await hub.outbox('products-to-site'))[0]!;
    assert.equal(row.state, 'pending', 'the replay still waits for its own write');
    target.setFaults({ latencyMs: 0 });
    const again = await hub.deliver('products-to-site');
    assert.equal(again.delivered, 1, 'written again, although the target already holds this content');
    assert.equal(again.skipped, 0);
    assert.equal(writesOf('p1')!.writes, 2);
    assert.equal((await hub.outbox('products-to-site'))[0]!.state, 'delivered');
    assert.equal((await hub.deliver('products-to-site')).claimed, 0, 'and only once');
  });

  test('a change that came from the target itself is not written back', async () => {
    await hub.ingest('site', 'product', [product('s1', 'from the site')]);
    assert.equal((await hub.outbox('products-to-site')).length, 0);
  });
});
