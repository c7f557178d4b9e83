import assert from 'node:assert/strict';
import { afterEach, beforeEach, test } from 'node:test';
import { type Bitrix24Emulator, startBitrix24Emulator } from '../emulators/bitrix24/index.ts';
import { type HttpTarget, startHttpTarget } from '../emulators/http-target/index.ts';
import { showRouteMapping } from '../src/mapping/show.ts';
import type { Store } from '../src/store/store.ts';
import { createTestHub, hubConfig, product, type TestHub } from './support/hub.ts';
import { forEachDialect } from './support/stores.ts';

/**
 * A record the target holds that stops passing the route's filter is written as deleted
 * (deactivated), and re-activated when it passes again; `filterExit: keep` leaves the target
 * alone; a record the target never got makes no write while it fails, not even its deletion.
 */

const MARKET = "manufacturer = 'Acme'";

forEachDialect('filter exit over the http protocol', (db) => {
  let market: HttpTarget;
  let archive: HttpTarget;
  let store: Store;
  let hub: TestHub;

  beforeEach(async () => {
    market = await startHttpTarget();
    archive = await startHttpTarget();
    store = await db().open();
    hub = await createTestHub(
      store,
      hubConfig({
        systems: {
          onec: { kind: 'noop' },
          market: { kind: 'http', url: market.url },
          archive: { kind: 'http', url: archive.url },
        },
        routes: [
          { name: 'to-market', entity: 'product', target: 'market', filter: MARKET },
          {
            name: 'to-archive',
            entity: 'product',
            target: 'archive',
            filter: MARKET,
            filterExit: 'keep',
          },
        ],
      }),
    );
  });
  afterEach(async () => {
    await hub.close();
    await store.close();
    await market.close();
    await archive.close();
  });

  const held = (target: HttpTarget, id: string) => target.objects('product').get(id);
  const hubId = async (externalId: string) =>
    (
      await store.db
        .selectFrom('links')
        .select('record_id')
        .where('entity', '=', 'product')
        .where('system', '=', 'onec')
        .where('external_id', '=', externalId)
        .executeTakeFirstOrThrow()
    ).record_id;
  const deliverBoth = async () => ({
    market: await hub.deliver('to-market'),
    archive: await hub.deliver('to-archive'),
  });

  test('a delivered record that leaves the filter is deactivated once, and re-activated when it passes again', async () => {
    await hub.ingest('onec', 'product', [
      product('p1', 'Чайник', { manufacturer: 'Acme' }),
      product('p2', 'Утюг', { manufacturer: 'Acme' }),
    ]);
    await deliverBoth();
    const p1 = await hubId('p1');
    assert.equal(held(market, p1)?.deleted, false);
    const writes = market.stats().writes;

    // p1 moves to another manufacturer: the market must stop selling it.
    await hub.ingest('onec', 'product', [product('p1', 'Чайник', { manufacturer: 'Other' })]);
    const exit = await hub.deliver('to-market');
    assert.equal(exit.delivered, 1, 'the exit is one write');
    assert.equal(market.stats().writes - writes, 1);
    const gone = held(market, p1);
    assert.equal(gone?.deleted, true, 'the market holds p1 deactivated');
    assert.equal((gone?.data as { name?: string }).name, 'Чайник', 'with its content');
    assert.equal(held(market, await hubId('p2'))?.deleted, false, 'p2 is untouched');

    // Nothing changed: no write, however often the route runs or the source is read again.
    await hub.ingest('onec', 'product', [product('p1', 'Чайник', { manufacturer: 'Other' })]);
    assert.equal((await hub.deliver('to-market')).claimed, 0);
    await store.db
      .updateTable('outbox')
      .set({ state: 'pending', next_attempt_at: 0 })
      .where('route', '=', 'to-market')
      .execute();
    const again = await hub.deliver('to-market');
    assert.equal(again.skipped, 2, 'both rows complete without a write');
    assert.equal(market.stats().writes - writes, 1);

    // It passes again: the normal write re-activates it.
    await hub.ingest('onec', 'product', [product('p1', 'Чайник 2', { manufacturer: 'Acme' })]);
    const back = await hub.deliver('to-market');
    assert.equal(back.delivered, 1);
    assert.equal(held(market, p1)?.deleted, false, 're-activated');
    assert.equal((held(market, p1)?.data as { name?: string }).name, 'Чайник 2');
    assert.equal(market.stats().writes - writes, 2);
    assert.equal(market.objects('product').size, 2, 'never a second copy');
  });

  test('filterExit: keep leaves the target as it is', async () => {
    await hub.ingest('onec', 'product', [product('p1', 'Чайник', { manufacturer: 'Acme' })]);
    await deliverBoth();
    const writes = archive.stats().writes;
    await hub.ingest('onec', 'product', [product('p1', 'Чайник', { manufacturer: 'Other' })]);
    const { archive: stats } = await deliverBoth();
    assert.equal(stats.skipped, 1);
    assert.equal(archive.stats().writes, writes, 'no write on the keep route');
    assert.equal(held(archive, await hubId('p1'))?.deleted, false, 'the archive still holds it active');
    assert.equal(held(market, await hubId('p1'))?.deleted, true, 'while the market deactivated it');
  });

  test('a record the target never got makes no write while it fails the filter, not even its deletion', async () => {
    await hub.ingest('onec', 'product', [product('p3', 'Тостер', { manufacturer: 'Other' })]);
    await deliverBoth();
    await hub.ingest('onec', 'product', [product('p3', 'Тостер 2', { manufacturer: 'Other' })]);
    await deliverBoth();
    await hub.ingest('onec', 'product', [{ externalId: 'p3', data: {}, deleted: true }]);
    const { market: stats } = await deliverBoth();
    assert.equal(stats.skipped, 1);
    assert.equal(market.stats().writes, 0);
    assert.equal(archive.stats().writes, 0);
    const links = await store.db
      .selectFrom('links')
      .select('system')
      .where('system', 'in', ['market', 'archive'])
      .execute();
    assert.equal(links.length, 0);
  });

  test('a held record deleted in the source is deleted in the target even when it fails the filter', async () => {
    await hub.ingest('onec', 'product', [product('p4', 'Фен', { manufacturer: 'Acme' })]);
    await deliverBoth();
    // Deleted in 1C together with a change that takes it out of the filter.
    await hub.ingest('onec', 'product', [
      { externalId: 'p4', data: { name: 'Фен', manufacturer: 'Other' }, deleted: true },
    ]);
    const { market: m, archive: a } = await deliverBoth();
    assert.equal(m.delivered, 1);
    assert.equal(a.delivered, 1, 'keep keeps a filter exit, not a deletion');
    const id = await hubId('p4');
    assert.equal(held(market, id)?.deleted, true);
    assert.equal(held(archive, id)?.deleted, true);
  });
});

