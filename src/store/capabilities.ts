/**
 * Every difference between SQLite and PostgreSQL that obmen relies on, declared once.
 * Code asks for a capability by name; it never checks which database it runs on.
 */
export interface DialectCapabilities {
  readonly name: 'sqlite' | 'postgres';
  /** `FOR UPDATE SKIP LOCKED` lets concurrent workers claim disjoint rows without waiting. */
  readonly skipLocked: boolean;
  /** Session-level advisory locks (pg_try_advisory_lock) for leader election. */
  readonly advisoryLocks: boolean;
  /** Several processes on several hosts may share this database. */
  readonly multiHost: boolean;
  /** Largest number of bound parameters one statement may carry (kept well below the hard limit). */
  readonly maxParams: number;
  /** Column type of an auto-incrementing integer primary key. */
  readonly autoIdType: 'integer' | 'bigserial';
  /** Column type for epoch-millisecond timestamps. */
  readonly timestampType: 'integer' | 'bigint';
  /** Column type for floating-point numbers. */
  readonly realType: 'real' | 'double precision';
  /**
   * Key-list lookups are planned from column statistics, which obmen refreshes after bulk
   * changes (store/statistics.ts). SQLite's planner assumes an index lookup is selective
   * without them.
   */
  readonly plannerStatistics: boolean;
}

export const SQLITE: DialectCapabilities = {
  name: 'sqlite',
  skipLocked: false,
  advisoryLocks: false,
  multiHost: false,
  maxParams: 30000,
  autoIdType: 'integer',
  timestampType: 'integer',
  realType: 'real',
  plannerStatistics: false,
};

export const POSTGRES: DialectCapabilities = {
  name: 'postgres',
  skipLocked: true,
  advisoryLocks: true,
  multiHost: true,
  maxParams: 60000,
  autoIdType: 'bigserial',
  timestampType: 'bigint',
  realType: 'double precision',
  plannerStatistics: true,
};
