/**
 * CommerceML endpoint benchmark: a generated import.xml (default 500,000 goods with
 * properties, > 1 GB) goes through obmen's `/bitrix/admin/1c_exchange.php` over HTTP, driven
 * by the 1C exchange emulator exactly as 1C does (checkauth → init → file chunks → import
 * until success). obmen runs in its own child process on a fresh SQLite file, so the peak RSS
 * measured is obmen's alone.
 *
 *   node --import tsx bench/commerceml-endpoint.ts [--goods N] [--properties N] [--zip] [--step S] [--heap MB]
 *
 * Writes bench/results/commerceml-endpoint.json (with --heap: commerceml-endpoint-heap<MB>.json).
 * `--heap` starts obmen with --max-old-space-size: V8 otherwise lets garbage pile up to hundreds
 * of MB between major collections on a machine with free memory, which is RSS but not a leak.
 */
import { execSync, fork } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { finished } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { runCatalogExchange } from '../emulators/onec-exchange/index.ts';
import { ExchangeClient } from '../src/exchange/commerceml/index.ts';
import { generateCatalog } from '../src/formats/commerceml/index.ts';

const LOGIN = 'bench';
const PASSWORD = 'bench-password';
const TARGETS = { mbPerSecond: 30, peakRssMb: 256 };

interface ServerReport {
  /** RSS once obmen listens, before the exchange: what the code and libraries cost at rest. */
  idleRssBytes: number;
  maxRssBytes: number;
  sampledPeakBytes: number;
  cpuSeconds: number;
  records: Record<string, number>;
}

