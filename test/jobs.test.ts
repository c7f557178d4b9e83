import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { claimJob, completeJob, enqueueJob, failJob, heartbeatJob } from '../src/engine/jobs.ts';
import { openStore } from '../src/store/store.ts';
import { forEachDialect } from './support/stores.ts';

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const LEASE = 60_000;

/**
 * Races need separate processes: better-sqlite3 is synchronous, so two stores in one process
 * would block each other's event loop on the busy timeout. This file, started with
 * JOBS_CHILD set, is one such process: it waits for a shared start instant, then enqueues or
 * claims `count` times and prints what it got.
 */
interface ChildTask {
  op: 'enqueue' | 'claim';
  count: number;
}

if (process.env.JOBS_CHILD) {
  const task = JSON.parse(process.env.JOBS_CHILD) as ChildTask;
  const store = await openStore({
    url: process.env.OBMEN_DATABASE_URL as string,
    pgSchema: process.env.OBMEN_PG_SCHEMA,
    migrate: false,
  });
  // Warm the connection, then wait for the parent's "go" so all children race together.
  await store.db.selectFrom('jobs').select('id').limit(1).execute();
  process.stdout.write('ready\n');
  await new Promise((r) => process.stdin.once('data', r));
  const got: (number | null)[] = [];
  for (let i = 0; i < task.count; i++) {
    if (task.op === 'enqueue') {
      got.push((await enqueueJob(store, { name: 'pull:race', kind: 'pull' }, T0)) ?? null);
    } else {
      got.push((await claimJob(store, `child-${process.pid}`, { leaseMs: LEASE, now: T0 }))?.id ?? null);
    }
  }
  await store.close();
  process.stdout.write(`${JSON.stringify(got)}\n`);
  process.exit(0);
}

