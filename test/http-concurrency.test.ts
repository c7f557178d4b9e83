import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { type HttpTarget, startHttpTarget } from '../emulators/http-target/index.ts';
import { ManualClock } from '../src/core/clock.ts';
import { drainRoute } from '../src/engine/worker.ts';
import { createHttpClient } from '../src/http/client.ts';
import { ConcurrencyLimit } from '../src/http/concurrency.ts';
import type { Store } from '../src/store/store.ts';
import { createTestHub, hubConfig, type TestHub } from './support/hub.ts';
import { forEachDialect } from './support/stores.ts';

/** One write request of the generic http protocol, as a connector sends it. */
const batch = (target: HttpTarget, n: number) => ({
  method: 'POST' as const,
  url: `${target.url}/product/batch`,
  json: { items: [{ id: `p${n}`, externalId: null, version: 1, hash: 'h', deleted: false, data: { n } }] },
});

describe('limits.concurrency in the shared HTTP client (the emulator counts requests in flight)', () => {
  let target: HttpTarget;
  beforeEach(async () => {
    // Latency keeps each request in flight long enough for the others to pile up behind it.
    target = await startHttpTarget({ faults: { latencyMs: 60 } });
  });
  afterEach(() => target.close());

  it('never has more requests in flight than the limit, and every request is answered', async () => {
    const http = createHttpClient({ system: 'site', concurrency: 2 });
    const answers = await Promise.all(Array.from({ length: 8 }, (_, n) => http.request(batch(target, n))));
    assert.equal(answers.length, 8);
    assert.ok(answers.every((a) => a.status === 200));
    assert.equal(target.stats().requests, 8);
    assert.equal(target.stats().peakInFlight, 2, 'two at a time: the limit, and no fewer');
  });

  it('without the limit the same eight requests overlap (the emulator does count)', async () => {
    const http = createHttpClient({ system: 'site' });
    await Promise.all(Array.from({ length: 8 }, (_, n) => http.request(batch(target, n))));
    assert.ok(target.stats().peakInFlight > 2, `peak ${target.stats().peakInFlight}`);
  });

  it('a retry gives its slot back while it sleeps, and takes one again for the next attempt', async () => {
    target.setFaults({ failNextRequests: 1, latencyMs: 0 });
    const sleeps: number[] = [];
    const clock = new ManualClock();
    clock.sleep = async (ms: number) => {
      sleeps.push(ms);
    };
    const http = createHttpClient({ system: 'site', concurrency: 1, clock, random: () => 0 });
    const response = await http.request({ ...batch(target, 1), idempotent: true });
    assert.equal(response.status, 200);
    assert.equal(sleeps.length, 1, 'one backoff between the 503 and the success');
    // A slot not given back after the first attempt would leave this one waiting forever.
    const next = await http.request(batch(target, 2));
    assert.equal(next.status, 200);
  });

  it('a streamed answer holds its slot until it is read or cancelled', async () => {
    target.seed(
      'product',
      Array.from({ length: 3000 }, (_, i) => ({ id: `s${i}`, data: { name: 'x'.repeat(200) } })),
    );
    target.setFaults({ latencyMs: 0 });
    const http = createHttpClient({ system: 'site', concurrency: 1 });
    const open = await http.stream({ method: 'GET', url: `${target.url}/product?limit=3000` });
    let secondDone = false;
    const second = http.request(batch(target, 1)).then((answer) => {
      secondDone = true;
      return answer;
    });
    await delay(100);
    assert.equal(secondDone, false, 'the second request waits for the open stream');
    assert.equal(target.stats().requests, 0, 'and was not sent');
    await open.cancel();
    assert.equal((await second).status, 200);
    assert.equal(target.stats().requests, 1);
  });
});

describe('ConcurrencyLimit', () => {
  it('hands slots out first come, first served, and a waiting caller can give up', async () => {
    const limit = new ConcurrencyLimit(1);
    const first = await limit.acquire();
    const order: string[] = [];
    const aborter = new AbortController();
    const gaveUp = limit.acquire(aborter.signal).then(
      () => order.push('aborted one got a slot'),
      () => order.push('gave up'),
    );
    const waiting = limit.acquire().then((release) => {
      order.push('second');
      return release;
    });
    aborter.abort();
    await gaveUp;
    assert.equal(limit.inFlight, 1);
    first();
    first(); // twice is harmless
    const release = await waiting;
    assert.deepEqual(order, ['gave up', 'second']);
    assert.equal(limit.inFlight, 1);
    release();
    assert.equal(limit.inFlight, 0);
  });

  it('refuses a limit that is not a positive integer', () => {
    assert.throws(() => new ConcurrencyLimit(0), /positive integer/);
  });
});

const ENTITIES = ['product', 'warehouse', 'price_type'] as const;

forEachDialect('limits.concurrency from obmen.yaml bounds parallel routes to one system', (db) => {
  let target: HttpTarget;
  let store: Store;
  let hub: TestHub;

  beforeEach(async () => {
    target = await startHttpTarget({ faults: { latencyMs: 80 } });
    store = await db().open();
    hub = await createTestHub(
      store,
      hubConfig({
        systems: {
          erp: { kind: 'http', url: target.url },
          site: { kind: 'http', url: target.url, limits: { concurrency: 1 } },
        },
        // Three entities, not three routes of one: routes of one entity to one system share
        // that system's ids (links), and the emulator numbers each path on its own.
        routes: ENTITIES.map((entity) => ({
          name: `${entity}-to-site`,
          entity,
          target: 'site',
          batchSize: 5,
        })),
      }),
      { clock: new ManualClock(Date.now()) },
    );
  });
  afterEach(async () => {
    await target.close();
    await hub.close();
    await store.close();
  });

  test('three routes drained at once reach the site one request at a time, all delivered', async () => {
    for (const entity of ENTITIES)
      await hub.ingest(
        'erp',
        entity,
        Array.from({ length: 20 }, (_, i) => ({
          externalId: `${entity}-${i}`,
          data: { name: `${entity} ${i}` },
        })),
      );
    const totals = await Promise.all(ENTITIES.map((entity) => drainRoute(hub.runtime, `${entity}-to-site`)));
    assert.deepEqual(
      totals.map((t) => t.delivered),
      [20, 20, 20],
    );
    assert.equal(target.stats().requests, 12, '4 batches of 5 per route');
    assert.equal(target.stats().peakInFlight, 1);
  });
});
