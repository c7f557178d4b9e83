import assert from 'node:assert/strict';
import { it } from 'node:test';
import {
  failStaleSessions,
  finishSession,
  INTERRUPTED_ERROR,
  parseCounts,
  startSession,
} from '../src/engine/sessions.ts';
import { forEachDialect } from './support/stores.ts';

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);

forEachDialect('sessions', (db) => {
  it('starts a running session and finishes it with status, counts and error', async () => {
    const store = await db().open();
    try {
      const id = await startSession(
        store,
        { kind: 'pull', system: 'onec', name: 'onec-products', owner: 'w1' },
        T0,
      );
      let row = await store.db
        .selectFrom('sessions')
        .selectAll()
        .where('id', '=', id)
        .executeTakeFirstOrThrow();
      assert.equal(row.status, 'running');
      assert.equal(row.kind, 'pull');
      assert.equal(row.system, 'onec');
      assert.equal(row.owner, 'w1');
      assert.equal(row.started_at, T0);
      assert.equal(row.finished_at, null);

      await finishSession(
        store,
        id,
        { status: 'partial', counts: { read: 10, ingested: 7, failed: 3 }, error: '3 items failed' },
        T0 + 5000,
      );
      row = await store.db.selectFrom('sessions').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
      assert.equal(row.status, 'partial');
      assert.equal(row.finished_at, T0 + 5000);
      assert.deepEqual(parseCounts(row.counts), { read: 10, ingested: 7, failed: 3 });
      assert.equal(row.error, '3 items failed');

      const other = await startSession(store, { kind: 'deliver', name: 'products-to-site' }, T0);
      assert.notEqual(other, id);
      await finishSession(store, other, { status: 'ok', counts: { delivered: 2 } }, T0 + 1);
      const second = await store.db
        .selectFrom('sessions')
        .selectAll()
        .where('id', '=', other)
        .executeTakeFirstOrThrow();
      assert.equal(second.status, 'ok');
      assert.equal(second.error, null);
      assert.equal(second.system, null);
    } finally {
      await store.close();
    }
  });

  it('fails only running sessions started before the cutoff, sparing live owners', async () => {
    const store = await db().open();
    try {
      const old = await startSession(store, { kind: 'pull', name: 'a', owner: 'dead' }, T0);
      const oldAlive = await startSession(store, { kind: 'pull', name: 'b', owner: 'alive' }, T0);
      const recent = await startSession(store, { kind: 'pull', name: 'c', owner: 'dead' }, T0 + 10_000);
      const finished = await startSession(store, { kind: 'pull', name: 'd', owner: 'dead' }, T0);
      await finishSession(store, finished, { status: 'ok', counts: {} }, T0 + 1);

      const n = await failStaleSessions(store, T0 + 5000, { aliveOwners: ['alive'], now: T0 + 6000 });
      assert.equal(n, 1);
      const rows = await store.db.selectFrom('sessions').selectAll().orderBy('id').execute();
      const byId = new Map(rows.map((r) => [Number(r.id), r]));
      assert.equal(byId.get(old)?.status, 'failed');
      assert.equal(byId.get(old)?.error, INTERRUPTED_ERROR);
      assert.equal(byId.get(old)?.finished_at, T0 + 6000);
      assert.equal(byId.get(oldAlive)?.status, 'running');
      assert.equal(byId.get(recent)?.status, 'running');
      assert.equal(byId.get(finished)?.status, 'ok');

      // Without a list of live owners every old running session counts as interrupted.
      assert.equal(await failStaleSessions(store, T0 + 5000), 1);
      const alive = await store.db
        .selectFrom('sessions')
        .select('status')
        .where('id', '=', oldAlive)
        .executeTakeFirstOrThrow();
      assert.equal(alive.status, 'failed');
    } finally {
      await store.close();
    }
  });
});