forEachDialect('filter exit when the target is a source of the entity too', (db) => {
  test("a create-only route never deactivates the target's own objects", async () => {
    const crm = await startHttpTarget();
    const store = await db().open();
    const hub = await createTestHub(
      store,
      hubConfig({
        systems: { onec: { kind: 'noop' }, crm: { kind: 'http', url: crm.url } },
        // The CRM is read too: what is linked there is the CRM's own (read, matched, or created
        // by this route and read back since).
        sources: [{ name: 'crm-products', system: 'crm', entity: 'product' }],
        routes: [
          { name: 'to-crm', entity: 'product', target: 'crm', filter: "$not($exists($externalId('crm')))" },
        ],
      }),
    );
    try {
      await hub.ingest('onec', 'product', [product('p1', 'Чайник')]);
      assert.equal((await hub.deliver('to-crm')).delivered, 1, 'created in the CRM: it had no link there');
      const writes = crm.stats().writes;
      // Now the CRM holds it, so the filter leaves it out: nothing is taken back from the CRM.
      await hub.ingest('onec', 'product', [product('p1', 'Чайник 2')]);
      const after = await hub.deliver('to-crm');
      assert.equal(after.skipped, 1);
      assert.equal(crm.stats().writes, writes, 'no deletion written to the CRM');
      assert.equal([...crm.objects('product').values()][0]?.deleted, false);
      assert.equal(showRouteMapping(hub.runtime.config, 'to-crm', '.').exit, 'own-objects');
    } finally {
      await hub.close();
      await store.close();
      await crm.close();
    }
  });
});

forEachDialect('filter exit over Bitrix24 products', (db) => {
  let portal: Bitrix24Emulator;
  let store: Store;
  let hub: TestHub;

  beforeEach(async () => {
    portal = await startBitrix24Emulator({ webhook: { userId: 1, code: 'exitcode' } });
    store = await db().open();
    hub = await createTestHub(
      store,
      hubConfig({
        systems: {
          onec: { kind: 'noop' },
          b24: {
            kind: 'bitrix24',
            url: portal.url,
            credentials: { webhookUserId: '1', webhookCode: 'exitcode' },
            limits: { rate: '50/s' },
          },
        },
        routes: [
          {
            name: 'products-to-b24',
            entity: 'product',
            target: 'b24',
            filter: MARKET,
            mapping: { fields: { previewText: "'Поставщик: ' & manufacturer" } },
          },
        ],
      }),
    );
  });
  afterEach(async () => {
    await hub.close();
    await store.close();
    await portal.close();
  });

  const products = () => [...portal.state.table('product').values()];

  test('a product that leaves the filter gets ACTIVE=N in Bitrix24 and ACTIVE=Y when it is back', async () => {
    await hub.ingest('onec', 'product', [
      product('p1', 'Дрель', { manufacturer: 'Acme' }),
      product('p2', 'Пила', { manufacturer: 'Other' }),
    ]);
    await hub.deliver('products-to-b24');
    assert.deepEqual(
      products().map((p) => [p['name'], p['active']]),
      [['Дрель', 'Y']],
      'only the product that passes is created',
    );

    await hub.ingest('onec', 'product', [product('p1', 'Дрель', { manufacturer: 'Other' })]);
    portal.resetStats();
    await hub.deliver('products-to-b24');
    assert.equal(portal.stats().writesByMethod['catalog.product.update'], 1);
    assert.equal(portal.stats().writes, 1);
    const [drill] = products();
    assert.equal(drill?.['active'], 'N', 'deactivated, not deleted (deals may refer to it)');
    assert.equal(drill?.['previewText'], 'Поставщик: Other', 'the mapped fields go along');

    portal.resetStats();
    await store.db
      .updateTable('outbox')
      .set({ state: 'pending', next_attempt_at: 0 })
      .where('route', '=', 'products-to-b24')
      .execute();
    await hub.deliver('products-to-b24');
    assert.equal(portal.stats().writes, 0, 'nothing changed, nothing written');

    await hub.ingest('onec', 'product', [product('p1', 'Дрель', { manufacturer: 'Acme' })]);
    await hub.deliver('products-to-b24');
    assert.deepEqual(
      products().map((p) => [p['name'], p['active']]),
      [['Дрель', 'Y']],
    );
    assert.equal(portal.stats().writes, 1);
  });
});
