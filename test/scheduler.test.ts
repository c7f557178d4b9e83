import assert from 'node:assert/strict';
import { it } from 'node:test';
import { configSchema, type ObmenConfig } from '../src/config/schema.ts';
import { ManualClock } from '../src/core/clock.ts';
import { claimJob, completeJob } from '../src/engine/jobs.ts';
import { createScheduler, routeReleaseAt, type Scheduler } from '../src/engine/scheduler.ts';
import type { Store } from '../src/store/store.ts';
import { forEachDialect } from './support/stores.ts';

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const MIN = 60_000;

function config(over: { sources?: unknown[]; routes?: unknown[]; retention?: string } = {}): ObmenConfig {
  return configSchema.parse({
    sources: over.sources ?? [],
    routes: over.routes ?? [],
    retention: { schedule: over.retention ?? '1d' },
  });
}

async function jobs(store: Store) {
  return store.db
    .selectFrom('jobs')
    .select(['id', 'name', 'kind', 'payload', 'state', 'run_after'])
    .orderBy('id')
    .execute();
}

async function finishAll(store: Store, now: number): Promise<void> {
  for (;;) {
    const job = await claimJob(store, 'w', { leaseMs: MIN, now });
    if (!job) return;
    await completeJob(store, job.id, 'w', now);
  }
}

async function nextRunAt(store: Store, name: string): Promise<number | undefined> {
  const row = await store.db
    .selectFrom('schedules')
    .select('next_run_at')
    .where('name', '=', name)
    .executeTakeFirst();
  return row?.next_run_at;
}