async function runChildren(
  env: Record<string, string>,
  n: number,
  task: ChildTask,
): Promise<(number | null)[][]> {
  const file = fileURLToPath(import.meta.url);
  const children = Array.from({ length: n }, () => {
    const child = spawn(process.execPath, ['--import', 'tsx', file], {
      env: { ...childEnv(), ...env, JOBS_CHILD: JSON.stringify(task) },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    let markReady: () => void = () => {};
    const ready = new Promise<void>((r) => {
      markReady = r;
    });
    child.stdout.on('data', (d) => {
      out += d;
      if (out.startsWith('ready\n')) markReady();
    });
    child.stderr.on('data', (d) => {
      err += d;
    });
    const result = new Promise<(number | null)[]>((resolve, reject) => {
      child.on('exit', (code) => {
        markReady();
        if (code === 0) resolve(JSON.parse(out.slice('ready\n'.length)) as (number | null)[]);
        else reject(new Error(`child exited ${code}: ${err}`));
      });
    });
    return { child, ready, result };
  });
  await Promise.all(children.map((c) => c.ready));
  for (const c of children) c.child.stdin.end('go');
  return Promise.all(children.map((c) => c.result));
}

/** The parent's environment minus the test runner's, so the child is a plain process. */
function childEnv(): NodeJS.ProcessEnv {
  const { NODE_TEST_CONTEXT: _, ...env } = process.env;
  return env;
}

forEachDialect('jobs queue', (db) => {
  it('dedupes by name while queued or running, and allows it again once done', async () => {
    const store = await db().open();
    try {
      const id = await enqueueJob(
        store,
        { name: 'pull:onec-products', kind: 'pull', payload: { source: 'onec-products' } },
        T0,
      );
      assert.equal(typeof id, 'number');
      assert.equal(await enqueueJob(store, { name: 'pull:onec-products', kind: 'pull' }, T0), undefined);
      const other = await enqueueJob(store, { name: 'pull:onec-prices', kind: 'pull' }, T0);
      assert.equal(typeof other, 'number');

      const job = await claimJob(store, 'w1', { leaseMs: LEASE, now: T0 });
      assert.equal(job?.id, id);
      assert.deepEqual(job?.payload, { source: 'onec-products' });
      assert.equal(
        await enqueueJob(store, { name: 'pull:onec-products', kind: 'pull' }, T0),
        undefined,
        'running blocks too',
      );

      await completeJob(store, id as number, 'w1', T0 + 10);
      const again = await enqueueJob(store, { name: 'pull:onec-products', kind: 'pull' }, T0 + 20);
      assert.equal(typeof again, 'number');
      assert.notEqual(again, id);
    } finally {
      await store.close();
    }
  });

  it('claims the oldest due job, honours runAfter and kinds', async () => {
    const store = await db().open();
    try {
      const later = await enqueueJob(store, { name: 'later', kind: 'pull', runAfter: T0 + 1000 }, T0 - 50);
      const second = await enqueueJob(store, { name: 'second', kind: 'pull', runAfter: T0 - 10 }, T0 - 40);
      const first = await enqueueJob(store, { name: 'first', kind: 'pull', runAfter: T0 - 20 }, T0 - 30);
      const maint = await enqueueJob(
        store,
        { name: 'retention', kind: 'retention', runAfter: T0 - 30 },
        T0 - 30,
      );

      assert.equal((await claimJob(store, 'w', { leaseMs: LEASE, kinds: ['pull'], now: T0 }))?.id, first);
      assert.equal((await claimJob(store, 'w', { leaseMs: LEASE, kinds: ['pull'], now: T0 }))?.id, second);
      assert.equal(
        await claimJob(store, 'w', { leaseMs: LEASE, kinds: ['pull'], now: T0 }),
        undefined,
        'not due yet',
      );
      assert.equal((await claimJob(store, 'w', { leaseMs: LEASE, now: T0 }))?.id, maint);
      assert.equal((await claimJob(store, 'w', { leaseMs: LEASE, now: T0 + 1000 }))?.id, later);
      assert.equal(await claimJob(store, 'w', { leaseMs: LEASE, kinds: [], now: T0 + 1000 }), undefined);
    } finally {
      await store.close();
    }
  });

  it('hands a crashed worker’s job to another once the lease expires; the old owner is fenced off', async () => {
    const store = await db().open();
    try {
      const id = (await enqueueJob(store, { name: 'pull:x', kind: 'pull' }, T0)) as number;
      const a = await claimJob(store, 'dead', { leaseMs: LEASE, now: T0 });
      assert.equal(a?.attempts, 1);
      assert.equal(await heartbeatJob(store, id, 'dead', LEASE, T0 + 30_000), true);
      // Lease now runs to T0 + 90 s.
      assert.equal(await claimJob(store, 'live', { leaseMs: LEASE, now: T0 + 89_999 }), undefined);
      const b = await claimJob(store, 'live', { leaseMs: LEASE, now: T0 + 90_000 });
      assert.equal(b?.id, id);
      assert.equal(b?.attempts, 2);

      assert.equal(await heartbeatJob(store, id, 'dead', LEASE, T0 + 90_001), false);
      await completeJob(store, id, 'dead', T0 + 90_002);
      let row = await store.db.selectFrom('jobs').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
      assert.equal(row.state, 'running', 'the old owner cannot complete it');
      assert.equal(row.lease_owner, 'live');

      await completeJob(store, id, 'live', T0 + 95_000);
      row = await store.db.selectFrom('jobs').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
      assert.equal(row.state, 'done');
      assert.equal(row.finished_at, T0 + 95_000);
      assert.equal(await heartbeatJob(store, id, 'live', LEASE, T0 + 95_001), false);
    } finally {
      await store.close();
    }
  });

  it('fails a job for good, or puts it back at retryAt', async () => {
    const store = await db().open();
    try {
      const id = (await enqueueJob(store, { name: 'pull:y', kind: 'pull' }, T0)) as number;
      await claimJob(store, 'w', { leaseMs: LEASE, now: T0 });
      await failJob(store, id, 'w', 'onec: HTTP 503', T0 + 5000, T0 + 10);
      let row = await store.db.selectFrom('jobs').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
      assert.equal(row.state, 'queued');
      assert.equal(row.run_after, T0 + 5000);
      assert.equal(row.last_error, 'onec: HTTP 503');
      assert.equal(row.lease_owner, null);
      assert.equal(await claimJob(store, 'w', { leaseMs: LEASE, now: T0 + 4999 }), undefined);
      const retried = await claimJob(store, 'w', { leaseMs: LEASE, now: T0 + 5000 });
      assert.equal(retried?.attempts, 2);

      await failJob(store, id, 'w', 'onec: bad credentials', undefined, T0 + 6000);
      row = await store.db.selectFrom('jobs').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
      assert.equal(row.state, 'failed');
      assert.equal(row.finished_at, T0 + 6000);
      assert.equal(await claimJob(store, 'w', { leaseMs: LEASE, now: T0 + 999_999 }), undefined);
      assert.equal(typeof (await enqueueJob(store, { name: 'pull:y', kind: 'pull' }, T0 + 7000)), 'number');
    } finally {
      await store.close();
    }
  });

  it('keeps one job when several processes enqueue the same name at once', async () => {
    const store = await db().open();
    try {
      const results = await runChildren(db().env, 4, { op: 'enqueue', count: 4 });
      const ids = results.flat().filter((r) => r !== null);
      assert.equal(results.flat().length, 16);
      assert.equal(ids.length, 1, JSON.stringify(results));
      const rows = await store.db.selectFrom('jobs').select('id').where('name', '=', 'pull:race').execute();
      assert.deepEqual(
        rows.map((r) => Number(r.id)),
        ids,
      );
    } finally {
      await store.close();
    }
  });

  it('gives concurrently claiming processes disjoint jobs', async () => {
    const store = await db().open();
    try {
      for (let i = 0; i < 20; i++) await enqueueJob(store, { name: `job-${i}`, kind: 'pull' }, T0);
      const results = await runChildren(db().env, 3, { op: 'claim', count: 8 });
      const ids = results.flat().filter((r) => r !== null);
      assert.equal(ids.length, 20, JSON.stringify(results));
      assert.equal(new Set(ids).size, 20);
    } finally {
      await store.close();
    }
  });
});
