import assert from 'node:assert/strict';
import { afterEach, beforeEach, test } from 'node:test';
import { type HttpTarget, startHttpTarget } from '../emulators/http-target/index.ts';
import { httpConnector } from '../src/connectors/http/index.ts';
import { registerConnector } from '../src/connectors/registry.ts';
import type { Store } from '../src/store/store.ts';
import { createTestHub, hubConfig, product, type TestHub } from './support/hub.ts';
import { forEachDialect } from './support/stores.ts';

// An http target whose connector declares that products' groups are none of its business
// (ConnectorFactory.ignoredRefs), the way the site and Bitrix24 connectors declare units.
registerConnector({
  ...httpConnector,
  kind: 'http-without-groups',
  ignoredRefs: (entity) => (entity === 'product' ? ['groupId'] : undefined),
});

// A target that takes units by code and has no product groups (a marketplace, a Bitrix24
// catalog without sections) must not hold every product back until groups reach it.
forEachDialect('routes ignoring references their target does not use', (db) => {
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
          onec: { kind: 'noop' },
          shop: { kind: 'http', url: target.url },
          declared: { kind: 'http-without-groups', url: target.url },
        },
        routes: [
          { name: 'products-strict', entity: 'product', target: 'shop' },
          { name: 'products-lenient', entity: 'product', target: 'shop', ignoreRefs: ['groupId'] },
          { name: 'products-declared', entity: 'product', target: 'declared' },
        ],
      }),
    );
  });
  afterEach(async () => {
    await target.close();
    await hub.close();
    await store.close();
  });

  test('a route with ignoreRefs delivers without the group; one without it parks the product', async () => {
    await hub.ingest('onec', 'product', [product('1', 'Чайник', { groupId: 'g-kitchen' })]);
    const strict = await hub.deliver('products-strict');
    assert.equal(strict.delivered, 0);
    const [row] = await hub.outbox('products-strict');
    assert.equal(row?.state, 'failed');
    assert.match(
      row?.last_error ?? '',
      /product_group \S+ \(field groupId\).*no route delivers product_group to shop/,
    );

    const lenient = await hub.deliver('products-lenient');
    assert.equal(lenient.delivered, 1);
    const [held] = [...target.objects('product').values()];
    assert.equal((held?.data as { name?: string }).name, 'Чайник');
  });

  test('a reference the target’s connector declares it does not use is not waited for, with no ignoreRefs on the route', async () => {
    await hub.ingest('onec', 'product', [product('2', 'Сковорода', { groupId: 'g-kitchen' })]);
    assert.equal((await hub.deliver('products-declared')).delivered, 1);
    assert.deepEqual(
      (await hub.outbox('products-declared')).map((row) => row.state),
      ['delivered'],
    );
  });
});
