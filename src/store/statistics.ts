import { sql } from 'kysely';
import type { Store } from './store.ts';

/**
 * Planner statistics for the engine's bulk tables.
 *
 * The engine looks rows up by lists of up to 1,000 keys (`entity = … and id in (…)`). A
 * PostgreSQL table that was never analyzed has no column statistics, and the planner then
 * guesses that `entity = 'product'` picks 0.5 % of the table: it reads the whole entity
 * through an index and filters, instead of probing the primary key 1,000 times. Measured on
 * 100k products: 80 ms instead of 3 ms per lookup, and ingest of new objects fell from 7k to
 * 2.5k per second as the tables grew. Autovacuum analyzes a table only after its first naptime
 * (a minute) and not at all where it is off, so a first import — the biggest one — ran on guesses.
 *
 * So, as PostgreSQL's "Populating a Database" advice says for bulk loads, obmen analyzes each
 * of these tables once it holds rows and has no statistics yet. Once is enough: the planner
 * scales row counts to the table's current size, and what it needs from the sample (every row
 * of an entity has that entity; keys are distinct) stays true as the table grows. A table that
 * was analyzed before (by autovacuum, by hand, or by another obmen process) is left alone.
 */
export const BULK_TABLES = ['records', 'record_history', 'links', 'outbox', 'match_keys'] as const;

/** How often a store whose tables are not all analyzed yet checks again. */
const RECHECK_MS = 5_000;

const state = new WeakMap<Store, { done: Set<string>; checkedAt: number; running?: Promise<void> }>();

/**
 * Analyzes the bulk tables that hold rows but have no statistics (a no-op on SQLite, whose
 * planner assumes an index lookup is selective, and once every table is done). Call it after a
 * write transaction commits; it never throws (statistics are an optimisation, not a condition).
 */
export async function ensureStatistics(store: Store, now = Date.now()): Promise<void> {
  if (!store.caps.analyzeNewTables) return;
  let own = state.get(store);
  if (!own) {
    own = { done: new Set(), checkedAt: Number.NEGATIVE_INFINITY };
    state.set(store, own);
  }
  if (own.done.size === BULK_TABLES.length || own.running || now - own.checkedAt < RECHECK_MS) return;
  own.checkedAt = now;
  const run = analyzeMissing(store, own.done).catch(() => {});
  own.running = run;
  await run;
  own.running = undefined;
}

async function analyzeMissing(store: Store, done: Set<string>): Promise<void> {
  const wanted = BULK_TABLES.filter((table) => !done.has(table));
  // pg_stats shows a table's column statistics only after it was analyzed.
  const analyzed = await sql<{ tablename: string }>`select distinct tablename from pg_stats
    where schemaname = current_schema() and tablename = any(${wanted})`.execute(store.db);
  for (const row of analyzed.rows) done.add(row.tablename);
  for (const table of wanted) {
    if (done.has(table)) continue;
    const rows = await sql`select 1 from ${sql.table(table)} limit 1`.execute(store.db);
    if (rows.rows.length === 0) continue;
    await sql`analyze ${sql.table(table)}`.execute(store.db);
    done.add(table);
  }
}
