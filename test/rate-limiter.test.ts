import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { LimitsConfig } from '../src/config/schema.ts';
import { type Clock, ManualClock } from '../src/core/clock.ts';
import type { ObmenError } from '../src/core/errors.ts';
import { createRateLimiter, parseRate } from '../src/engine/rate-limiter.ts';
import type { Store } from '../src/store/store.ts';
import { forEachDialect } from './support/stores.ts';

/** A ManualClock that remembers every sleep, so tests can assert the computed waits. */
class RecordingClock extends ManualClock {
  sleeps: number[] = [];
  override async sleep(ms: number): Promise<void> {
    this.sleeps.push(ms);
    await super.sleep(ms);
  }
}

class WouldWait extends Error {
  constructor(readonly ms: number) {
    super(`would wait ${ms} ms`);
  }
}

/** Time stands still and any wait is reported instead of taken: counts what is granted "now". */
class FrozenClock implements Clock {
  constructor(public current: number) {}
  now(): number {
    return this.current;
  }
  async sleep(ms: number): Promise<void> {
    throw new WouldWait(ms);
  }
}

/** Grants until the limiter would wait; returns how many went. */
async function grantsNow(acquire: () => Promise<void>, max = 1000): Promise<number> {
  let granted = 0;
  for (; granted < max; granted++) {
    try {
      await acquire();
    } catch (error) {
      if (error instanceof WouldWait) return granted;
      throw error;
    }
  }
  return granted;
}

// 2026-01-01 12:00 UTC is 15:00 in Moscow (UTC+3 all year).
const MSK = (hh: number, mm: number, ss = 0, ms = 0) => Date.UTC(2026, 0, 1, hh - 3, mm, ss, ms);

describe('parseRate', () => {
  it('reads counts per unit and per multiple of a unit', () => {
    assert.deepEqual(parseRate('2/s'), { count: 2, perMs: 1000 });
    assert.deepEqual(parseRate('100/min'), { count: 100, perMs: 60_000 });
    assert.deepEqual(parseRate('100/m'), { count: 100, perMs: 60_000 });
    assert.deepEqual(parseRate('500/h'), { count: 500, perMs: 3_600_000 });
    assert.deepEqual(parseRate('500/hour'), { count: 500, perMs: 3_600_000 });
    assert.deepEqual(parseRate('10000/day'), { count: 10000, perMs: 86_400_000 });
    assert.deepEqual(parseRate('10/5s'), { count: 10, perMs: 5000 });
    assert.deepEqual(parseRate(' 3 / sec '), { count: 3, perMs: 1000 });
  });
  for (const bad of ['', '2', 's', '2/fortnight', '0/s', '-1/s', '2 per second', '2/0s']) {
    it(`rejects ${JSON.stringify(bad)} with an example of a good rate`, () => {
      assert.throws(() => parseRate(bad), /not understood.*e\.g\. "2\/s"/);
    });
  }
});

