import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it, test } from 'node:test';
import { type HttpTarget, startHttpTarget } from '../emulators/http-target/index.ts';
import { ManualClock } from '../src/core/clock.ts';
import type { Connector, DeliveryItem, ItemOutcome } from '../src/core/connector.ts';
import { authRefreshError, type ObmenError, transientError } from '../src/core/errors.ts';
import { readWithAuthRefresh, writeWithAuthRefresh } from '../src/engine/auth-refresh.ts';
import { runPull } from '../src/engine/pull.ts';
import { decideRetry } from '../src/engine/retry-policy.ts';
import type { Store } from '../src/store/store.ts';
import { createTestHub, hubConfig, product, type TestHub } from './support/hub.ts';
import { forEachDialect } from './support/stores.ts';

const CLIENT = { clientId: 'obmen-hub', clientSecret: 'Sx9-client-secret' };

forEachDialect('expired credentials: refreshed once, then the write or read is repeated', (db) => {
  let target: HttpTarget;
  let store: Store;
  let hub: TestHub;

  beforeEach(async () => {
    target = await startHttpTarget({ oauth: CLIENT });
    store = await db().open();
    hub = await createTestHub(
      store,
      hubConfig({
        systems: {
          onec: { kind: 'http', url: target.url },
          erp: {
            kind: 'http',
            url: target.url,
            credentials: CLIENT,
            options: { tokenUrl: `${target.url}/oauth/token` },
          },
        },
        routes: [{ name: 'products-to-erp', entity: 'product', target: 'erp', batchSize: 10 }],
        sources: [{ name: 'erp-products', system: 'erp', entity: 'product', schedule: '5m', batchSize: 2 }],
      }),
      { clock: new ManualClock(Date.now()) },
    );
  });
  afterEach(async () => {
    await target.close();
    await hub.close();
    await store.close();
  });

  const requests = () =>
    store.db.selectFrom('request_log').select(['url', 'status', 'response_body']).orderBy('id').execute();

  test('a token expired between two deliveries: one refresh, the batch written, no attempt spent', async () => {
    await hub.ingest('onec', 'product', [product('p1', 'a'), product('p2', 'b')]);
    assert.equal((await hub.deliver('products-to-erp')).delivered, 2);
    assert.equal(target.tokensIssued(), 1);

    target.expireTokens();
    await hub.ingest('onec', 'product', [product('p1', 'a2'), product('p2', 'b2'), product('p3', 'c')]);
    const totals = await hub.deliver('products-to-erp');
    assert.deepEqual([totals.delivered, totals.retried, totals.failed], [3, 0, 0]);
    assert.equal(target.tokensIssued(), 2, 'one new token');
    const rows = await hub.outbox('products-to-erp');
    assert.ok(rows.every((row) => row.state === 'delivered' && row.attempts === 0));
    const log = await requests();
    assert.deepEqual(
      log.map((r) => [new URL(r.url).pathname, r.status]),
      [
        ['/oauth/token', 200],
        ['/product/batch', 200],
        ['/product/batch', 401],
        ['/oauth/token', 200],
        ['/product/batch', 200],
      ],
    );
    for (const row of log) assert.ok(!row.response_body?.includes('at-'), 'access tokens never logged');
  });

  test('the client refused at the token endpoint: parked as config, naming the credentials', async () => {
    await hub.ingest('onec', 'product', [product('p1', 'a')]);
    await hub.deliver('products-to-erp');
    target.expireTokens();
    target.revokeClient();
    await hub.ingest('onec', 'product', [product('p1', 'a2')]);
    const totals = await hub.deliver('products-to-erp');
    assert.equal(totals.failed, 1);
    const [row] = await hub.outbox('products-to-erp');
    assert.equal(row?.state, 'failed');
    assert.equal(row?.last_error_class, 'config');
    assert.match(row?.last_error ?? '', /refused to issue a token \(HTTP 401\): invalid_client/);
    assert.match(row?.last_error ?? '', /systems\.erp\.credentials clientId and clientSecret/);
  });

  test('fresh tokens refused too: parked as config after one repeat, not retried on and on', async () => {
    await hub.ingest('onec', 'product', [product('p1', 'a')]);
    // Every token the target issues is dead on arrival (a clock far off, a misconfigured server).
    await store.db.deleteFrom('request_log').execute();
    const expireEach = setInterval(() => target.expireTokens(), 0);
    try {
      const original = target.tokensIssued();
      const totals = await hub.deliver('products-to-erp');
      assert.equal(totals.failed, 1);
      assert.equal(target.tokensIssued() - original, 2, 'the first token, then exactly one refresh');
    } finally {
      clearInterval(expireEach);
    }
    const [row] = await hub.outbox('products-to-erp');
    assert.equal(row?.last_error_class, 'config');
    assert.match(row?.last_error ?? '', /^erp refused its credentials .*refused the refreshed ones too/);
    assert.match(row?.last_error ?? '', /fix systems\.erp\.credentials/);
    assert.equal(row?.attempts, 1);
  });

  test('a pull whose token expires mid-read refreshes and goes on from the saved cursor', async () => {
    target.seed(
      'product',
      Array.from({ length: 6 }, (_, i) => ({
        id: `e${i}`,
        data: { name: `Товар ${i}`, article: `E-${i}` },
        updatedAt: Date.UTC(2026, 0, 10, 10, i),
      })),
    );
    let batches = 0;
    const result = await runPull(hub.runtime, 'erp-products', {
      onBatch: () => {
        batches++;
        if (batches === 2) target.expireTokens();
      },
    });
    assert.deepEqual(result.errors, []);
    assert.equal(result.stats.created, 6);
    assert.equal(result.stats.unchanged, 0, 'nothing read twice: the repeat began at the saved cursor');
    assert.ok(
      (await requests()).some((r) => r.status === 401),
      'the expired token was refused once',
    );
    assert.equal(target.tokensIssued(), 2);
    const records = await store.db
      .selectFrom('records')
      .select('id')
      .where('entity', '=', 'product')
      .execute();
    assert.equal(records.length, 6);
    const cursor = await store.db.selectFrom('cursors').selectAll().executeTakeFirstOrThrow();
    assert.ok(cursor.value, 'the read went on to its end and saved its cursor');
  });
});

