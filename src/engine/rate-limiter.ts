import type { LimitsConfig } from '../config/schema.ts';
import { type Clock, systemClock } from '../core/clock.ts';
import type { Db, Store } from '../store/store.ts';
import {
  addDuration,
  type Bucket,
  compileLimits,
  freshBucket,
  policyAt,
  refill,
  rollBudget,
  take,
} from './rate-limiter-state.ts';

export { parseRate } from './rate-limiter-state.ts';

/** A snapshot of one system's limiter, for status pages and tests. ratePerSec 0 means "no rate limit now". */
export interface LimiterState {
  system: string;
  tokens: number;
  ratePerSec: number;
  burst: number;
  blockedUntil: number;
  budgetUsedMs: number;
  budgetLimitMs?: number;
  budgetWindowEndsAt?: number;
  window?: string;
}

/** One system's request allowance, shared by every caller (and every process, given a store). */
export interface RateLimiter {
  /** Waits until one request may go (token bucket, blocked-until, execution-time budget). */
  acquire(signal?: AbortSignal): Promise<void>;
  /** Adds a finished request's execution time to the budget (Bitrix24 counts method time). */
  recordDuration(ms: number): Promise<void>;
  /** The system said "wait" (Retry-After / 429 / 503): nobody sends before untilMs. */
  blockUntil(untilMs: number): Promise<void>;
  state(): Promise<LimiterState>;
}

export interface RateLimiterOptions {
  system: string;
  limits: LimitsConfig | undefined;
  /** Shares the bucket through table rate_limits; omit for in-process state. */
  store?: Store;
  clock?: Clock;
}

/** Where the bucket lives: `update` reads, transforms and writes it as one atomic step. */
interface BucketStore {
  read(): Promise<Bucket | undefined>;
  update<T>(fn: (bucket: Bucket) => { bucket: Bucket; result: T }): Promise<T>;
}

export function createRateLimiter(options: RateLimiterOptions): RateLimiter {
  const { system } = options;
  const clock = options.clock ?? systemClock;
  const limits = compileLimits(system, options.limits);
  const unlimited = !limits.base && limits.windows.length === 0 && !limits.budget;
  const initial = () => freshBucket(policyAt(limits, clock.now()), clock.now());
  const buckets = options.store ? databaseBuckets(options.store, system, initial) : memoryBuckets(initial);

  return {
    async acquire(signal) {
      signal?.throwIfAborted();
      // blockUntil applies even to a system without configured limits: the system itself asked.
      for (;;) {
        const waitMs = unlimited
          ? Math.max(0, ((await buckets.read())?.blockedUntil ?? 0) - clock.now())
          : await buckets.update((bucket) => {
              const taken = take(bucket, limits, clock.now());
              return { bucket: taken.bucket, result: taken.waitMs };
            });
        if (waitMs <= 0) return;
        // Waiting happens outside the transaction, so other processes are never held up by it.
        await clock.sleep(waitMs, signal);
        signal?.throwIfAborted();
      }
    },
    async recordDuration(ms) {
      if (!limits.budget || !(ms > 0)) return;
      await buckets.update((bucket) => ({
        bucket: addDuration(bucket, limits, ms, clock.now()),
        result: undefined,
      }));
    },
    async blockUntil(untilMs) {
      await buckets.update((bucket) => ({
        bucket: { ...bucket, blockedUntil: Math.max(bucket.blockedUntil, Math.ceil(untilMs)) },
        result: undefined,
      }));
    },
    async state() {
      const now = clock.now();
      const policy = policyAt(limits, now);
      const stored = (await buckets.read()) ?? initial();
      const bucket = rollBudget(refill(stored, limits, now), limits, now);
      const snapshot: LimiterState = {
        system,
        tokens: bucket.tokens,
        ratePerSec: policy && policy.count > 0 ? (policy.count * 1000) / policy.perMs : 0,
        burst: policy?.burst ?? 0,
        blockedUntil: bucket.blockedUntil,
        budgetUsedMs: bucket.budgetUsedMs,
      };
      if (policy?.window) snapshot.window = policy.window;
      if (limits.budget) {
        snapshot.budgetLimitMs = limits.budget.limitMs;
        if (bucket.budgetWindowStart > 0)
          snapshot.budgetWindowEndsAt = bucket.budgetWindowStart + limits.budget.perMs;
      }
      return snapshot;
    },
  };
}

function memoryBuckets(initial: () => Bucket): BucketStore {
  let bucket: Bucket | undefined;
  return {
    read: async () => bucket,
    // The transform is synchronous, so no other caller in this process can interleave.
    update: async (fn) => {
      const out = fn(bucket ?? initial());
      bucket = out.bucket;
      return out.result;
    },
  };
}

function databaseBuckets(store: Store, system: string, initial: () => Bucket): BucketStore {
  const toBucket = (row: {
    tokens: number;
    refilled_at: number;
    blocked_until: number;
    budget_used_ms: number;
    budget_window_start: number;
  }): Bucket => ({
    tokens: Number(row.tokens),
    refilledAt: Number(row.refilled_at),
    blockedUntil: Number(row.blocked_until),
    budgetUsedMs: Number(row.budget_used_ms),
    budgetWindowStart: Number(row.budget_window_start),
  });

  const select = (db: Db, lock: boolean) => {
    const query = db.selectFrom('rate_limits').selectAll().where('system', '=', system);
    // PostgreSQL: the row lock makes read-modify-write atomic across processes. SQLite has no
    // row locks; its BEGIN IMMEDIATE in store.tx already admits one writer at a time.
    return (lock && store.caps.skipLocked ? query.forUpdate() : query).executeTakeFirst();
  };

  return {
    async read() {
      const row = await select(store.db, false);
      return row ? toBucket(row) : undefined;
    },
    update: (fn) =>
      store.tx(async (trx) => {
        let row = await select(trx, true);
        if (!row) {
          const fresh = initial();
          // Two processes may create the row at once: the loser's insert does nothing and it
          // then locks the winner's row.
          await trx
            .insertInto('rate_limits')
            .values({
              system,
              tokens: fresh.tokens,
              refilled_at: fresh.refilledAt,
              blocked_until: fresh.blockedUntil,
              budget_used_ms: fresh.budgetUsedMs,
              budget_window_start: fresh.budgetWindowStart,
            })
            .onConflict((oc) => oc.column('system').doNothing())
            .execute();
          row = await select(trx, true);
        }
        if (!row) throw new Error(`rate_limits row for system ${system} vanished inside a transaction`);
        const out = fn(toBucket(row));
        await trx
          .updateTable('rate_limits')
          .set({
            tokens: out.bucket.tokens,
            refilled_at: out.bucket.refilledAt,
            blocked_until: out.bucket.blockedUntil,
            budget_used_ms: out.bucket.budgetUsedMs,
            budget_window_start: out.bucket.budgetWindowStart,
          })
          .where('system', '=', system)
          .execute();
        return out.result;
      }),
  };
}
