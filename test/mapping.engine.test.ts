import assert from 'node:assert/strict';
import { afterEach, beforeEach, test } from 'node:test';
import { type HttpTarget, startHttpTarget } from '../emulators/http-target/index.ts';
import { httpConnector } from '../src/connectors/http/index.ts';
import { registerConnector } from '../src/connectors/registry.ts';
import { ManualClock } from '../src/core/clock.ts';
import type { Connector, SourceBatch } from '../src/core/connector.ts';
import { ObmenError } from '../src/core/errors.ts';
import { retryFailures } from '../src/engine/operations.ts';
import { runPull } from '../src/engine/pull.ts';
import { retryMissingValueHold } from '../src/engine/route-mapping.ts';
import { createRuntime, recordMappingVersions } from '../src/engine/runtime.ts';
import { listMappingVersions } from '../src/mapping/versions.ts';
import { listHolds } from '../src/matching/holds.ts';
import type { Store } from '../src/store/store.ts';
import { createTestHub, hubConfig, product, type TestHub } from './support/hub.ts';
import { forEachDialect } from './support/stores.ts';

/**
 * The target's reference directory ("Цвет" of 1C:Розница), as a connector with directory
 * support exposes it: values the test adds here are what hasReferenceValue answers.
 */
const directory = new Set<string>();

/** The http connector plus a reference directory: a target that can say which values it holds. */
registerConnector({
  kind: 'http-with-directory',
  create(ctx) {
    const inner = httpConnector.create(ctx);
    const connector: Connector = {
      ...inner,
      async hasReferenceValue(name, value) {
        return directory.has(`${name}:${value}`);
      },
    };
    return connector;
  },
});

/**
 * The http connector as a source whose system objects differ from canonical data: `raw` is the
 * object as served (with the system's own field `Цвет`), `data` keeps only name and article —
 * like a connector whose default conversion does not know that field.
 */
registerConnector({
  kind: 'http-with-raw',
  create(ctx) {
    const inner = httpConnector.create(ctx);
    return {
      ...inner,
      async *read(request) {
        for await (const batch of inner.read!(request) as AsyncIterable<SourceBatch>) {
          yield {
            ...batch,
            items: batch.items.map((item) => ({
              ...item,
              raw: item.data,
              data: { name: item.data.name, article: item.data.article },
            })),
          };
        }
      },
    };
  },
});

const T0 = Date.UTC(2026, 10, 22, 10, 0, 0);

