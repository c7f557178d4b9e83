import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { configSchema } from '../src/config/schema.ts';
import { onecOdataConnector } from '../src/connectors/onec-odata/index.ts';
import { registerConnector } from '../src/connectors/registry.ts';
import { runPull } from '../src/engine/pull.ts';
import { createRuntime } from '../src/engine/runtime.ts';
import { openStore } from '../src/store/store.ts';
import { startProcessSampler } from './rss.ts';

/**
 * `node --import tsx bench/onec-odata.ts [--items 100000] [--page 1000]`
 *
 * Pulls Catalog_Номенклатура from the 1C OData emulator into a fresh SQLite hub through the
 * real runtime (shared HTTP client with its request log, connector, ingest), then polls again
 * unchanged (must create 0 versions) and after editing 100 objects (must make exactly 100).
 * The emulator runs in a child process, so the RSS measured is the hub's alone.
 */

const HERE = dirname(fileURLToPath(import.meta.url));
const { values } = parseArgs({
  options: { items: { type: 'string', default: '100000' }, page: { type: 'string', default: '1000' } },
});
const items = Number(values.items);
const page = Number(values.page);
if (!Number.isInteger(items) || items <= 0 || items > 1_000_000)
  throw new Error(`--items must be 1…1000000, got ${values.items}`);
if (!Number.isInteger(page) || page <= 0 || page > 5000)
  throw new Error(`--page must be 1…5000, got ${values.page}`);

const EDITS = 100;

async function startEmulator(): Promise<{ url: string; stop: () => void }> {
  const code =
    "const m = await import('./emulators/onec-odata/cli.ts'); await m.runOnecOdataEmulatorCli(process.argv.slice(1));";
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', '--input-type=module', '-e', code, '--', '--port', '0', '--items', String(items)],
    { cwd: join(HERE, '..'), stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const lines = createInterface({ input: child.stdout });
  const url = await new Promise<string>((resolve, reject) => {
    lines.once('line', resolve);
    child.once('exit', (status) => reject(new Error(`emulator exited with ${status}`)));
  });
  return { url, stop: () => child.kill('SIGTERM') };
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

/** Edits objects in the emulator through its own OData interface, as a 1C user saving them would. */
async function editInEmulator(serviceUrl: string, count: number): Promise<void> {
  const auth = `Basic ${Buffer.from('Обмен:секрет', 'utf8').toString('base64')}`;
  const set = encodeURIComponent('Catalog_Номенклатура');
  const list = await fetch(`${serviceUrl}/${set}?$format=json&$select=Ref_Key&$top=${count}&$skip=1000`, {
    headers: { authorization: auth },
  });
  const refs = ((await list.json()) as { value: Array<{ Ref_Key: string }> }).value.map((row) => row.Ref_Key);
  for (const ref of refs) {
    const res = await fetch(`${serviceUrl}/${set}(guid'${ref}')?$format=json`, {
      method: 'PATCH',
      headers: { authorization: auth, 'content-type': 'application/json' },
      body: JSON.stringify({ Описание: 'изменено в 1С' }),
    });
    if (!res.ok) throw new Error(`PATCH ${ref}: HTTP ${res.status}`);
  }
}

registerConnector(onecOdataConnector);
const emulator = await startEmulator();
const dir = mkdtempSync(join(tmpdir(), 'obmen-bench-onec-'));
const store = await openStore({ url: join(dir, 'obmen.db') });
const config = configSchema.parse({
  systems: {
    onec: { kind: 'onec-odata', url: emulator.url, credentials: { login: 'Обмен', password: 'секрет' } },
  },
  sources: [{ name: 'onec-products', system: 'onec', entity: 'product', batchSize: page }],
});
const runtime = createRuntime({ config, store, owner: 'bench' });
const sampler = startProcessSampler(50);

async function httpCalls(): Promise<number> {
  const row = await store.db
    .selectFrom('request_log')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

async function phase(name: string) {
  const callsBefore = await httpCalls();
  const cpuFrom = process.cpuUsage();
  const started = performance.now();
  const { stats } = await runPull(runtime, 'onec-products');
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuFrom);
  return {
    phase: name,
    seconds: Math.round(seconds * 100) / 100,
    itemsScanned: items,
    itemsPerSecond: Math.round(items / seconds),
    read: stats.read,
    created: stats.created,
    updated: stats.updated,
    httpCalls: (await httpCalls()) - callsBefore,
    cpuSeconds: Math.round(((cpu.user + cpu.system) / 1e6) * 100) / 100,
    loopStallMaxMs: sampler.takeStallMs(),
  };
}

try {
  const first = await phase('first pull');
  if (first.created !== items) throw new Error(`first pull created ${first.created}, expected ${items}`);
  const unchanged = await phase('re-poll, unchanged');
  if (unchanged.created + unchanged.updated + unchanged.read !== 0) {
    throw new Error(`re-poll of an unchanged catalog produced ${JSON.stringify(unchanged)}`);
  }
  await editInEmulator(emulator.url, EDITS);
  const edited = await phase(`re-poll, ${EDITS} edited`);
  if (edited.updated !== EDITS || edited.created !== 0)
    throw new Error(`edited poll: ${JSON.stringify(edited)}`);
  const memory = await sampler.stop();
  const phases = [first, unchanged, edited];
  const header = ['phase', 'items/s', 's', 'HTTP calls', 'read', 'created', 'updated', 'CPU s'];
  const rows = phases.map((p) =>
    [p.phase, p.itemsPerSecond, p.seconds, p.httpCalls, p.read, p.created, p.updated, p.cpuSeconds].map(
      String,
    ),
  );
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  for (const row of [header, ...rows]) console.log(row.map((cell, i) => cell.padEnd(widths[i]!)).join('  '));
  const peakMb = Math.round(Math.max(memory.sampledPeakBytes, memory.kernelMaxRssBytes) / 1024 / 1024);
  console.log(`peak RSS of the hub process: ${peakMb} MB (emulator in its own process)`);
  mkdirSync(join(HERE, 'results'), { recursive: true });
  writeFileSync(
    join(HERE, 'results', 'onec-odata.json'),
    `${JSON.stringify(
      {
        bench: 'onec-odata pull into SQLite',
        items,
        pageSize: page,
        phases,
        memory: {
          peakRssMb: peakMb,
          sampledPeakBytes: memory.sampledPeakBytes,
          kernelMaxRssBytes: memory.kernelMaxRssBytes,
        },
        environment: {
          node: process.version,
          date: new Date().toISOString(),
          platform: `${process.platform}-${process.arch}`,
          cores: availableParallelism(),
          cpu: cpus()[0]?.model,
          commit: gitCommit(),
        },
      },
      null,
      2,
    )}\n`,
  );
} finally {
  await sampler.stop();
  await runtime.close();
  await store.close();
  emulator.stop();
  rmSync(dir, { recursive: true, force: true });
}