async function serve(dir: string, zip: boolean, stepSeconds: number): Promise<void> {
  const { startProcessSampler } = await import('./rss.ts');
  const sampler = startProcessSampler();
  const { buildApi } = await import('../src/api/server.ts');
  const { configSchema } = await import('../src/config/schema.ts');
  const { onecCommercemlConnector } = await import('../src/connectors/onec-commerceml/index.ts');
  const { registerConnector } = await import('../src/connectors/registry.ts');
  const { createRuntime } = await import('../src/engine/runtime.ts');
  const { openStore } = await import('../src/store/store.ts');
  registerConnector(onecCommercemlConnector);
  const store = await openStore({ url: join(dir, 'obmen.db') });
  const config = configSchema.parse({
    systems: {
      erp: {
        kind: 'onec-commerceml',
        credentials: { login: LOGIN, password: PASSWORD },
        options: { dataDir: join(dir, 'exchange'), zip, importStepSeconds: stepSeconds },
      },
    },
  });
  const runtime = createRuntime({ config, store, owner: 'bench-api' });
  const app = await buildApi({ store, config, logger: false });
  for (const connector of runtime.connectors.values()) await connector.mountInbound?.(app, runtime);
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  const idleRssBytes = process.memoryUsage.rss();
  process.send?.({ url });
  process.on('message', async (message: { report?: boolean }) => {
    if (!message.report) return;
    const rows = await store.db
      .selectFrom('records')
      .select(['entity', (eb) => eb.fn.countAll<number>().as('n')])
      .groupBy('entity')
      .execute();
    const usage = process.resourceUsage();
    const sampled = await sampler.stop();
    const report: ServerReport = {
      idleRssBytes,
      maxRssBytes: usage.maxRSS * 1024,
      sampledPeakBytes: sampled.sampledPeakBytes,
      cpuSeconds: (usage.userCPUTime + usage.systemCPUTime) / 1e6,
      records: Object.fromEntries(rows.map((r) => [r.entity, Number(r.n)])),
    };
    process.send?.({ report }, () => {
      void app.close().then(() => runtime.close().then(() => store.close().then(() => process.exit(0))));
    });
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      serve: { type: 'string' },
      goods: { type: 'string', default: '500000' },
      properties: { type: 'string', default: '4' },
      seed: { type: 'string', default: '1' },
      zip: { type: 'boolean', default: false },
      step: { type: 'string', default: '20' },
      'zip-serve': { type: 'boolean', default: false },
      heap: { type: 'string' },
    },
  });
  if (values.serve) {
    await serve(values.serve, values['zip-serve'], Number(values.step));
    return;
  }
  const goods = Number(values.goods);
  const properties = Number(values.properties);
  const seed = Number(values.seed);

  // The generated file is kept between runs (same options → same bytes).
  const cache = join(tmpdir(), `obmen-bench-cml-${goods}-${properties}-${seed}`);
  const importPath = join(cache, 'import.xml');
  const doneMarker = join(cache, 'complete');
  let generateSeconds = 0;
  if (!existsSync(doneMarker)) {
    mkdirSync(cache, { recursive: true });
    const started = performance.now();
    const out = createWriteStream(importPath);
    await generateCatalog({ goods, propertiesPerGood: properties, seed }, out);
    out.end();
    await finished(out);
    writeFileSync(doneMarker, '');
    generateSeconds = (performance.now() - started) / 1000;
  }
  const bytes = statSync(importPath).size;
  console.log(`import.xml: ${(bytes / 1e6).toFixed(1)} MB, ${goods} goods × ${properties} properties`);

  const work = join(tmpdir(), `obmen-bench-cml-run-${process.pid}`);
  mkdirSync(work, { recursive: true });
  const child = fork(
    fileURLToPath(import.meta.url),
    ['--serve', work, '--step', values.step, ...(values.zip ? ['--zip-serve'] : [])],
    {
      execArgv: ['--import', 'tsx', ...(values.heap ? [`--max-old-space-size=${values.heap}`] : [])],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    },
  );
  const url = await new Promise<string>((resolve, reject) => {
    child.once('message', (m: { url: string }) => resolve(m.url));
    child.once('exit', (code) => reject(new Error(`obmen child exited with ${code}`)));
  });
  const client = new ExchangeClient({
    url: `${url}/bitrix/admin/1c_exchange.php`,
    login: LOGIN,
    password: PASSWORD,
  });
  let uploadDone = 0;
  let lastLog = 0;
  const started = performance.now();
  const result = await runCatalogExchange({
    client,
    files: [{ name: 'import.xml', path: importPath }],
    zip: values.zip ? 'auto' : 'never',
    onProgress: (text) => {
      if (text.startsWith('uploaded')) uploadDone = performance.now();
      const now = performance.now();
      if (now - lastLog > 10_000 || !text.startsWith('progress')) {
        lastLog = now;
        console.log(`${((now - started) / 1000).toFixed(0)} s  ${text}`);
      }
    },
  });
  const totalSeconds = (performance.now() - started) / 1000;
  const uploadSeconds = (uploadDone - started) / 1000;
  const report = await new Promise<ServerReport>((resolve) => {
    child.on('message', (m: { report?: ServerReport }) => {
      if (m.report) resolve(m.report);
    });
    child.send({ report: true });
  });
  await rm(work, { recursive: true, force: true });

  const mb = bytes / 1024 / 1024;
  const products = report.records['product'] ?? 0;
  const figures = {
    bytes,
    megabytes: Number(mb.toFixed(1)),
    goods,
    propertiesPerGood: properties,
    zip: values.zip,
    obmenNodeFlags: values.heap ? `--max-old-space-size=${values.heap}` : 'none',
    importStepSeconds: Number(values.step),
    uploadSeconds: Number(uploadSeconds.toFixed(2)),
    importSeconds: Number((totalSeconds - uploadSeconds).toFixed(2)),
    totalSeconds: Number(totalSeconds.toFixed(2)),
    mbPerSecond: Number((mb / totalSeconds).toFixed(2)),
    goodsPerSecond: Math.round(products / totalSeconds),
    importCalls: result.importCalls,
    requests: result.requests,
    obmenCpuSeconds: Number(report.cpuSeconds.toFixed(2)),
    idleRssMb: Number((report.idleRssBytes / 1024 / 1024).toFixed(1)),
    peakRssMb: Number((Math.max(report.maxRssBytes, report.sampledPeakBytes) / 1024 / 1024).toFixed(1)),
    records: report.records,
  };
  if (products !== goods) throw new Error(`expected ${goods} products in obmen, found ${products}`);
  const output = {
    node: process.version,
    date: new Date().toISOString(),
    cores: cpus().length,
    cpu: cpus()[0]?.model ?? 'unknown',
    commit: gitCommit(),
    load: readLoad(),
    generateSeconds: Number(generateSeconds.toFixed(1)),
    targets: TARGETS,
    pass: {
      mbPerSecond: figures.mbPerSecond >= TARGETS.mbPerSecond,
      peakRss: figures.peakRssMb <= TARGETS.peakRssMb,
    },
    ...figures,
  };
  const resultsDir = join(fileURLToPath(new URL('.', import.meta.url)), 'results');
  mkdirSync(resultsDir, { recursive: true });
  const resultName = values.heap ? `commerceml-endpoint-heap${values.heap}.json` : 'commerceml-endpoint.json';
  writeFileSync(join(resultsDir, resultName), `${JSON.stringify(output, null, 2)}\n`);
  console.table({
    'MB/s': figures.mbPerSecond,
    'goods/s': figures.goodsPerSecond,
    'peak RSS MB (obmen)': figures.peakRssMb,
    'upload s': figures.uploadSeconds,
    'import s': figures.importSeconds,
    'import calls': figures.importCalls,
  });
}

function gitCommit(): string {
  try {
    const head = execSync('git rev-parse --short=12 HEAD', { stdio: ['ignore', 'pipe', 'ignore'] })
      .toString()
      .trim();
    const dirty = execSync('git status --porcelain', { stdio: ['ignore', 'pipe', 'ignore'] })
      .toString()
      .trim();
    return dirty ? `${head}+dirty` : head;
  } catch {
    return 'unknown';
  }
}

function readLoad(): string {
  try {
    return readFileSync('/proc/loadavg', 'utf8').trim();
  } catch {
    return 'unknown';
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
