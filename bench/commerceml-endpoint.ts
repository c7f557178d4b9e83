/**
 * CommerceML endpoint benchmark: a generated import.xml (default 500,000 goods with properties,
 * > 1 GB) goes through obmen's `/bitrix/admin/1c_exchange.php` over HTTP, driven by the 1C
 * exchange emulator exactly as 1C does (checkauth → init → file chunks → import until success).
 * obmen is the real `obmen start` in its own process on a fresh SQLite file; this process is
 * only 1C. obmen's memory and CPU are read from /proc (Linux), so nothing of the benchmark runs
 * inside the measured process.
 *
 *   node --import tsx bench/commerceml-endpoint.ts [--goods N] [--properties N] [--zip]
 *        [--build bin|tsx|compiled] [--node-flags="..."] [--parse-thread false] [--step S]
 *        [--import-while-receiving false] [--prepare-on-parser-thread false]
 *        [--name suffix] [--obmen-dir DIR] [--obmen-log FILE]
 *
 * --build bin (default) starts bin/obmen.mjs as users do after `npm start` (the compiled
 * dist/cli, built first when stale); tsx forces it to run the TypeScript sources; compiled
 * runs a bundle the benchmark makes itself (for checkouts without dist/cli). obmen's node gets the
 * flags of bin/obmen.mjs's `#!/usr/bin/env -S node …` line, as `obmen start` does, then --node-flags, e.g.
 * --node-flags="--cpu-prof --cpu-prof-dir=/tmp/prof" (with the `=`: the value starts with a dash). --obmen-dir runs another
 * checkout of obmen (e.g. `git worktree add` of an older commit, for a "before" figure).
 * --obmen-log appends obmen's stdout to FILE (with --node-flags=--trace-gc: its collections).
 * Writes bench/results/commerceml-endpoint[-suffix].json.
 */
import { execSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { finished } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { runCatalogExchange } from '../emulators/onec-exchange/index.ts';
import { ExchangeClient } from '../src/exchange/commerceml/index.ts';
import { generateCatalog } from '../src/formats/commerceml/index.ts';
import {
  binNodeFlags,
  type ObmenBuild,
  type ProcessProbe,
  startObmenProcess,
} from './commerceml-endpoint-obmen.ts';

const LOGIN = 'bench';
const PASSWORD = 'bench-password';
const TARGETS = { mbPerSecond: 30, peakRssMb: 256 };
const MB = 1024 * 1024;
const REPO = fileURLToPath(new URL('..', import.meta.url));

const { values } = parseArgs({
  options: {
    goods: { type: 'string', default: '500000' },
    properties: { type: 'string', default: '4' },
    seed: { type: 'string', default: '1' },
    zip: { type: 'boolean', default: false },
    step: { type: 'string', default: '20' },
    build: { type: 'string', default: 'bin' },
    'node-flags': { type: 'string', default: '' },
    name: { type: 'string' },
    'obmen-dir': { type: 'string' },
    'obmen-log': { type: 'string' },
    'parse-thread': { type: 'string', default: 'true' },
    'import-while-receiving': { type: 'string', default: 'true' },
    'prepare-on-parser-thread': { type: 'string', default: 'true' },
  },
});

async function main(): Promise<void> {
  const goods = Number(values.goods);
  const properties = Number(values.properties);
  const build = values.build as ObmenBuild;
  if (!['bin', 'tsx', 'compiled'].includes(build)) throw new Error('--build: use bin, tsx or compiled');
  const nodeFlags = values['node-flags'].split(' ').filter(Boolean);
  const { path: importPath, generateSeconds } = await catalogFile(goods, properties, Number(values.seed));
  const bytes = statSync(importPath).size;
  console.log(`import.xml: ${(bytes / 1e6).toFixed(1)} MB, ${goods} goods × ${properties} properties`);

  const dir = await mkdtemp(join(tmpdir(), 'obmen-bench-cml-run-'));
  const loadBefore = readLoad();
  const obmen = await startObmenProcess({
    dir,
    build,
    login: LOGIN,
    password: PASSWORD,
    zip: values.zip,
    importStepSeconds: Number(values.step),
    parseThread: values['parse-thread'] !== 'false',
    importWhileReceiving: values['import-while-receiving'] !== 'false',
    prepareOnParserThread: values['prepare-on-parser-thread'] !== 'false',
    nodeFlags,
    ...(values['obmen-dir'] ? { repo: values['obmen-dir'] } : {}),
    ...(values['obmen-log'] ? { stdoutLog: values['obmen-log'] } : {}),
  });
  // Settle, then take obmen at rest: what the code and libraries cost before any data.
  await new Promise((resolve) => setTimeout(resolve, 2000));
  const idle = obmen.probe();
  obmen.takeSampledPeak();

  const client = new ExchangeClient({
    url: `${obmen.base}/bitrix/admin/1c_exchange.php`,
    login: LOGIN,
    password: PASSWORD,
  });
  const marks: Record<string, { at: number; probe: ProcessProbe; sampledPeak: number }> = {};
  const mark = (name: string) => {
    marks[name] = { at: performance.now(), probe: obmen.probe(), sampledPeak: obmen.takeSampledPeak() };
  };
  const clientCpu0 = process.cpuUsage();
  let lastLog = 0;
  mark('start');
  const result = await runCatalogExchange({
    client,
    files: [{ name: 'import.xml', path: importPath }],
    zip: values.zip ? 'auto' : 'never',
    onProgress: (text) => {
      if (text.startsWith('archive')) mark('zipped');
      if (text.startsWith('uploaded')) mark('uploaded');
      const now = performance.now();
      if (now - lastLog > 10_000 || !text.startsWith('progress')) {
        lastLog = now;
        console.log(`${((now - marks['start']!.at) / 1000).toFixed(0)} s  ${text}`);
      }
    },
  });
  mark('imported');
  const clientCpu = process.cpuUsage(clientCpu0);
  const loadAfter = readLoad();
  const threads = obmen.cpuByThread();
  const exitCode = await obmen.stop();
  const records = countRecords(join(dir, 'obmen.db'));
  const databaseMb = Number((statSync(join(dir, 'obmen.db')).size / MB).toFixed(1));
  await rm(dir, { recursive: true, force: true });

  const start = marks['start']!;
  const uploadFrom = marks['zipped'] ?? start;
  const uploaded = marks['uploaded']!;
  const imported = marks['imported']!;
  const seconds = (from: { at: number }, to: { at: number }) => Number(((to.at - from.at) / 1000).toFixed(2));
  const cpu = (from: { probe: ProcessProbe }, to: { probe: ProcessProbe }) => ({
    user: Number((to.probe.userSeconds - from.probe.userSeconds).toFixed(2)),
    system: Number((to.probe.systemSeconds - from.probe.systemSeconds).toFixed(2)),
  });
  const mbOf = (n: number) => Number((n / MB).toFixed(1));
  const round2 = (n: number) => Number(n.toFixed(2));
  // From the first request that carries the file: with --zip, the 1C side packs the archive
  // first (zipSeconds, this process's own CPU), which is 1C's time, not obmen's.
  const totalSeconds = seconds(uploadFrom, imported);
  const products = records['product'] ?? 0;
  if (products !== goods) throw new Error(`expected ${goods} products in obmen, found ${products}`);
  const peakRssBytes = Math.max(imported.probe.peakRssBytes, uploaded.sampledPeak, imported.sampledPeak);
  const figures = {
    bytes,
    megabytes: mbOf(bytes),
    goods,
    propertiesPerGood: properties,
    zip: values.zip,
    obmenBuild: build,
    // Those of bin/obmen.mjs's first line (as users start it), then --node-flags.
    obmenNodeFlags:
      [...binNodeFlags(join(values['obmen-dir'] ?? REPO, 'bin', 'obmen.mjs')), ...nodeFlags].join(' ') ||
      'none',
    // OBMEN_V8_FLAGS as obmen inherits it (unset: bin/obmen.mjs's own default V8 flags).
    obmenV8Flags: process.env.OBMEN_V8_FLAGS ?? 'default',
    importStepSeconds: Number(values.step),
    parseThread: values['parse-thread'] !== 'false',
    importWhileReceiving: values['import-while-receiving'] !== 'false',
    prepareOnParserThread: values['prepare-on-parser-thread'] !== 'false',
    ...(marks['zipped'] ? { zipSeconds: seconds(start, marks['zipped']) } : {}),
    uploadSeconds: seconds(uploadFrom, uploaded),
    importSeconds: seconds(uploaded, imported),
    totalSeconds,
    mbPerSecond: Number((bytes / MB / totalSeconds).toFixed(2)),
    goodsPerSecond: Math.round(products / totalSeconds),
    importCalls: result.importCalls,
    requests: result.requests,
    obmen: {
      idleRssMb: mbOf(idle.rssBytes),
      uploadPeakRssMb: mbOf(uploaded.sampledPeak),
      importPeakRssMb: mbOf(imported.sampledPeak),
      peakRssMb: mbOf(peakRssBytes),
      threads: imported.probe.threads,
      // Disk traffic of the whole exchange (the uploaded file, SQLite's WAL, checkpoints, the
      // database file; the import runs while the file arrives) and of the import after the
      // upload: what the machine's load does not change, unlike the seconds.
      exchangeDiskGb: {
        written: Number(((imported.probe.writeBytes - start.probe.writeBytes) / 1e9).toFixed(2)),
        read: Number(((imported.probe.readBytes - start.probe.readBytes) / 1e9).toFixed(2)),
      },
      importDiskGb: {
        written: Number(((imported.probe.writeBytes - uploaded.probe.writeBytes) / 1e9).toFixed(2)),
        read: Number(((imported.probe.readBytes - uploaded.probe.readBytes) / 1e9).toFixed(2)),
      },
      databaseMb: databaseMb,
      cpuSeconds: {
        startup: Number((idle.userSeconds + idle.systemSeconds).toFixed(2)),
        upload: cpu(start, uploaded),
        import: cpu(uploaded, imported),
        total: Number(
          (
            imported.probe.userSeconds +
            imported.probe.systemSeconds -
            start.probe.userSeconds -
            start.probe.systemSeconds
          ).toFixed(2),
        ),
      },
      // Per thread, since obmen started until the import ended: where the two cores went.
      cpuSecondsByThread: {
        main: round2(threads.main),
        busiestOther: round2(threads.others[0] ?? 0),
        rest: round2(threads.others.slice(1).reduce((sum, used) => sum + used, 0)),
      },
      exitCode,
    },
    clientCpuSeconds: Number(((clientCpu.user + clientCpu.system) / 1e6).toFixed(2)),
    records,
  };
  const output = {
    node: process.version,
    date: new Date().toISOString(),
    cores: cpus().length,
    cpu: cpus()[0]?.model ?? 'unknown',
    commit: gitCommit(values['obmen-dir']),
    load: { before: loadBefore, after: loadAfter },
    generateSeconds,
    targets: TARGETS,
    pass: {
      mbPerSecond: figures.mbPerSecond >= TARGETS.mbPerSecond,
      peakRss: figures.obmen.peakRssMb <= TARGETS.peakRssMb,
    },
    ...figures,
  };
  const resultsDir = join(fileURLToPath(new URL('.', import.meta.url)), 'results');
  mkdirSync(resultsDir, { recursive: true });
  const name = values.name ? `commerceml-endpoint-${values.name}.json` : 'commerceml-endpoint.json';
  writeFileSync(join(resultsDir, name), `${JSON.stringify(output, null, 2)}\n`);
  console.table({
    'MB/s': figures.mbPerSecond,
    'goods/s': figures.goodsPerSecond,
    'upload s': figures.uploadSeconds,
    'import s': figures.importSeconds,
    'obmen CPU s (upload + import)': figures.obmen.cpuSeconds.total,
    'CPU s main / busiest other / rest': `${figures.obmen.cpuSecondsByThread.main} / ${figures.obmen.cpuSecondsByThread.busiestOther} / ${figures.obmen.cpuSecondsByThread.rest}`,
    'obmen idle RSS MB': figures.obmen.idleRssMb,
    'obmen peak RSS MB': figures.obmen.peakRssMb,
    'exchange disk written / read GB': `${figures.obmen.exchangeDiskGb.written} / ${figures.obmen.exchangeDiskGb.read}`,
    'import disk written / read GB': `${figures.obmen.importDiskGb.written} / ${figures.obmen.importDiskGb.read}`,
    'database MB': databaseMb,
    load: `${loadBefore} → ${loadAfter}`,
  });
  console.log(`written: bench/results/${name}`);
}

/** The generated file is kept between runs (same options → same bytes). */
async function catalogFile(
  goods: number,
  properties: number,
  seed: number,
): Promise<{ path: string; generateSeconds: number }> {
  const cache = join(tmpdir(), `obmen-bench-cml-${goods}-${properties}-${seed}`);
  const path = join(cache, 'import.xml');
  const doneMarker = join(cache, 'complete');
  if (existsSync(doneMarker)) return { path, generateSeconds: 0 };
  mkdirSync(cache, { recursive: true });
  const started = performance.now();
  const out = createWriteStream(path);
  await generateCatalog({ goods, propertiesPerGood: properties, seed }, out);
  out.end();
  await finished(out);
  writeFileSync(doneMarker, '');
  return { path, generateSeconds: Number(((performance.now() - started) / 1000).toFixed(1)) };
}

function countRecords(path: string): Record<string, number> {
  const db = new Database(path, { readonly: true });
  try {
    const rows = db.prepare('select entity, count(*) as n from records group by entity').all() as Array<{
      entity: string;
      n: number;
    }>;
    return Object.fromEntries(rows.map((r) => [r.entity, r.n]));
  } finally {
    db.close();
  }
}

function gitCommit(dir?: string): string {
  const git = (command: string) =>
    execSync(`git ${command}`, { stdio: ['ignore', 'pipe', 'ignore'], ...(dir ? { cwd: dir } : {}) })
      .toString()
      .trim();
  try {
    const head = git('rev-parse --short=12 HEAD');
    const dirty = git('status --porcelain');
    return dirty ? `${head}+dirty` : head;
  } catch {
    return 'unknown';
  }
}

function readLoad(): string {
  try {
    return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  } catch {
    return 'unknown';
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