describe('auth refresh rules (no HTTP)', () => {
  const items: DeliveryItem[] = ['a', 'b'].map((recordId) => ({
    recordId,
    entity: 'product',
    version: 1,
    hash: 'h',
    data: {},
    deleted: false,
    externalId: undefined,
  }));
  const expired = () => authRefreshError('site: token expired', { system: 'site', code: 'expired_token' });

  it('a connector that cannot refresh: the items are parked as config, with the system named', async () => {
    const connector: Connector = { check: async () => {}, close: async () => {} };
    let writes = 0;
    const outcomes = await writeWithAuthRefresh(connector, 'site', items, async () => {
      writes++;
      throw expired();
    });
    assert.equal(writes, 1, 'nothing to repeat with');
    for (const outcome of outcomes) {
      assert.equal(outcome.ok, false);
      const error = (outcome as Extract<ItemOutcome, { ok: false }>).error;
      assert.equal(error.errorClass, 'config');
      assert.match(error.message, /^site refused its credentials \(site: token expired\); obmen has no way/);
      assert.match(error.message, /fix systems\.site\.credentials/);
    }
  });

  it('only the refused items are written again; a token server that is down is a transient error', async () => {
    let refreshes = 0;
    const connector: Connector = {
      check: async () => {},
      close: async () => {},
      refreshAuth: async () => {
        refreshes++;
      },
    };
    const seen: string[][] = [];
    const outcomes = await writeWithAuthRefresh(connector, 'site', items, async (batch) => {
      seen.push(batch.map((i) => i.recordId));
      return batch.map((i) =>
        seen.length === 1 && i.recordId === 'b'
          ? { recordId: i.recordId, ok: false as const, error: expired() }
          : { recordId: i.recordId, ok: true as const, externalId: `X-${i.recordId}` },
      );
    });
    assert.deepEqual(seen, [['a', 'b'], ['b']]);
    assert.equal(refreshes, 1);
    assert.deepEqual(
      outcomes.map((o) => o.ok),
      [true, true],
    );

    const down: Connector = {
      check: async () => {},
      close: async () => {},
      refreshAuth: async () => {
        throw transientError('site: token endpoint answered 503');
      },
    };
    await assert.rejects(
      readWithAuthRefresh(down, 'site', async () => {
        throw expired();
      }),
      (error: ObmenError) => error.errorClass === 'transient' && /503/.test(error.message),
    );
  });

  it('batches failing together share one refresh', async () => {
    let refreshes = 0;
    let release!: () => void;
    const connector: Connector = {
      check: async () => {},
      close: async () => {},
      refreshAuth: () => {
        refreshes++;
        return new Promise<void>((resolve) => {
          release = resolve;
        });
      },
    };
    let fresh = false;
    const write = async (batch: DeliveryItem[]) =>
      batch.map((i) =>
        fresh
          ? { recordId: i.recordId, ok: true as const, externalId: 'x' }
          : { recordId: i.recordId, ok: false as const, error: expired() },
      );
    const lanes = [0, 1, 2].map(() => writeWithAuthRefresh(connector, 'site', items, write));
    await new Promise((resolve) => setImmediate(resolve));
    fresh = true;
    release();
    const results = await Promise.all(lanes);
    assert.equal(refreshes, 1);
    assert.ok(results.flat().every((o) => o.ok));
  });

  it('decideRetry never retries an auth error on its own: it is parked', () => {
    const policy = { maxAttempts: 5, baseDelayMs: 100, maxDelayMs: 1000 };
    assert.deepEqual(decideRetry(policy, expired(), 0, 1000), { action: 'park', attempts: 1 });
    assert.equal(decideRetry(policy, transientError('x'), 0, 1000, () => 0).action, 'retry');
  });
});
