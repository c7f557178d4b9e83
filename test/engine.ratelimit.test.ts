import assert from 'node:assert/strict';
import { afterEach, beforeEach, test } from 'node:test';
import { type HttpTarget, startHttpTarget } from '../emulators/http-target/index.ts';
import { systemClock } from '../src/core/clock.ts';
import type { Store } from '../src/store/store.ts';
import { createTestHub, hubConfig, product, type TestHub } from './support/hub.ts';
import { forEachDialect } from './support/stores.ts';

forEachDialect('rate limit seen from the target', (db) => {
  let target: HttpTarget;
  let store: Store;
  let hub: TestHub;
  beforeEach(async () => {
    target = await startHttpTarget();
    store = await db().open();
    hub = await createTestHub(
      store,
      hubConfig({
        systems: {
          onec: { kind: 'http', url: target.url },
          site: { kind: 'http', url: target.url, limits: { rate: '10/s', burst: 3 } },
        },
        routes: [{ name: 'products-to-site', entity: 'product', target: 'site', batchSize: 1 }],
      }),
      { clock: systemClock },
    );
  });
  afterEach(async () => {
    await hub.close();
    await store.close();
    await target.close();
  });

  test('requests never exceed the configured rate and burst, measured at the target', async () => {
    const count = 25;
    await hub.ingest(
      'onec',
      'product',
      Array.from({ length: count }, (_, i) => product(`p${i}`, `n${i}`)),
    );
    const totals = await hub.deliver('products-to-site');
    assert.equal(totals.delivered, count);
    const times = target.requests.map((r) => r.at).sort((a, b) => a - b);
    assert.equal(times.length, count);
    // Token bucket 10/s with burst 3: any window of length w holds at most 3 + 10·w requests
    // (plus a few ms of tolerance for the time between the limiter and the target's clock).
    for (let i = 0; i < times.length; i++) {
      for (let j = i + 1; j < times.length; j++) {
        const windowSeconds = (times[j]! - times[i]! + 15) / 1000;
        const allowed = 3 + 10 * windowSeconds;
        assert.ok(j - i + 1 <= Math.floor(allowed) + 1, `${j - i + 1} requests within ${windowSeconds}s`);
      }
    }
    const span = (times.at(-1)! - times[0]!) / 1000;
    process.stdout.write(
      `# ${count} requests in ${span.toFixed(2)} s at 10/s burst 3 (minimum ${((count - 3) / 10).toFixed(1)} s)\n`,
    );
  });
});