describe('rate limiter (in memory)', () => {
  it('never waits without limits', async () => {
    const clock = new RecordingClock();
    const limiter = createRateLimiter({ system: 'x', limits: undefined, clock });
    for (let i = 0; i < 100; i++) await limiter.acquire();
    assert.deepEqual(clock.sleeps, []);
  });

  it('spaces requests exactly at the rate once the burst is spent', async () => {
    const clock = new RecordingClock();
    const start = clock.now();
    const limiter = createRateLimiter({ system: 'x', limits: { rate: '2/s', burst: 1 }, clock });
    const grants: number[] = [];
    for (let i = 0; i < 5; i++) {
      await limiter.acquire();
      grants.push(clock.now() - start);
    }
    assert.deepEqual(grants, [0, 500, 1000, 1500, 2000]);
    assert.deepEqual(clock.sleeps, [500, 500, 500, 500]);
  });

  it('lets a burst go at once, then refills continuously; default burst is the count', async () => {
    const clock = new FrozenClock(Date.UTC(2026, 0, 1));
    const limiter = createRateLimiter({ system: 'x', limits: { rate: '3/s', burst: 5 }, clock });
    assert.equal(await grantsNow(() => limiter.acquire()), 5);
    clock.current += 1000;
    assert.equal(await grantsNow(() => limiter.acquire()), 3);
    clock.current += 10_000;
    assert.equal(await grantsNow(() => limiter.acquire()), 5, 'the bucket never holds more than the burst');

    const byDefault = createRateLimiter({ system: 'y', limits: { rate: '4/s' }, clock });
    assert.equal(await grantsNow(() => byDefault.acquire()), 4);
    await assert.rejects(byDefault.acquire(), (error: WouldWait) => error.ms === 250);
  });

  it('switches from the day window to the base rate exactly at 21:00 Moscow time', async () => {
    const limits: LimitsConfig = {
      rate: '10/s',
      timezone: 'Europe/Moscow',
      windows: [{ from: '09:00', to: '21:00', rate: '1/min', burst: 1 }],
    };
    const clock = new RecordingClock(MSK(20, 59, 59, 999));
    const limiter = createRateLimiter({ system: 'x', limits, clock });
    const before = await limiter.state();
    assert.equal(before.window, '09:00-21:00');
    assert.equal(before.ratePerSec, 1 / 60);

    await limiter.acquire();
    assert.deepEqual(clock.sleeps, []);
    await limiter.acquire();
    // The day rate would make it wait a minute; it sleeps only to the boundary, then the
    // night rate (10/s) applies to an empty bucket: 100 ms more.
    assert.deepEqual(clock.sleeps, [1, 100]);
    assert.equal(clock.now(), MSK(21, 0, 0, 100));

    clock.set(MSK(21, 0));
    const after = await limiter.state();
    assert.equal(after.window, undefined);
    assert.equal(after.ratePerSec, 10);
    assert.equal(after.burst, 10);
    clock.set(MSK(20, 59, 59, 999));
    assert.equal((await limiter.state()).window, '09:00-21:00');
  });

  it('applies a window that wraps midnight on both sides of it', async () => {
    const limits: LimitsConfig = {
      rate: '1/s',
      timezone: 'Europe/Moscow',
      windows: [{ from: '22:00', to: '06:00', rate: '50/s' }],
    };
    const clock = new ManualClock();
    const limiter = createRateLimiter({ system: 'x', limits, clock });
    const at = async (time: number) => {
      clock.set(time);
      return (await limiter.state()).ratePerSec;
    };
    assert.equal(await at(MSK(21, 59, 59, 999)), 1);
    assert.equal(await at(MSK(22, 0)), 50);
    assert.equal(await at(MSK(23, 30)), 50);
    assert.equal(await at(MSK(24 + 5, 59, 59, 999)), 50);
    assert.equal(await at(MSK(24 + 6, 0)), 1);
  });

  it('waits for the budget window to reset once execution time is used up', async () => {
    const clock = new RecordingClock();
    const limiter = createRateLimiter({
      system: 'b24',
      limits: { budget: { seconds: 1, per: '10m' } },
      clock,
    });
    const opened = clock.now();
    await limiter.recordDuration(600);
    clock.advance(1000);
    await limiter.acquire();
    assert.deepEqual(clock.sleeps, [], 'budget not yet used up');
    await limiter.recordDuration(500);
    const state = await limiter.state();
    assert.equal(state.budgetUsedMs, 1100);
    assert.equal(state.budgetLimitMs, 1000);
    assert.equal(state.budgetWindowEndsAt, opened + 600_000);

    await limiter.acquire();
    assert.equal(clock.now(), opened + 600_000, 'released exactly when the window ends');
    assert.equal((await limiter.state()).budgetUsedMs, 0);
  });

  it('holds everyone back until blockUntil, even without configured limits', async () => {
    const clock = new RecordingClock();
    const limiter = createRateLimiter({ system: 'x', limits: undefined, clock });
    await limiter.blockUntil(clock.now() + 2000);
    await limiter.blockUntil(clock.now() + 500);
    await limiter.acquire();
    assert.deepEqual(clock.sleeps, [2000], 'a shorter block never shortens a longer one');
  });

  it('rejects bad limits naming the field', () => {
    assert.throws(
      () => createRateLimiter({ system: 'onec', limits: { rate: 'fast' } }),
      (error: ObmenError) =>
        error.errorClass === 'config' && /systems\.onec\.limits\.rate/.test(error.message),
    );
    assert.throws(
      () =>
        createRateLimiter({
          system: 'onec',
          limits: { windows: [{ from: '9am', to: '21:00', rate: '1/s' }] },
        }),
      /systems\.onec\.limits\.windows\[0\]\.from: "9am"/,
    );
    assert.throws(
      () => createRateLimiter({ system: 'onec', limits: { rate: '1/s', timezone: 'Mars/Olympus' } }),
      /limits\.timezone: "Mars\/Olympus"/,
    );
  });

  it('stops waiting when the signal aborts', async () => {
    const limiter = createRateLimiter({ system: 'x', limits: { rate: '1/h', burst: 1 } });
    await limiter.acquire();
    const controller = new AbortController();
    const pending = limiter.acquire(controller.signal);
    setTimeout(() => controller.abort(new Error('shutting down')), 20);
    await assert.rejects(pending, /shutting down/);
  });
});

