import { sql } from 'kysely';
import type { Store } from './store.ts';

/**
 * Planner statistics of the tables the engine looks rows up in by lists of keys.
 *
 * A lookup such as `entity = 'product' and system = 'sink' and external_id in (…1,000 ids)` is
 * planned from column statistics. Where they are missing or stale, PostgreSQL misjudges the
 * prefix: with none it guesses 0.5 % of the table per condition, and with statistics taken
 * before a system (or entity, or match rule) had rows it expects none. Either way it reads that
 * whole prefix and filters it instead of probing the index 1,000 times. Measured on 100k
 * products: 80 ms instead of 3 ms per lookup, and each batch slower than the last (a first
 * import ran at 2.5k/s; delivery's link lookups read every link of the target so far).
 * Autovacuum refreshes statistics only after its naptime (a minute), and not at all where it
 * is off, so the biggest loads — the first import, a new target — ran on those guesses.
 *
 * So obmen does for these tables what autovacuum would, as soon as it has changed them: a table
 * with at least CHANGED_MIN changes since its last analyze, and at least CHANGED_SHARE of its
 * size, is analyzed ("Populating a Database" in PostgreSQL's manual advises the same after bulk
 * loads). The sample is small (ANALYZE_TARGET): these lookups need to know which entities,
 * systems and rules a table holds, and roughly how many rows each has; that costs 10–30 ms per
 * table instead of 100–200 ms with the default sample.
 *
 * The outbox is left to autovacuum: it changes twice per delivery, and its statements are
 * written not to depend on its statistics (see outbox.ts).
 */
export const LOOKUP_TABLES = ['records', 'links', 'match_keys'] as const;

const CHANGED_MIN = 1000;
const CHANGED_SHARE = 0.5;
const ANALYZE_TARGET = 10;
/** How often a store looks at the change counters (PostgreSQL flushes them about every second). */
const CHECK_MS = 1000;

const state = new WeakMap<Store, { checkedAt: number; running?: Promise<void> }>();

/**
 * Analyzes the lookup tables that changed a lot since their last analyze (a no-op on SQLite,
 * whose planner assumes an index lookup is selective). Call it after a write transaction
 * commits; the analyze runs in the background on its own connection and never throws
 * (statistics are an optimisation, not a condition).
 */
export function refreshStatistics(store: Store, now = Date.now()): void {
  if (!store.caps.plannerStatistics) return;
  let own = state.get(store);
  if (!own) {
    own = { checkedAt: Number.NEGATIVE_INFINITY };
    state.set(store, own);
  }
  if (own.running || now - own.checkedAt < CHECK_MS) return;
  own.checkedAt = now;
  const mine = own;
  mine.running = analyzeChanged(store)
    .catch(() => {})
    .finally(() => {
      mine.running = undefined;
    });
}

/** Waits for a refresh still running (tests, and closing a store). */
export async function statisticsSettled(store: Store): Promise<void> {
  await state.get(store)?.running;
}

async function analyzeChanged(store: Store): Promise<void> {
  const { rows } = await sql<{ relname: string; changed: number; tuples: number }>`
    select s.relname, s.n_mod_since_analyze as changed, c.reltuples as tuples
    from pg_stat_user_tables s join pg_class c on c.oid = s.relid
    where s.schemaname = current_schema() and s.relname = any(${[...LOOKUP_TABLES]})`.execute(store.db);
  for (const row of rows) {
    const changed = Number(row.changed);
    // reltuples is -1 for a table never analyzed (nor vacuumed).
    if (changed < Math.max(CHANGED_MIN, CHANGED_SHARE * Math.max(0, Number(row.tuples)))) continue;
    await store.tx(async (trx) => {
      await sql`set local default_statistics_target = ${sql.lit(ANALYZE_TARGET)}`.execute(trx);
      await sql`analyze ${sql.table(row.relname)}`.execute(trx);
    });
  }
}
