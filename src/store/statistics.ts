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
 * So obmen does for these tables what autovacuum would, as soon as it has changed them
 * ("Populating a Database" in PostgreSQL's manual advises the same after bulk loads). A table
 * with at least CHANGED_MIN changes since its last analyze is analyzed when
 * - it changed by CHANGED_SHARE of its size (first load, growth, shifted proportions), or
 * - it holds CHANGED_MIN rows under a prefix value (entity, system, rule) its statistics do not
 *   know: a new target's links, a new entity's records. The values are found by skipping
 *   through the primary key, one index descent per value.
 * The sample is small (ANALYZE_TARGET): these lookups need to know which values a table holds
 * and roughly how many rows each has; that costs 10–30 ms per table at 100k rows instead of
 * 100–200 ms with the default sample.
 *
 * The outbox is left to autovacuum: it changes twice per delivery, and its statements are
 * written not to depend on its statistics (see outbox.ts).
 */
const PREFIXES = {
  records: ['entity'],
  links: ['entity', 'system'],
  match_keys: ['entity', 'rule'],
} as const;

type LookupTable = keyof typeof PREFIXES;
export const LOOKUP_TABLES = Object.keys(PREFIXES) as LookupTable[];

const CHANGED_MIN = 1000;
const CHANGED_SHARE = 0.5;
const ANALYZE_TARGET = 10;
/** How often a store looks at the change counters (PostgreSQL flushes them about every second). */
const CHECK_MS = 1000;

const state = new WeakMap<Store, { checkedAt: number; running?: Promise<void> }>();

/**
 * Analyzes the lookup tables whose statistics no longer describe them (a no-op on SQLite, whose
 * planner assumes an index lookup is selective). Call it after a write transaction commits;
 * the check and any analyze run in the background on their own connection, at most one at a
 * time and one check a second, and never throw (statistics are an optimisation, not a condition).
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
  mine.running = analyzeStale(store)
    .catch(() => {})
    .finally(() => {
      mine.running = undefined;
    });
}

/** Waits for a refresh still running (tests, and closing a store). */
export async function statisticsSettled(store: Store): Promise<void> {
  await state.get(store)?.running;
}

async function analyzeStale(store: Store): Promise<void> {
  const { rows } = await sql<{ relname: LookupTable; changed: number; tuples: number }>`
    select s.relname, s.n_mod_since_analyze as changed, c.reltuples as tuples
    from pg_stat_user_tables s join pg_class c on c.oid = s.relid
    where s.schemaname = current_schema() and s.relname = any(${LOOKUP_TABLES})`.execute(store.db);
  for (const row of rows) {
    const changed = Number(row.changed);
    if (changed < CHANGED_MIN) continue;
    // reltuples is -1 for a table never analyzed (nor vacuumed).
    const grown = changed >= CHANGED_SHARE * Math.max(0, Number(row.tuples));
    if (!grown && !(await holdsUnknownValues(store, row.relname))) continue;
    await store.tx(async (trx) => {
      await sql`set local default_statistics_target = ${sql.lit(ANALYZE_TARGET)}`.execute(trx);
      await sql`analyze ${sql.table(row.relname)}`.execute(trx);
    });
  }
}

/**
 * Whether the table holds CHANGED_MIN rows or more under a prefix value its statistics do not
 * list. A rare value may stay out of the sample for good, and the planner is right to expect
 * few rows of it: only a value with many rows counts.
 */
async function holdsUnknownValues(store: Store, table: LookupTable): Promise<boolean> {
  const columns = PREFIXES[table];
  const { rows } = await sql<{ attname: string; known: string[] | null }>`
    select attname, most_common_vals::text::text[] as known from pg_stats
    where schemaname = current_schema() and tablename = ${table} and attname = any(${[...columns]})`.execute(
    store.db,
  );
  const known = new Map(rows.map((row) => [row.attname, new Set(row.known ?? [])]));
  for (const values of await prefixValues(store, table, columns)) {
    if (columns.every((column, at) => known.get(column)?.has(values[at]!))) continue;
    const matches = sql.join(
      columns.map((column, at) => sql`${sql.ref(column)} = ${values[at]}`),
      sql` and `,
    );
    const { rows: counted } = await sql<{ n: number }>`select count(*) as n from (select 1 from
      ${sql.table(table)} where ${matches} limit ${CHANGED_MIN}) as found`.execute(store.db);
    if (Number(counted[0]?.n) >= CHANGED_MIN) return true;
  }
  return false;
}

/** Distinct values of the primary key's leading columns: one descent of the index per value. */
async function prefixValues(
  store: Store,
  table: LookupTable,
  columns: readonly string[],
): Promise<string[][]> {
  const found: string[][] = [];
  const list = sql.join(columns.map((column) => sql.ref(column)));
  for (let after: string[] | undefined; ; ) {
    const where = after ? sql`where (${list}) > (${sql.join(after)})` : sql``;
    const { rows } = await sql<Record<string, string>>`select ${list} from ${sql.table(table)} ${where}
      order by ${list} limit 1`.execute(store.db);
    if (rows.length === 0) return found;
    after = columns.map((column) => rows[0]![column]!);
    found.push(after);
  }
}
