import { execFileSync, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { openStore, type Store } from '../src/store/store.ts';
import { type EngineFigures, runEngineBench } from './engine.ts';
import { printTable } from './table.ts';

/**
 * `npm run bench [-- --records N] [-- --dialect sqlite|postgres]`
 * Each dialect runs in its own child process, so its peak RSS is its own and not the sum of
 * what an earlier dialect left on the heap.
 */

type Dialect = 'sqlite' | 'postgres';
const HERE = dirname(fileURLToPath(import.meta.url));
const RESULTS = join(HERE, 'results');
const PG_URL = process.env.OBMEN_BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

const { values } = parseArgs({
  options: {
    records: { type: 'string', default: '100000' },
    batch: { type: 'string', default: '1000' },
    dialect: { type: 'string' },
    child: { type: 'boolean', default: false },
  },
});
const records = Number(values.records);
const batchSize = Number(values.batch);
if (!Number.isInteger(records) || records <= 0)
  throw new Error(`--records must be a positive integer, got ${values.records}`);
if (!Number.isInteger(batchSize) || batchSize <= 0 || batchSize > 1000)
  throw new Error(`--batch must be an integer 1…1000 (the route batch size limit), got ${values.batch}`);
if (values.dialect !== undefined && values.dialect !== 'sqlite' && values.dialect !== 'postgres')
  throw new Error(`--dialect must be sqlite or postgres, got ${values.dialect}`);

/** Outcome of one dialect: figures, or why it did not run. */
type DialectResult = { dialect: Dialect; figures: EngineFigures } | { dialect: Dialect; skipped: string };

async function postgresUnavailable(): Promise<string | undefined> {
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
}

async function adminQuery(text: string): Promise<void> {
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

/** A fresh store; `drop` removes every trace of it. */
async function freshStore(dialect: Dialect): Promise<{ store: Store; drop: () => Promise<void> }> {
  if (dialect === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'obmen-bench-'));
    const store = await openStore({ url: join(dir, 'obmen.db') });
    return { store, drop: async () => rmSync(dir, { recursive: true, force: true }) };
  }
  // The schema name is generated here from hex only, so it is safe to put into DDL.
  const schema = `bench_${randomUUID().replace(/-/g, '').slice(0, 16)}`;
  await adminQuery(`create schema ${schema}`);
  const store = await openStore({ url: PG_URL, pgSchema: schema });
  return { store, drop: () => adminQuery(`drop schema if exists ${schema} cascade`) };
}

function gitCommit(): string | undefined {
  try {
    const head = execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], {
      cwd: HERE,
      encoding: 'utf8',
    }).trim();
    const dirty =
      execFileSync('git', ['status', '--porcelain'], { cwd: HERE, encoding: 'utf8' }).trim() !== '';
    return dirty ? `${head}+dirty` : head;
  } catch {
    return undefined;
  }
}

function environment() {
  return {
    node: process.version,
    date: new Date().toISOString(),
    platform: `${process.platform}-${process.arch}`,
    cores: availableParallelism(),
    cpu: cpus()[0]?.model,
    commit: gitCommit(),
  };
}

function writeJson(file: string, value: unknown): void {
  mkdirSync(RESULTS, { recursive: true });
  writeFileSync(join(RESULTS, file), `${JSON.stringify(value, null, 2)}\n`);
}

/** Child: measures one dialect and writes engine-<dialect>.json. */
async function runChild(dialect: Dialect): Promise<void> {
  // node-postgres names its connections after PGAPPNAME: server-cpu.ts finds the backends by it.
  const applicationName = `obmen-bench-${process.pid}`;
  process.env.PGAPPNAME = applicationName;
  const { store, drop } = await freshStore(dialect);
  try {
    process.stderr.write(
      `${dialect}: ${records.toLocaleString('en-US')} products, batches of ${batchSize}\n`,
    );
    const figures = await runEngineBench(store, {
      records,
      batchSize,
      log: (line) => process.stderr.write(`${line}\n`),
      applicationName,
    });
    writeJson(`engine-${dialect}.json`, { ...environment(), ...figures });
  } finally {
    await store.close();
    await drop();
  }
}

function runInChild(dialect: Dialect): Promise<void> {
  const args = [...process.execArgv, fileURLToPath(import.meta.url), '--child', '--dialect', dialect];
  args.push('--records', String(records), '--batch', String(batchSize));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'inherit', 'inherit'] });
    child.on('error', reject);
    child.on('exit', (code, signal) =>
      code === 0 ? resolve() : reject(new Error(`${dialect} bench exited with ${signal ?? code}`)),
    );
  });
}

async function runParent(): Promise<void> {
  const dialects: Dialect[] = values.dialect ? [values.dialect as Dialect] : ['sqlite', 'postgres'];
  const results: DialectResult[] = [];
  let failed = false;
  for (const dialect of dialects) {
    const skip = dialect === 'postgres' ? await postgresUnavailable() : undefined;
    if (skip) {
      process.stderr.write(`postgres: skipped — ${skip}\n`);
      results.push({ dialect, skipped: skip });
      continue;
    }
    try {
      await runInChild(dialect);
      const figures = JSON.parse(
        readFileSync(join(RESULTS, `engine-${dialect}.json`), 'utf8'),
      ) as EngineFigures;
      results.push({ dialect, figures });
    } catch (error) {
      failed = true;
      results.push({ dialect, skipped: `failed: ${(error as Error).message}` });
    }
  }
  const verdict = printTable(results, records);
  writeJson('engine.json', {
    ...environment(),
    records,
    batchSize,
    targets: verdict.targets,
    pass: verdict.pass,
    dialects: Object.fromEntries(
      results.map((r) => ['figures' in r ? [r.dialect, r.figures] : [r.dialect, { skipped: r.skipped }]][0]!),
    ),
  });
  process.stdout.write(`\nresults: ${join(RESULTS, 'engine.json')}\n`);
  if (failed) process.exitCode = 1;
}

if (values.child) await runChild(values.dialect as Dialect);
else await runParent();
