import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import pg from 'pg';
import { openStore, type Store } from '../../src/store/store.ts';

/**
 * The same store/engine test file runs against both databases: `forEachDialect` declares the
 * suite once per dialect. PostgreSQL is taken from OBMEN_TEST_PG_URL (default
 * postgres://postgres@127.0.0.1:5432/test); where none answers, its half is reported as
 * skipped with the reason.
 */
export const PG_URL = process.env.OBMEN_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

let pgProbe: Promise<string | undefined> | undefined;

/** undefined when PostgreSQL is reachable, otherwise why not. */
export function postgresUnavailable(): Promise<string | undefined> {
  pgProbe ??= (async () => {
    if (process.env.OBMEN_TEST_PG === 'off') return 'OBMEN_TEST_PG=off';
    const client = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 2000 });
    try {
      await client.connect();
      await client.query('select 1');
      return undefined;
    } catch (error) {
      return `PostgreSQL not reachable at ${PG_URL}: ${(error as Error).message}`;
    } finally {
      await client.end().catch(() => {});
    }
  })();
  return pgProbe;
}

export interface TestDatabase {
  dialect: 'sqlite' | 'postgres';
  /** Opens (and migrates) a store on this test database; several may be opened (several "processes"). */
  open(): Promise<Store>;
  /** URL and schema a child process needs to reach the same database. */
  env: Record<string, string>;
  drop(): Promise<void>;
}

export async function createTestDatabase(dialect: 'sqlite' | 'postgres'): Promise<TestDatabase> {
  if (dialect === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'obmen-test-'));
    const file = join(dir, 'obmen.db');
    return {
      dialect,
      open: () => openStore({ url: file }),
      env: { OBMEN_DATABASE_URL: file },
      drop: async () => rmSync(dir, { recursive: true, force: true }),
    };
  }
  const schema = `t_${randomUUID().replace(/-/g, '').slice(0, 16)}`;
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  await admin.query(`create schema ${schema}`);
  await admin.end();
  return {
    dialect,
    open: () => openStore({ url: PG_URL, pgSchema: schema, poolSize: 5 }),
    env: { OBMEN_DATABASE_URL: PG_URL, OBMEN_PG_SCHEMA: schema },
    drop: async () => {
      const client = new pg.Client({ connectionString: PG_URL });
      await client.connect();
      await client.query(`drop schema if exists ${schema} cascade`);
      await client.end();
    },
  };
}

/** Known once, before any suite is declared, so suites can be declared synchronously. */
const PG_SKIP_REASON = await postgresUnavailable();

/** Declares `suite` once for SQLite and once for PostgreSQL (skipped with a reason if absent). */
export function forEachDialect(title: string, suite: (db: () => TestDatabase) => void): void {
  for (const dialect of ['sqlite', 'postgres'] as const) {
    const skip = dialect === 'postgres' ? PG_SKIP_REASON : undefined;
    describe(`${title} [${dialect}]`, () => {
      if (skip) {
        test(`skipped: ${skip}`, { skip }, () => {});
        return;
      }
      let current: TestDatabase | undefined;
      beforeEach(async () => {
        current = await createTestDatabase(dialect);
      });
      afterEach(async () => {
        await current?.drop();
        current = undefined;
      });
      suite(() => {
        if (!current) throw new Error('test database not created');
        return current;
      });
    });
  }
}