forEachDialect('route and source mappings in the engine', (db) => {
  let target: HttpTarget;
  let store: Store;
  let hub: TestHub;
  let clock: ManualClock;

  beforeEach(async () => {
    directory.clear();
    target = await startHttpTarget();
    store = await db().open();
    clock = new ManualClock(T0);
    hub = await createTestHub(
      store,
      hubConfig({
        systems: {
          onec: { kind: 'http-with-raw', url: target.url },
          site: { kind: 'http', url: target.url },
          retail: { kind: 'http-with-directory', url: target.url },
        },
        sources: [
          {
            name: 'onec-products',
            system: 'onec',
            entity: 'product',
            mapping: {
              fields: {
                'attributes.color': 'raw.`Цвет`',
                description: "'Цвет: ' & raw.`Цвет`",
              },
            },
          },
        ],
        routes: [
          {
            name: 'products-to-site',
            entity: 'product',
            target: 'site',
            filter: "manufacturer = 'Acme'",
            mapping: {
              fields: {
                SITE_TITLE: '$uppercase(name)',
                CODE: "'P-' & article",
                WEIGHT_G: { expr: 'weight.value', convert: 'kg->g' },
              },
            },
          },
          {
            name: 'products-to-retail',
            entity: 'product',
            target: 'retail',
            mapping: {
              fields: {
                Цвет: { expr: 'attributes.color', missing: 'hold', directory: 'Цвет', system: '1C:Розница' },
              },
            },
          },
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

  const onSite = () =>
    [...target.objects('product').values()].map((held) => held.data as Record<string, unknown>);

  test('a route filter delivers only matching records, and the mapping fields arrive at the target', async () => {
    await hub.ingest('onec', 'product', [
      product('p1', 'Чайник', { manufacturer: 'Acme', weight: { value: 1.5, unit: 'kg' } }),
      product('p2', 'Утюг', { manufacturer: 'Other' }),
      product('p3', 'Тостер', { manufacturer: 'Acme' }),
    ]);
    const writesBefore = target.stats().writes;
    const totals = await hub.deliver('products-to-site');
    assert.equal(totals.claimed, 3);
    assert.equal(totals.delivered, 2);
    assert.equal(totals.skipped, 1, 'the filtered record counts as skipped');
    assert.equal(target.stats().writes - writesBefore, 2, 'the filtered record is never written');

    const delivered = onSite().sort((a, b) => String(a.article).localeCompare(String(b.article)));
    assert.deepEqual(
      delivered.map((d) => d.article),
      ['A-p1', 'A-p3'],
    );
    assert.equal(delivered[0]!.SITE_TITLE, 'ЧАЙНИК');
    assert.equal(delivered[0]!.CODE, 'P-A-p1');
    assert.equal(delivered[0]!.WEIGHT_G, 1500);
    assert.equal(delivered[0]!.name, 'Чайник', 'canonical fields stay unless the mapping overrides them');
    assert.equal(delivered[1]!.SITE_TITLE, 'ТОСТЕР');

    const rows = await hub.outbox('products-to-site');
    assert.deepEqual(
      rows.map((r) => r.state),
      ['delivered', 'delivered', 'delivered'],
      'the filtered row is completed, not left pending',
    );
    const links = await store.db
      .selectFrom('links')
      .select('record_id')
      .where('system', '=', 'site')
      .execute();
    assert.equal(links.length, 2, 'no link for the record the filter left out');
  });

  test('a missing reference value holds the item with the Russian message; after the value is added a retry delivers it', async () => {
    await hub.ingest('onec', 'product', [
      product('p1', 'Футболка', { attributes: { color: 'красный' } }),
      product('p2', 'Шапка', { attributes: { color: 'синий' } }),
    ]);
    directory.add('Цвет:синий');
    const first = await hub.deliver('products-to-retail');
    assert.equal(first.delivered, 1);
    assert.equal(first.failed, 1);

    const rows = await hub.outbox('products-to-retail');
    const parked = rows.find((r) => r.state === 'failed');
    assert.ok(parked, 'the item with the missing value is parked');
    assert.equal(parked.last_error_class, 'permanent');
    assert.match(
      parked.last_error!,
      /значение «красный» отсутствует в справочнике «Цвет» системы 1C:Розница/,
    );

    const holds = await listHolds(store, { kind: 'missing_value' });
    assert.equal(holds.total, 1);
    const hold = holds.items[0]!;
    assert.equal(hold.route, 'products-to-retail');
    assert.equal(hold.recordId, parked.record_id);
    assert.equal(hold.field, 'Цвет');
    assert.equal(hold.value, 'красный');

    // Retrying before the value exists parks it again (one open hold, not two).
    await retryFailures(store, { route: 'products-to-retail' }, clock.now());
    const again = await hub.deliver('products-to-retail');
    assert.equal(again.failed, 1);
    assert.equal((await listHolds(store, { kind: 'missing_value' })).total, 1);

    // Someone adds «красный» to the directory; resolving the hold puts the row back in the queue.
    directory.add('Цвет:красный');
    const retried = await retryMissingValueHold(store, hold.id, 'admin', clock.now());
    assert.equal(retried.retried, 1);
    const last = await hub.deliver('products-to-retail');
    assert.equal(last.delivered, 1);
    assert.equal(last.failed, 0);
    const colours = [...target.objects('product').values()].map((h) => (h.data as { Цвет?: string }).Цвет);
    assert.deepEqual(colours.sort(), ['красный', 'синий']);
    assert.equal((await listHolds(store, { kind: 'missing_value' })).total, 0, 'no open hold is left');
  });

  test('a hold closes by itself when `failures retry` delivers the item', async () => {
    await hub.ingest('onec', 'product', [product('p1', 'Футболка', { attributes: { color: 'красный' } })]);
    assert.equal((await hub.deliver('products-to-retail')).failed, 1);
    directory.add('Цвет:красный');
    await retryFailures(store, { route: 'products-to-retail' }, clock.now());
    assert.equal((await hub.deliver('products-to-retail')).delivered, 1);
    const all = await listHolds(store, { state: 'all', kind: 'missing_value' });
    assert.equal(all.items.length, 1);
    assert.equal(all.items[0]!.state, 'resolved');
    assert.equal(all.items[0]!.resolvedBy, 'delivery');
  });

  test('a source mapping overrides canonical fields from the raw system object', async () => {
    target.seed('product', [
      { id: 'g-1', data: { name: 'Футболка', article: 'T-1', Цвет: 'красный' }, updatedAt: T0 },
      { id: 'g-2', data: { name: 'Шапка', article: 'H-1', Цвет: 'синий' }, updatedAt: T0 + 1 },
    ]);
    const pulled = await runPull(hub.runtime, 'onec-products');
    assert.equal(pulled.stats.created, 2);
    assert.deepEqual(pulled.errors, []);
    const records = await store.db
      .selectFrom('records')
      .select('data')
      .where('entity', '=', 'product')
      .orderBy('id')
      .execute();
    const data = records.map((r) => JSON.parse(r.data) as Record<string, unknown>);
    const shirt = data.find((d) => d.article === 'T-1')!;
    assert.deepEqual(shirt.attributes, { color: 'красный' });
    assert.equal(shirt.description, 'Цвет: красный');
    assert.deepEqual(data.find((d) => d.article === 'H-1')!.attributes, { color: 'синий' });
  });

  test("a pull's and a delivery's request-log rows carry their session id", async () => {
    target.seed('product', [
      { id: 'g-1', data: { name: 'Футболка', article: 'T-1', Цвет: 'x' }, updatedAt: T0 },
    ]);
    const pulled = await runPull(hub.runtime, 'onec-products');
    const pullRows = await store.db
      .selectFrom('request_log')
      .select(['session_id', 'system'])
      .where('system', '=', 'onec')
      .execute();
    assert.ok(pullRows.length > 0, 'the pull made logged requests');
    for (const row of pullRows) assert.equal(Number(row.session_id), pulled.sessionId);

    await hub.ingest('onec', 'product', [product('p9', 'Чайник', { manufacturer: 'Acme' })]);
    await hub.deliver('products-to-site');
    const session = await store.db
      .selectFrom('sessions')
      .select('id')
      .where('kind', '=', 'deliver')
      .where('name', '=', 'products-to-site')
      .executeTakeFirstOrThrow();
    const deliverRows = await store.db
      .selectFrom('request_log')
      .select(['session_id'])
      .where('system', '=', 'site')
      .execute();
    assert.ok(deliverRows.length > 0, 'the delivery made logged requests');
    for (const row of deliverRows) assert.equal(Number(row.session_id), Number(session.id));
  });

  test('mapping versions are recorded at start; a changed mapping makes version 2 with its diff', async () => {
    const first = await recordMappingVersions(hub.runtime);
    assert.deepEqual(
      first.map((v) => [v.name, v.version, v.changed]),
      [
        ['route:products-to-site', 1, true],
        ['route:products-to-retail', 1, true],
        ['source:onec-products', 1, true],
      ],
    );
    const unchanged = await recordMappingVersions(hub.runtime);
    assert.ok(unchanged.every((v) => !v.changed && v.version === 1));

    const config = structuredClone(hub.runtime.config);
    config.routes[0]!.filter = "manufacturer = 'Other'";
    const warnings: string[] = [];
    const log = {
      warn: (_obj: unknown, message: string) => warnings.push(message),
      child: () => log,
    } as unknown as import('pino').Logger;
    const changedRuntime = createRuntime({ config, store, owner: 'test', clock, log });
    try {
      const second = await recordMappingVersions(changedRuntime);
      assert.deepEqual(second[0], { name: 'route:products-to-site', version: 2, changed: true });
      const versions = await listMappingVersions(store, 'route:products-to-site');
      assert.match(versions[0]!.diff!, /~ filter: "manufacturer = 'Acme'" → "manufacturer = 'Other'"/);
      assert.equal(warnings.length, 1);
      assert.match(warnings[0]!, /obmen replay products-to-site/);
    } finally {
      await changedRuntime.close();
    }
  });
});

test('a mapping mistake stops the runtime with a config error naming the route and field', () => {
  const config = hubConfig({
    systems: { site: { kind: 'http', url: 'http://127.0.0.1:9' } },
    routes: [
      {
        name: 'products-to-site',
        entity: 'product',
        target: 'site',
        mapping: { fields: { TITLE: 'name &' } },
      },
    ],
  });
  assert.throws(
    () => createRuntime({ config, store: {} as Store, owner: 'test' }),
    (error: unknown) =>
      error instanceof ObmenError &&
      error.errorClass === 'config' &&
      /route products-to-site, field TITLE/.test(error.message),
  );
});
