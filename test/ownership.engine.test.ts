import assert from 'node:assert/strict';
import { afterEach, beforeEach, test } from 'node:test';
import { type HttpTarget, startHttpTarget } from '../emulators/http-target/index.ts';
import { registerConnector } from '../src/connectors/registry.ts';
import { ManualClock } from '../src/core/clock.ts';
import type { DeliveryItem } from '../src/core/connector.ts';
import { runPull } from '../src/engine/pull.ts';
import type { Store } from '../src/store/store.ts';
import { createTestHub, hubConfig, type TestHub } from './support/hub.ts';
import { forEachDialect } from './support/stores.ts';

const T0 = Date.UTC(2026, 10, 22, 10, 0, 0);

/** 1C's counterparty as 1C sends it on every poll (with the phone 1C still has). */
const FROM_UT = {
  externalId: 'ut-1',
  data: {
    kind: 'company',
    name: 'ООО Ромашка',
    fullName: 'Общество с ограниченной ответственностью «Ромашка»',
    inn: '7707083893',
    phones: [{ value: '+7 495 000-00-01' }],
  },
};

/** What the engine hands to a target's connector (the connectors' own handling is tested over HTTP). */
const handed: DeliveryItem[] = [];
registerConnector({
  kind: 'ownership-recorder',
  create: () => ({
    check: async () => {},
    write: async (_route, items) => {
      handed.push(...items);
      return items.map((item) => ({
        recordId: item.recordId,
        ok: true as const,
        externalId: `r-${item.recordId}`,
      }));
    },
    close: async () => {},
  }),
});

