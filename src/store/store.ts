import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, PostgresDialect, type SqliteDatabase, SqliteDialect, sql } from 'kysely';
import { configError } from '../core/errors.ts';
import { type DialectCapabilities, POSTGRES, SQLITE } from './capabilities.ts';
import { startCheckpointer } from './checkpointer.ts';
import { MIGRATIONS } from './migrations/index.ts';
import type { Database } from './schema.ts';
import { statisticsSettled } from './statistics.ts';

export type Db = Kysely<Database>;

/** The hub store: one query layer (Kysely) over SQLite or PostgreSQL. */
export interface Store {
  readonly db: Db;
  readonly caps: DialectCapabilities;
  /** Where the data lives, with any password removed (safe to print). */
  readonly location: string;
  /**
   * Runs `fn` in a write transaction. On SQLite it is `BEGIN IMMEDIATE`, so a second process
   * waits on the busy timeout instead of failing when it upgrades a read lock.
   */
  tx<T>(fn: (trx: Db) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export interface OpenStoreOptions {
  /** `postgres://…` or a SQLite file path / `sqlite:` URL. Defaults to ./data/obmen.db. */
  url?: string;
  /** PostgreSQL schema to use (tests isolate themselves this way). */
  pgSchema?: string;
  /** Pool size for PostgreSQL. */
  poolSize?: number;
  migrate?: boolean;
  /** SQLite file: WAL checkpoints on a thread of their own (store/checkpointer.ts), for `obmen start`. */
  checkpointOnThread?: boolean;
}

export const DEFAULT_SQLITE_PATH = './data/obmen.db';

export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:/@]+):([^@]*)@/, '//$1:***@');
}

export async function openStore(options: OpenStoreOptions = {}): Promise<Store> {
  const url = options.url ?? DEFAULT_SQLITE_PATH;
  const store = /^postgres(ql)?:\/\//.test(url)
    ? await openPostgres(url, options)
    : openSqlite(url, options.checkpointOnThread === true);
  if (options.migrate !== false) await migrate(store);
  return store;
}

function openSqlite(url: string, checkpointOnThread: boolean): Store {
  const path = url.replace(/^sqlite:(\/\/)?/, '').replace(/^file:/, '');
  const full = path === ':memory:' ? path : resolve(path);
  if (full !== ':memory:') mkdirSync(dirname(full), { recursive: true });
  const database = new SQLite(full);
  database.pragma('journal_mode = WAL');
  database.pragma('busy_timeout = 10000');
  // NORMAL is durable across process crashes in WAL mode (only an OS crash can lose the
  // last transactions), which is the trade-off SQLite recommends for WAL.
  database.pragma('synchronous = NORMAL');
  const checkpointing = checkpointOnThread && full !== ':memory:';
  // A checkpoint (WAL → database file, with two fsyncs) runs once the WAL passes this many
  // pages. SQLite's 1000 (4 MB) is less than one 1000-object ingest chunk of a big catalog (an
  // import chunk writes about 3 MB), so every commit checkpointed, and index pages changed by
  // consecutive commits were copied again each time. 16384 (64 MB): a 500,000-goods 1C import
  // wrote 17% fewer bytes, read 30% fewer and took 9% less CPU; 100k products ingested in 7.9 s
  // instead of 10.5 s at the same CPU (bench/README.md). The longest commit grew from 0.23 to
  // 0.30 s. With the checkpoint thread (below) 65536 (256 MB): that thread has copied all but
  // its last half second when the WAL passes the limit, so the committing thread's own
  // checkpoint is a quarter as frequent. Durability is unchanged: it is set by `synchronous`
  // above.
  database.pragma(`wal_autocheckpoint = ${checkpointing ? 65536 : 16384}`);
  // A 12 MB page cache (better-sqlite3 sets 16 MB; SQLite's own default is 2 MB): what one
  // 1000-object ingest chunk touches. 1C's Ид are random keys, so a chunk's links land on ~1000
  // leaves of links_pk, each looked up and then written; with 4 MB those leaves were evicted
  // between the two and read again.
  // A 1.5 GB 1C import with the 256 MB WAL limit, four runs in turn with 4 MB and 64 MB: 0.8
  // instead of 1.5 million read calls, 6.1 instead of 6.6 GB written, the importing thread's
  // CPU 25.9 s instead of 30.9 on average, 38.9 MB/s instead of 32.7; peak RSS 228–242 MB
  // against 224–234 (bench/README.md). 24 MB saved no more and peaked at 249 MB.
  database.pragma('cache_size = -12000');
  // The engine's multi-row inserts run inside a transaction, so SQLite keeps a statement
  // journal for each (to undo just that statement if it fails); past 64 KB it went to a temp
  // file, and those writes were 9 % of the main thread during a big import (perf). In memory:
  // a 200,000-goods CommerceML import took 17 % less CPU and was 20 % faster; peak RSS within
  // the noise (bench/README.md). Temp tables and sorts that outgrow the cache now stay in memory
  // too; obmen's list queries are paged (LIMIT), so a sort holds one page.
  database.pragma('temp_store = MEMORY');
  // SQLite's own lower() folds ASCII only; Russian text must be searchable case-insensitively too.
  database.function('lower', { deterministic: true }, (text: unknown) =>
    text == null ? null : String(text).toLowerCase(),
  );
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: keepStatements(database) }) });
  const checkpointer = checkpointing ? startCheckpointer(full) : undefined;
  return {
    db,
    caps: SQLITE,
    location: full,
    async tx(fn) {
      return db.connection().execute(async (conn) => {
        await sql`begin immediate`.execute(conn);
        try {
          const result = await fn(conn);
          await sql`commit`.execute(conn);
          return result;
        } catch (error) {
          await sql`rollback`.execute(conn);
          throw error;
        }
      });
    },
    close: async () => {
      await checkpointer?.stop();
      await db.destroy();
    },
  };
}