forEachDialect('scheduler', (db) => {
  it('enqueues an interval source’s pull at once and then every interval, never twice', async () => {
    const store = await db().open();
    const clock = new ManualClock(T0);
    const cfg = config({
      sources: [
        { name: 'onec-products', system: 'onec', entity: 'product', schedule: '5m' },
        { name: 'site-orders', system: 'site', entity: 'order', schedule: 'on-change' },
      ],
    });
    const scheduler = createScheduler({ store, config: cfg, owner: 'me', clock });
    try {
      await scheduler.tick();
      let all = await jobs(store);
      assert.deepEqual(
        all.map((j) => [j.name, j.kind, JSON.parse(j.payload)]),
        [['pull:onec-products', 'pull', { source: 'onec-products' }]],
      );
      assert.equal(await nextRunAt(store, 'source:onec-products'), T0 + 5 * MIN);
      assert.equal(
        await nextRunAt(store, 'source:site-orders'),
        undefined,
        'on-change sources are not timed',
      );

      await scheduler.tick();
      assert.equal((await jobs(store)).length, 1, 'same instant: nothing new');

      await finishAll(store, T0 + 1000);
      clock.set(T0 + 5 * MIN - 1);
      await scheduler.tick();
      assert.equal((await jobs(store)).length, 1, 'not due yet');

      // A late tick keeps the cadence: the next run stays on the 5-minute grid.
      clock.set(T0 + 5 * MIN + 700);
      await scheduler.tick();
      all = await jobs(store);
      assert.equal(all.length, 2);
      assert.equal(all[1]?.name, 'pull:onec-products');
      assert.equal(await nextRunAt(store, 'source:onec-products'), T0 + 10 * MIN);

      // The previous pull still runs at the next due time: no second copy is queued, the slot passes.
      clock.set(T0 + 10 * MIN);
      await scheduler.tick();
      assert.equal((await jobs(store)).length, 2);
      assert.equal(await nextRunAt(store, 'source:onec-products'), T0 + 15 * MIN);

      // After downtime the missed runs are skipped, not fired in a burst.
      await finishAll(store, clock.now());
      clock.set(T0 + 62 * MIN);
      await scheduler.tick();
      await scheduler.tick();
      assert.equal((await jobs(store)).length, 3);
      assert.equal(await nextRunAt(store, 'source:onec-products'), T0 + 67 * MIN);
    } finally {
      await store.close();
    }
  });

  it('follows a cron schedule and enqueues retention on its own schedule', async () => {
    const store = await db().open();
    const clock = new ManualClock(T0);
    const cfg = config({
      sources: [{ name: 'prices', system: 'onec', entity: 'price', schedule: '*/15 * * * *' }],
      retention: '1h',
    });
    const scheduler = createScheduler({ store, config: cfg, owner: 'me', clock });
    try {
      await scheduler.tick();
      assert.deepEqual(await jobs(store), [], 'cron waits for its first fire time');
      assert.equal(await nextRunAt(store, 'source:prices'), T0 + 15 * MIN);
      assert.equal(await nextRunAt(store, 'maintenance:retention'), T0 + 60 * MIN);

      clock.set(T0 + 15 * MIN);
      await scheduler.tick();
      assert.deepEqual(
        (await jobs(store)).map((j) => j.name),
        ['pull:prices'],
      );
      assert.equal(await nextRunAt(store, 'source:prices'), T0 + 30 * MIN);

      await finishAll(store, clock.now());
      clock.set(T0 + 60 * MIN + 5);
      await scheduler.tick();
      assert.deepEqual(
        (await jobs(store)).map((j) => [j.name, j.kind]),
        [
          ['pull:prices', 'pull'],
          ['pull:prices', 'pull'],
          ['retention', 'retention'],
        ],
      );
      assert.equal(await nextRunAt(store, 'source:prices'), T0 + 75 * MIN);
      assert.equal(await nextRunAt(store, 'maintenance:retention'), T0 + 120 * MIN);
    } finally {
      await store.close();
    }
  });

  it('pulls a schedule in when the config shortens it', async () => {
    const store = await db().open();
    const clock = new ManualClock(T0);
    try {
      await store.db
        .insertInto('schedules')
        .values({ name: 'source:p', next_run_at: T0 + 60 * MIN, last_run_at: null })
        .execute();
      const cfg = config({ sources: [{ name: 'p', system: 'onec', entity: 'product', schedule: '5m' }] });
      await createScheduler({ store, config: cfg, owner: 'me', clock }).tick();
      assert.equal(await nextRunAt(store, 'source:p'), T0 + 5 * MIN);
    } finally {
      await store.close();
    }
  });

  it('opens timed routes at their release time; on-change routes are always open', async () => {
    const store = await db().open();
    const clock = new ManualClock(T0);
    const cfg = config({
      routes: [
        { name: 'stock-to-site', entity: 'stock', target: 'site', schedule: '10m' },
        { name: 'orders-to-onec', entity: 'order', target: 'onec' },
      ],
    });
    const [timed, onChange] = cfg.routes as [ObmenConfig['routes'][0], ObmenConfig['routes'][0]];
    const scheduler = createScheduler({ store, config: cfg, owner: 'me', clock });
    try {
      assert.equal(await routeReleaseAt(store, onChange, T0), T0);
      assert.equal(await routeReleaseAt(store, timed, T0), T0 + 10 * MIN);
      await scheduler.tick();
      assert.equal(
        await nextRunAt(store, 'route:stock-to-site'),
        T0 + 10 * MIN,
        'the scheduler keeps the same window',
      );
      assert.equal(await nextRunAt(store, 'route:orders-to-onec'), undefined);

      const before = T0 + 10 * MIN - 500;
      assert.equal(await routeReleaseAt(store, timed, before), T0 + 10 * MIN);
      clock.set(T0 + 10 * MIN);
      await scheduler.tick();
      assert.equal(await nextRunAt(store, 'route:stock-to-site'), T0 + 20 * MIN);
      assert.deepEqual(await jobs(store), [], 'routes enqueue no jobs');
      // Within a second of the last read the cached window (now open) is used: deliver at once.
      assert.equal(await routeReleaseAt(store, timed, T0 + 10 * MIN + 400), T0 + 10 * MIN + 400);
      // After that, the next window is read.
      assert.equal(await routeReleaseAt(store, timed, T0 + 10 * MIN + 600), T0 + 20 * MIN);
    } finally {
      await store.close();
    }
  });

  it('ticks in only one of two started schedulers, so no pull is enqueued twice', async () => {
    // Separate stores on PostgreSQL (as separate processes would have). On SQLite both share
    // one store: better-sqlite3 is synchronous, so two connections in one process would
    // block each other's event loop on the busy timeout, which no real pair of processes does.
    const storeA = await db().open();
    const storeB = storeA.caps.multiHost ? await db().open() : storeA;
    const clock = new ManualClock(T0);
    const cfg = config({ sources: [{ name: 'p', system: 'onec', entity: 'product', schedule: '5m' }] });
    const ticks = [0, 0];
    const schedulers: Scheduler[] = [0, 1].map((i) =>
      createScheduler({
        store: i === 0 ? storeA : storeB,
        config: cfg,
        owner: `s${i}`,
        clock,
        tickMs: 20,
        onTick: () => {
          ticks[i] = (ticks[i] ?? 0) + 1;
        },
      }),
    );
    try {
      for (const s of schedulers) s.start();
      const waitTicks = async (min: number) => {
        const until = Date.now() + 15_000;
        while ((ticks[0] ?? 0) + (ticks[1] ?? 0) < min) {
          if (Date.now() > until) throw new Error('no ticks');
          await new Promise((r) => setTimeout(r, 20));
        }
      };
      await waitTicks(3);
      for (let round = 1; round <= 3; round++) {
        await finishAll(storeA, clock.now());
        clock.advance(5 * MIN);
        const seen = (ticks[0] ?? 0) + (ticks[1] ?? 0);
        await waitTicks(seen + 3);
      }
      assert.equal(ticks.filter((n) => n > 0).length, 1, `ticks ${ticks}`);
      // The one that ticks is the one that says it leads: alerts run only there.
      const leading = schedulers.map((s) => s.isLeader());
      assert.deepEqual(
        leading,
        ticks.map((n) => n > 0),
      );
      const all = await jobs(storeA);
      assert.deepEqual(
        all.map((j) => j.run_after),
        [T0, T0 + 5 * MIN, T0 + 10 * MIN, T0 + 15 * MIN],
      );
    } finally {
      for (const s of schedulers) await s.stop();
      assert.deepEqual(
        schedulers.map((s) => s.isLeader()),
        [false, false],
        'a stopped scheduler leads nothing',
      );
      await storeA.close();
      if (storeB !== storeA) await storeB.close();
    }
  });
});