forEachDialect('field ownership and last-writer-wins in the engine', (db) => {
  let crm: HttpTarget;
  let store: Store;
  let hub: TestHub;

  beforeEach(async () => {
    handed.length = 0;
    crm = await startHttpTarget();
    store = await db().open();
    hub = await createTestHub(
      store,
      hubConfig({
        systems: {
          ut: { kind: 'ownership-recorder' },
          crm: { kind: 'http', url: crm.url },
          site: { kind: 'ownership-recorder' },
        },
        sources: [{ name: 'crm-contacts', system: 'crm', entity: 'contact' }],
        routes: [
          { name: 'counterparties-to-ut', entity: 'counterparty', target: 'ut' },
          { name: 'counterparties-to-site', entity: 'counterparty', target: 'site' },
        ],
        ownership: {
          counterparty: {
            owners: { ut: ['name', 'fullName', 'inn', 'kpp', 'addresses'], crm: ['phones', 'emails'] },
          },
          contact: { unowned: 'newest' },
        },
      }),
      { clock: new ManualClock(T0) },
    );
  });
  afterEach(async () => {
    await hub.close();
    await store.close();
    await crm.close();
  });

  const record = async (entity: string, id: string) => {
    const row = await store.db
      .selectFrom('records')
      .select(['version', 'data', 'origin', 'source_updated_at'])
      .where('entity', '=', entity)
      .where('id', '=', id)
      .executeTakeFirstOrThrow();
    return { ...row, data: JSON.parse(row.data) as Record<string, unknown> };
  };
  // Versions made so far: the current one (records) and the past ones (history).
  const versions = async (id: string) =>
    (await store.db.selectFrom('record_history').select('version').where('id', '=', id).execute()).length +
    (await store.db.selectFrom('records').select('version').where('id', '=', id).execute()).length;

  test("a non-owner's values never win; an echo of unchanged owned fields makes no version", async () => {
    const first = await hub.ingest('ut', 'counterparty', [FROM_UT]);
    const id = first.records[0]!.recordId;
    // Bitrix24 knows the company under its own id (linked by matching or an earlier delivery).
    await store.db
      .insertInto('links')
      .values({
        entity: 'counterparty',
        record_id: id,
        system: 'crm',
        external_id: 'company:7',
        last_hash: null,
        updated_at: T0,
      })
      .execute();

    // The echo from Bitrix24: no full name (it has none), its own spelling of the name, the same phone.
    const echo = await hub.ingest('crm', 'counterparty', [
      {
        externalId: 'company:7',
        data: {
          kind: 'company',
          name: 'Ромашка',
          inn: '7707083893',
          phones: [{ value: '+7 495 000-00-01' }],
        },
      },
    ]);
    assert.deepEqual([echo.created, echo.updated, echo.unchanged], [0, 0, 1], 'no version from the echo');
    assert.equal(await versions(id), 1);

    // Bitrix24 changes the phone (its field) and the name (not its field): only the phone is taken.
    const changed = await hub.ingest('crm', 'counterparty', [
      {
        externalId: 'company:7',
        data: {
          kind: 'company',
          name: 'Ромашка и Ко',
          inn: '0000000000',
          phones: [{ value: '+7 495 000-00-99' }],
        },
      },
    ]);
    assert.equal(changed.updated, 1);
    const after = await record('counterparty', id);
    assert.deepEqual(after.data, {
      kind: 'company',
      name: 'ООО Ромашка',
      fullName: 'Общество с ограниченной ответственностью «Ромашка»',
      inn: '7707083893',
      phones: [{ value: '+7 495 000-00-99' }],
    });
    assert.equal(after.origin, 'crm');

    // 1C sends its unchanged object again (with its old phone): nothing it owns changed, no version.
    const poll = await hub.ingest('ut', 'counterparty', [FROM_UT]);
    assert.equal(poll.unchanged, 1);
    assert.equal(await versions(id), 2);
  });

  test('delivery tells each target which fields it owns', async () => {
    await hub.ingest('crm', 'counterparty', [
      { externalId: 'company:1', data: { name: 'ООО Лютик', phones: [{ value: '+7 912 000-00-01' }] } },
    ]);
    await hub.deliver('counterparties-to-ut');
    await hub.deliver('counterparties-to-site');
    assert.equal(handed.length, 2);
    const [toUt, toSite] = handed;
    assert.deepEqual(toUt!.ownedFields, ['name', 'fullName', 'inn', 'kpp', 'addresses']);
    assert.equal(toSite!.ownedFields, undefined, 'a system that owns nothing gets the whole object');
  });

  test('a new object matched to an existing one keeps the owner fields of the existing record', async () => {
    const first = await hub.ingest('ut', 'counterparty', [
      {
        externalId: 'ut-5',
        data: { name: 'ИП Кузнецов', inn: '770000000005', phones: [{ value: '+7 912 345 67 89' }] },
      },
    ]);
    const matched = await hub.ingest('crm', 'counterparty', [
      {
        externalId: 'contact:3',
        data: { kind: 'person', name: 'Кузнецов Пётр', phones: [{ value: '8 (912) 345-67-89' }] },
      },
    ]);
    assert.equal(matched.matched, 1);
    assert.equal(matched.created, 0);
    const data = (await record('counterparty', first.records[0]!.recordId)).data;
    assert.equal(data['name'], 'ИП Кузнецов', '1C owns the name');
    assert.equal(data['kind'], 'person', 'nobody owns the kind: the change is taken');
    assert.deepEqual(data['phones'], [{ value: '8 (912) 345-67-89' }], 'Bitrix24 owns the phones');
  });

  test('last-writer-wins: an older change from another system is ignored and counted stale in the session', async () => {
    const made = await hub.ingest('ut', 'contact', [
      { externalId: 'p-1', data: { name: 'Иванов Иван', position: 'директор' }, sourceUpdatedAt: T0 },
    ]);
    const id = made.records[0]!.recordId;
    await store.db
      .insertInto('links')
      .values({
        entity: 'contact',
        record_id: id,
        system: 'crm',
        external_id: 'C-1',
        last_hash: null,
        updated_at: T0,
      })
      .execute();

    // Bitrix24's copy was last edited before 1C's change reached the hub.
    crm.seed('contact', [
      { id: 'C-1', data: { name: 'Иванов Иван', position: 'менеджер' }, updatedAt: T0 - 60_000 },
    ]);
    const stale = await runPull(hub.runtime, 'crm-contacts');
    assert.deepEqual([stale.stats.stale, stale.stats.updated, stale.stats.unchanged], [1, 0, 0]);
    const session = await store.db
      .selectFrom('sessions')
      .select(['counts', 'status'])
      .where('id', '=', stale.sessionId)
      .executeTakeFirstOrThrow();
    assert.equal((JSON.parse(session.counts) as Record<string, number>)['stale'], 1);
    assert.equal(session.status, 'ok');
    let now = await record('contact', id);
    assert.equal(now.data['position'], 'директор');
    assert.equal(now.version, 1);
    assert.equal(now.source_updated_at, T0);

    // A later edit in Bitrix24 wins, and its time becomes the record's.
    crm.seed('contact', [
      { id: 'C-1', data: { name: 'Иванов Иван', position: 'менеджер' }, updatedAt: T0 + 60_000 },
    ]);
    const newer = await runPull(hub.runtime, 'crm-contacts');
    assert.deepEqual([newer.stats.stale, newer.stats.updated], [0, 1]);
    now = await record('contact', id);
    assert.equal(now.data['position'], 'менеджер');
    assert.equal(now.source_updated_at, T0 + 60_000);

    // 1C then sends its old state (changed before Bitrix24's edit): ignored.
    const old = await hub.ingest('ut', 'contact', [
      { externalId: 'p-1', data: { name: 'Иванов Иван', position: 'директор' }, sourceUpdatedAt: T0 },
    ]);
    assert.equal(old.stale, 1);
    assert.equal((await record('contact', id)).data['position'], 'менеджер');
  });
});