/**
 * Kysely prepares every query anew, and better-sqlite3 compiles the SQL on each prepare; for
 * the engine's 1000-row statements that compile showed up in the profile as a large share of
 * an import. The same text recurs every chunk, so the most recently used statements are kept.
 * One connection runs one query at a time, so a kept statement is never in use twice.
 */
function keepStatements(database: SQLite.Database): SqliteDatabase {
  const kept = new Map<string, SQLite.Statement>();
  return {
    close: () => database.close(),
    prepare(text) {
      let statement = kept.get(text);
      if (statement) kept.delete(text);
      else statement = database.prepare(text);
      kept.set(text, statement);
      if (kept.size > KEPT_STATEMENTS) kept.delete(kept.keys().next().value!);
      return statement;
    },
  };
}

/** Statements kept per SQLite connection (a 1000-value statement is some tens of KB compiled). */
const KEPT_STATEMENTS = 48;

async function openPostgres(url: string, options: OpenStoreOptions): Promise<Store> {
  // Loaded only for PostgreSQL: an embedded (SQLite) obmen does not carry the driver (~10 MB).
  const { default: pg } = await import('pg');
  // int8 (bigint) columns hold epoch milliseconds and counts, all far below 2^53.
  pg.types.setTypeParser(20, (value) => Number(value));
  const pool = new pg.Pool({
    connectionString: url,
    max: options.poolSize ?? 10,
    // The engine looks rows up by lists of up to 1000 keys. With the default random_page_cost
    // (4, tuned for spinning disks) the planner reads a 100k-row table whole for each such
    // list instead of probing the primary key: the profile showed delivery on PostgreSQL
    // falling to a few hundred rows/s. 1.1 is the usual value for SSDs and cached data; it
    // applies to obmen's own sessions only.
    options: [
      '-c random_page_cost=1.1',
      ...(options.pgSchema ? [`-c search_path=${options.pgSchema}`] : []),
    ].join(' '),
  });
  // An idle client losing its connection must not crash the process; the pool replaces it.
  pool.on('error', () => {});
  // Same for a checked-out client whose backend is terminated (failover, restart): its query
  // fails with an error instead of the 'error' event killing the process.
  pool.on('connect', (client) => client.on('error', () => {}));
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  const store: Store = {
    db,
    caps: POSTGRES,
    location: redactUrl(url) + (options.pgSchema ? ` (schema ${options.pgSchema})` : ''),
    tx: (fn) => db.transaction().execute(fn),
    close: async () => {
      await statisticsSettled(store);
      await db.destroy();
    },
  };
  return store;
}

/** Applies pending numbered migrations, each in its own transaction, serialised across processes. */
export async function migrate(store: Store): Promise<string[]> {
  const applied: string[] = [];
  try {
    await store.db.schema
      .createTable('schema_migrations')
      .ifNotExists()
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('applied_at', store.caps.timestampType, (c) => c.notNull())
      .execute();
  } catch (error) {
    // Two processes creating the table at once on PostgreSQL: the loser sees a unique violation.
    if (!String(error).includes('already exists') && !String(error).includes('duplicate key')) {
      throw configError(`cannot prepare the database at ${store.location}: ${String(error)}`, {
        cause: error,
      });
    }
  }
  for (const migration of MIGRATIONS) {
    await store.tx(async (trx) => {
      if (store.caps.advisoryLocks) await sql`select pg_advisory_xact_lock(727001)`.execute(trx);
      const done = await sql<{
        id: string;
      }>`select id from schema_migrations where id = ${migration.id}`.execute(trx);
      if (done.rows.length > 0) return;
      await migration.up(trx, store.caps);
      await sql`insert into schema_migrations (id, applied_at) values (${migration.id}, ${Date.now()})`.execute(
        trx,
      );
      applied.push(migration.id);
    });
  }
  return applied;
}
