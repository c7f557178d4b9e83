import assert from 'node:assert/strict';
import { afterEach, beforeEach, test } from 'node:test';
import { type HttpTarget, startHttpTarget } from '../emulators/http-target/index.ts';
import { ManualClock } from '../src/core/clock.ts';
import { ingest } from '../src/engine/ingest.ts';
import { runPull } from '../src/engine/pull.ts';
import { createRuntime } from '../src/engine/runtime.ts';
import { listHolds, resolveHold } from '../src/matching/holds.ts';
import type { Store } from '../src/store/store.ts';
import { createTestHub, hubConfig, type TestHub } from './support/hub.ts';
import { forEachDialect } from './support/stores.ts';

const T0 = Date.UTC(2026, 10, 22, 10, 0, 0);
const phone = (value: string) => ({ value, type: 'mobile' });

forEachDialect('matching through the engine', (db) => {
  let b24: HttpTarget;
  let site: HttpTarget;
  let store: Store;
  let hub: TestHub;

  beforeEach(async () => {
    b24 = await startHttpTarget();
    site = await startHttpTarget();
    store = await db().open();
    hub = await createTestHub(
      store,
      hubConfig({
        systems: {
          onec: { kind: 'http', url: site.url },
          b24: { kind: 'http', url: b24.url },
          site: { kind: 'http', url: site.url },
        },
        sources: [{ name: 'b24-companies', system: 'b24', entity: 'counterparty' }],
        routes: [{ name: 'customers-to-site', entity: 'counterparty', target: 'site' }],
      }),
      { clock: new ManualClock(T0) },
    );
  });
  afterEach(async () => {
    await b24.close();
    await site.close();
    await hub.close();
    await store.close();
  });

  const counterparties = async () =>
    (
      await store.db
        .selectFrom('records')
        .select(['id', 'data'])
        .where('entity', '=', 'counterparty')
        .orderBy('id')
        .execute()
    ).map((r) => ({ id: r.id, data: JSON.parse(r.data) as Record<string, unknown> }));
  const linkOf = async (system: string, externalId: string) =>
    (
      await store.db
        .selectFrom('links')
        .select('record_id')
        .where('entity', '=', 'counterparty')
        .where('system', '=', system)
        .where('external_id', '=', externalId)
        .executeTakeFirst()
    )?.record_id;

  test('a counterparty from Bitrix24 with the phone in another format updates the 1C record, no new one', async () => {
    const first = await hub.ingest('onec', 'counterparty', [
      { externalId: 'g-1', data: { name: 'Иванов ИП', phones: [phone('8 (912) 345-67-89')] } },
    ]);
    assert.equal(first.created, 1);
    const recordId = first.records[0]!.recordId;

    b24.seed('counterparty', [
      { id: 'C-77', data: { name: 'Иванов', phones: [phone('+7 912 3456789')] }, updatedAt: T0 },
    ]);
    const pulled = await runPull(hub.runtime, 'b24-companies');
    assert.equal(pulled.stats.matched, 1);
    assert.equal(pulled.stats.created, 0, 'no second record');
    assert.equal(pulled.stats.updated, 1, "Bitrix24's version updates the matched record");
    assert.equal(await linkOf('b24', 'C-77'), recordId);
    const all = await counterparties();
    assert.equal(all.length, 1);
    assert.equal(all[0]!.data.name, 'Иванов');

    // Delivered once to the site: one object there, not two.
    await hub.deliver('customers-to-site');
    assert.equal(site.objects('counterparty').size, 1);

    // The next poll of the same object goes straight to its link (no matching, no change).
    const again = await runPull(hub.runtime, 'b24-companies', { full: true });
    assert.equal(again.stats.matched, 0);
    assert.equal(again.stats.unchanged, 1);
  });

  test('several candidates are never guessed: the item is held until a person links it', async () => {
    const first = await hub.ingest('onec', 'counterparty', [
      { externalId: 'g-1', data: { name: 'Петров (склад)', phones: [phone('+7 (903) 111-22-33')] } },
      { externalId: 'g-2', data: { name: 'Петров (офис)', phones: [phone('8 903 111 22 33')] } },
    ]);
    assert.equal(first.created, 2);

    b24.seed('counterparty', [
      { id: 'C-5', data: { name: 'Петров', phones: [phone('89031112233')] }, updatedAt: T0 },
    ]);
    const pulled = await runPull(hub.runtime, 'b24-companies');
    assert.equal(pulled.stats.held, 1);
    assert.equal(pulled.stats.created, 0);
    assert.equal((await counterparties()).length, 2, 'nothing created while held');
    assert.equal(await linkOf('b24', 'C-5'), undefined);
    const session = await store.db
      .selectFrom('sessions')
      .select('status')
      .where('id', '=', pulled.sessionId)
      .executeTakeFirstOrThrow();
    assert.equal(session.status, 'partial', 'a hold needs a person: the session says so');

    const holds = await listHolds(store, { kind: 'possible_duplicate' });
    assert.equal(holds.total, 1);
    const hold = holds.items[0]!;
    assert.equal(hold.externalId, 'C-5');
    assert.deepEqual(
      hold.candidates.map((c) => c.recordId).sort(),
      first.records.map((r) => r.recordId).sort(),
    );

    const chosen = first.records.find((r) => r.externalId === 'g-2')!.recordId;
    await resolveHold(store, hold.id, { link: chosen }, 'admin');
    const after = await runPull(hub.runtime, 'b24-companies', { full: true });
    assert.equal(after.stats.held, 0);
    assert.equal(after.stats.updated, 1);
    const all = await counterparties();
    assert.equal(all.length, 2);
    assert.equal(all.find((r) => r.id === chosen)!.data.name, 'Петров');
  });

  test('match keys follow the data: a changed phone matches by the new number only', async () => {
    const first = await hub.ingest('onec', 'counterparty', [
      { externalId: 'g-1', data: { name: 'Сидоров', phones: [phone('+7 916 000-00-01')] } },
    ]);
    await hub.ingest('onec', 'counterparty', [
      { externalId: 'g-1', data: { name: 'Сидоров', phones: [phone('+7 916 000-00-02')] } },
    ]);
    const keys = await store.db
      .selectFrom('match_keys')
      .select(['rule', 'key'])
      .where('record_id', '=', first.records[0]!.recordId)
      .execute();
    assert.deepEqual(keys, [{ rule: 'phone', key: '+79160000002' }]);

    const old = await hub.ingest('b24', 'counterparty', [
      { externalId: 'C-1', data: { name: 'Сидоров', phones: [phone('89160000001')] } },
    ]);
    assert.equal(old.matched, 0);
    assert.equal(old.created, 1, 'the old number no longer belongs to anyone');
    const current = await hub.ingest('b24', 'counterparty', [
      { externalId: 'C-2', data: { name: 'Сидоров', phones: [phone('8 (916) 000-00-02')] } },
    ]);
    assert.equal(current.matched, 1);
    assert.equal(await linkOf('b24', 'C-2'), first.records[0]!.recordId);
  });

  test('entities without rules, and entities turned off, pay nothing: no match keys, no matching', async () => {
    const runtime = createRuntime({
      config: hub.runtime.config,
      store,
      owner: 'test',
      clock: new ManualClock(T0),
      matching: { product: [] },
    });
    try {
      const products = await ingest(runtime.ingest, {
        system: 'onec',
        entity: 'product',
        items: [{ externalId: 'p1', data: { name: 'Чайник', article: 'A-1' } }],
      });
      const again = await ingest(runtime.ingest, {
        system: 'b24',
        entity: 'product',
        items: [{ externalId: 'x1', data: { name: 'Чайник', article: 'A-1' } }],
      });
      assert.equal(products.created + again.created, 2, 'product matching is off: two records');
      assert.equal(again.matched, 0);
      await ingest(runtime.ingest, {
        system: 'onec',
        entity: 'warehouse',
        items: [{ externalId: 'w1', data: { name: 'Основной склад' } }],
      });
      const keys = await store.db.selectFrom('match_keys').select('record_id').execute();
      assert.equal(keys.length, 0);
      // Counterparties keep the built-in rules (entities left out of the override).
      await ingest(runtime.ingest, {
        system: 'onec',
        entity: 'counterparty',
        items: [{ externalId: 'g-1', data: { name: 'Иванов', phones: [phone('+79120000000')] } }],
      });
      assert.equal((await store.db.selectFrom('match_keys').select('key').execute()).length, 1);
    } finally {
      await runtime.close();
    }
  });
});