forEachDialect('rate limiter shared through the store', (database) => {
  /** Two stores on one database stand for two processes. */
  async function twoProcesses(): Promise<[Store, Store]> {
    return [await database().open(), await database().open()];
  }

  it('two limiters on the same system share one bucket', async () => {
    const clock = new FrozenClock(Date.UTC(2026, 0, 1));
    const limits: LimitsConfig = { rate: '5/s', burst: 5 };
    const [storeA, storeB] = await twoProcesses();
    try {
      const a = createRateLimiter({ system: 'b24', limits, store: storeA, clock });
      const b = createRateLimiter({ system: 'b24', limits, store: storeB, clock });
      const other = createRateLimiter({ system: 'onec', limits, store: storeB, clock });
      // Alternate between the two: separate buckets would grant 10.
      let granted = 0;
      for (let i = 0; i < 10; i++) {
        granted += await grantsNow(() => (i % 2 === 0 ? a : b).acquire(), 1);
      }
      assert.equal(granted, 5);
      assert.equal(await grantsNow(() => other.acquire()), 5, 'another system has its own bucket');
      clock.current += 1000;
      assert.equal((await grantsNow(() => a.acquire())) + (await grantsNow(() => b.acquire())), 5);
    } finally {
      await storeA.close();
      await storeB.close();
    }
  });

  it('concurrent acquires on one store never grant more than the bucket holds', async () => {
    // One store: better-sqlite3 is synchronous, so two SQLite connections in ONE process would
    // block each other's event loop; on PostgreSQL the pool still spreads these over connections.
    const clock = new FrozenClock(Date.UTC(2026, 0, 1));
    const limits: LimitsConfig = { rate: '4/min', burst: 4 };
    const [storeA, storeB] = await twoProcesses();
    try {
      const a = createRateLimiter({ system: 'b24', limits, store: storeA, clock });
      const b = createRateLimiter({ system: 'b24', limits, store: storeA, clock });
      const results = await Promise.allSettled(
        Array.from({ length: 16 }, (_, i) => (i % 2 === 0 ? a : b).acquire()),
      );
      const granted = results.filter((r) => r.status === 'fulfilled').length;
      const refused = results.filter((r) => r.status === 'rejected' && r.reason instanceof WouldWait).length;
      assert.equal(granted, 4);
      assert.equal(refused, 12);
      const state = await a.state();
      assert.ok(state.tokens < 1e-6, `bucket empty, found ${state.tokens}`);
    } finally {
      await storeA.close();
      await storeB.close();
    }
  });

  it('blockUntil from one process holds back another', async () => {
    const clock = new RecordingClock();
    const [storeA, storeB] = await twoProcesses();
    try {
      const a = createRateLimiter({ system: 'b24', limits: { rate: '100/s' }, store: storeA, clock });
      const b = createRateLimiter({ system: 'b24', limits: { rate: '100/s' }, store: storeB, clock });
      await a.blockUntil(clock.now() + 2000);
      assert.equal((await b.state()).blockedUntil, clock.now() + 2000);
      await b.acquire();
      assert.deepEqual(clock.sleeps, [2000]);
    } finally {
      await storeA.close();
      await storeB.close();
    }
  });

  it('budget used by one process exhausts it for the other until the window resets', async () => {
    const clock = new RecordingClock();
    const limits: LimitsConfig = { budget: { seconds: 480, per: '10m' } };
    const [storeA, storeB] = await twoProcesses();
    try {
      const a = createRateLimiter({ system: 'b24', limits, store: storeA, clock });
      const b = createRateLimiter({ system: 'b24', limits, store: storeB, clock });
      const opened = clock.now();
      await a.recordDuration(300_000);
      clock.advance(60_000);
      await b.recordDuration(180_000);
      assert.equal((await b.state()).budgetUsedMs, 480_000);
      await b.acquire();
      assert.equal(clock.now(), opened + 600_000);
      assert.deepEqual(clock.sleeps, [540_000]);
    } finally {
      await storeA.close();
      await storeB.close();
    }
  });
});
