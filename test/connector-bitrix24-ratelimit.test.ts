import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startBitrix24Emulator } from '../emulators/bitrix24/index.ts';
import { bitrix24Connector } from '../src/connectors/bitrix24/index.ts';
import { registerConnector } from '../src/connectors/registry.ts';
import { systemClock } from '../src/core/clock.ts';
import { drainRoute } from '../src/engine/worker.ts';
import { createTestHub, hubConfig } from './support/hub.ts';
import { createTestDatabase } from './support/stores.ts';

const SECONDS = Number(process.env.B24_SUSTAINED_SECONDS ?? 60);
const RATE = 2;
const BURST = 50;

describe('bitrix24 sustained writes at the default limits', () => {
  it(
    `${SECONDS} s of writes: never a QUERY_LIMIT_EXCEEDED, and at least 90% of the allowed rate used`,
    { timeout: (SECONDS + 120) * 1000 },
    async () => {
      const e = await startBitrix24Emulator({ webhook: { userId: 1, code: 'ratecode' } });
      const db = await createTestDatabase('sqlite');
      const store = await db.open();
      // No limits.rate in the config: the runtime builds the system's one limiter from the
      // connector's defaultLimits (2/s, burst 48), kept in table rate_limits.
      registerConnector(bitrix24Connector);
      const hub = await createTestHub(
        store,
        hubConfig({
          systems: {
            onec: { kind: 'noop' },
            b24: {
              kind: 'bitrix24',
              url: e.url,
              credentials: { webhookUserId: '1', webhookCode: 'ratecode' },
            },
          },
          routes: [{ name: 'products-to-b24', entity: 'product', target: 'b24', batchSize: 50 }],
        }),
        { clock: systemClock },
      );
      try {
        await hub.ingest(
          'onec',
          'product',
          Array.from({ length: 8000 }, (_, i) => ({ externalId: `p${i}`, data: { name: `Товар ${i}` } })),
        );
        e.resetStats();
        const stop = new AbortController();
        const timer = setTimeout(() => stop.abort(), SECONDS * 1000);
        const totals = await drainRoute(hub.runtime, 'products-to-b24', { signal: stop.signal });
        clearTimeout(timer);
        const stats = e.stats();
        const times = stats.admittedAt;
        const spanS = (times[times.length - 1]! - times[0]!) / 1000;
        // Requests the bucket allows from the first to the last request: the burst plus the drain.
        const allowed = BURST + RATE * spanS;
        const used = times.length / allowed;
        console.log(
          `sustained: ${times.length} requests in ${spanS.toFixed(1)} s; allowed ${allowed.toFixed(1)}; used ${(used * 100).toFixed(1)}%; ` +
            `limit errors ${stats.limitErrors}; products delivered ${totals.delivered}`,
        );
        assert.equal(stats.limitErrors, 0, 'the emulator never answered QUERY_LIMIT_EXCEEDED');
        const bucket = await store.db
          .selectFrom('rate_limits')
          .selectAll()
          .where('system', '=', 'b24')
          .executeTakeFirst();
        assert.ok(bucket, "the system's one limiter keeps its bucket in table rate_limits");
        assert.ok(spanS >= SECONDS * 0.8, `writes went on for the whole period (${spanS} s)`);
        assert.ok(
          used >= 0.9,
          `obmen used ${(used * 100).toFixed(1)}% of the allowed rate, expected at least 90%`,
        );
        assert.ok(used <= 1.0001, 'never above the allowed rate');
        assert.equal(
          stats.writesByMethod['catalog.product.add'],
          totals.delivered,
          'every delivered product written exactly once',
        );
      } finally {
        await hub.close();
        registerConnector(bitrix24Connector);
        await store.close();
        await db.drop();
        await e.close();
      }
    },
  );
});
