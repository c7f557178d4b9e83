import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import { upsertLinks } from '../src/engine/links.ts';
import { refreshStatistics, statisticsSettled } from '../src/store/statistics.ts';
import type { Store } from '../src/store/store.ts';
import { createTestHub, hubConfig, product } from './support/hub.ts';
import { waitUntil } from './support/processes.ts';
import { createTestDatabase, postgresUnavailable, type TestDatabase } from './support/stores.ts';

// PostgreSQL plans key-list lookups from column statistics; obmen refreshes them for its lookup
// tables after bulk changes (src/store/statistics.ts). What the planner must know here: which
// systems hold links. Statistics taken before a target had links made every lookup of that
// target read all its links.

const skip = await postgresUnavailable();

/** The values PostgreSQL's statistics know for a column (empty when never analyzed). */
async function knownValues(store: Store, table: string, column: string): Promise<string[]> {
  const { rows } = await sql<{ values: string | null }>`select most_common_vals::text as values from pg_stats
    where schemaname = current_schema() and tablename = ${table} and attname = ${column}`.execute(store.db);
  const text = rows[0]?.values;
  return text ? text.replace(/^\{|\}$/g, '').split(',') : [];
}

/** Checks again (the change counters reach pg_stat within about a second) until `done`. */
async function refreshUntil(store: Store, done: () => Promise<boolean>, what: string): Promise<void> {
  let now = Date.now();
  await waitUntil(
    async () => {
      now += 2_000; // past the store's once-a-second check
      refreshStatistics(store, now);
      await statisticsSettled(store);
      return done();
    },
    15_000,
    what,
  );
}

describe('planner statistics of the lookup tables [postgres]', { skip }, () => {
  let database: TestDatabase;
  let store: Store;

  before(async () => {
    database = await createTestDatabase('postgres');
    store = await database.open();
  });
  after(async () => {
    await store?.close();
    await database?.drop();
  });

  test('are taken once an import has changed the tables, and again when a new system gets many links', async () => {
    const hub = await createTestHub(
      store,
      hubConfig({ systems: { onec: { kind: 'noop' }, sink: { kind: 'noop' } } }),
    );
    try {
      const items = Array.from({ length: 1_200 }, (_, i) => product(`p${i}`, `Товар ${i}`));
      const result = await hub.ingest('onec', 'product', items);
      assert.equal(result.created, 1_200);
      await refreshUntil(
        store,
        async () => (await knownValues(store, 'links', 'system')).includes('onec'),
        'the links of onec are in the statistics',
      );
      assert.deepEqual(await knownValues(store, 'records', 'entity'), ['product']);
      assert.ok((await knownValues(store, 'match_keys', 'rule')).includes('article'));
      assert.deepEqual(await knownValues(store, 'links', 'system'), ['onec']);

      // A target answers with its ids: 1,200 links of a system the statistics do not know.
      const records = await store.db.selectFrom('records').select('id').execute();
      await store.tx((trx) =>
        upsertLinks(
          trx,
          store.caps,
          { entity: 'product', system: 'sink' },
          records.map((r) => ({ recordId: r.id, externalId: `sink-${r.id}`, hash: null })),
          Date.now(),
        ),
      );
      await refreshUntil(
        store,
        async () => (await knownValues(store, 'links', 'system')).includes('sink'),
        'the links of sink are in the statistics',
      );

      // A third system's links: fewer changes than half the table, but a value the statistics
      // do not know, with more than a thousand rows.
      await store.tx((trx) =>
        upsertLinks(
          trx,
          store.caps,
          { entity: 'product', system: 'site' },
          records.slice(0, 1_100).map((r) => ({ recordId: r.id, externalId: `site-${r.id}`, hash: null })),
          Date.now(),
        ),
      );
      await refreshUntil(
        store,
        async () => (await knownValues(store, 'links', 'system')).includes('site'),
        'the links of site are in the statistics',
      );
    } finally {
      await hub.close();
    }
  });

  test('are not taken again while the tables have barely changed', async () => {
    const analyzedAt = async () => {
      const { rows } = await sql<{ at: Date | null }>`select last_analyze as at from pg_stat_user_tables
        where schemaname = current_schema() and relname = 'links'`.execute(store.db);
      return rows[0]?.at?.getTime() ?? 0;
    };
    const before = await analyzedAt();
    assert.ok(before > 0, 'analyzed by the previous test');
    refreshStatistics(store, Date.now() + 60_000);
    await statisticsSettled(store);
    assert.equal(await analyzedAt(), before);
  });
});
