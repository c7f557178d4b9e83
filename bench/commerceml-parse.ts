import { execFileSync, spawn } from 'node:child_process';
import { createWriteStream, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { finished } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createEntityRegistry } from '../src/core/entities/index.ts';
import { generateCatalog } from '../src/formats/commerceml/generate.ts';
import { parseCommerceMlInWorker } from '../src/formats/commerceml/parse-in-worker.ts';
import { parseCommerceMl } from '../src/formats/commerceml/parser.ts';
import type { CmlEvent } from '../src/formats/commerceml/types.ts';
import { startProcessSampler } from './rss.ts';

/**
 * `node --import tsx bench/commerceml-parse.ts [--goods 100000] [--properties 10] [--file path]
 *  [--thread main|worker] [--prepare] [--name suffix]`
 * Generates a deterministic import.xml (generateCatalog), then parses it in a child process
 * (so the peak RSS is the parser's alone) and reports MB/s, goods/s and peak RSS. `--thread
 * worker` parses on a worker thread as the exchange endpoint does (parseCommerceMlInWorker; the
 * CPU is the whole process's), `--prepare` also prepares every item there for ingest
 * (engine/prepared.ts, the endpoint's default). Writes bench/results/commerceml-parse[-suffix].json.
 */

const HERE = dirname(fileURLToPath(import.meta.url));
const RESULTS = join(HERE, 'results');
const TARGETS = { parserMbPerSecond: 30, peakRssMb: 256 };

const { values } = parseArgs({
  options: {
    goods: { type: 'string', default: '100000' },
    properties: { type: 'string', default: '10' },
    seed: { type: 'string', default: '1' },
    file: { type: 'string' },
    child: { type: 'boolean', default: false },
    thread: { type: 'string', default: 'main' },
    prepare: { type: 'boolean', default: false },
    name: { type: 'string' },
  },
});

interface ParseFigures {
  bytes: number;
  seconds: number;
  cpuSeconds: number;
  mbPerSecond: number;
  /** MB per CPU second: what the parser does with one core, however busy the machine is. */
  mbPerCpuSecond: number;
  goods: number;
  goodsPerSecond: number;
  items: number;
  itemErrors: number;
  peakRssMb: number;
  kernelMaxRssMb: number;
}

async function parseFile(file: string): Promise<ParseFigures> {
  const sampler = startProcessSampler();
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  let goods = 0;
  let items = 0;
  let itemErrors = 0;
  for await (const event of parsedEvents(file)) {
    if (event.kind === 'item') {
      items += 1;
      if (event.entity === 'product') goods += 1;
    } else if (event.kind === 'itemError') itemErrors += 1;
  }
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  const memory = await sampler.stop();
  const bytes = statSync(file).size;
  const mb = bytes / 1024 / 1024;
  return {
    bytes,
    seconds: round(seconds),
    cpuSeconds: round((cpu.user + cpu.system) / 1e6),
    mbPerSecond: round(mb / seconds),
    mbPerCpuSecond: round(mb / ((cpu.user + cpu.system) / 1e6)),
    goods,
    goodsPerSecond: Math.round(goods / seconds),
    items,
    itemErrors,
    peakRssMb: round(memory.sampledPeakBytes / 1024 / 1024),
    kernelMaxRssMb: round(memory.kernelMaxRssBytes / 1024 / 1024),
  };
}

/** The parser as --thread and --prepare ask for it. */
function parsedEvents(file: string): AsyncIterable<CmlEvent<unknown>> {
  if (values.thread === 'main') return parseCommerceMl(file);
  const entities = createEntityRegistry([]).names();
  return values.prepare
    ? parseCommerceMlInWorker(file, { prepare: { entities, custom: [] } })
    : parseCommerceMlInWorker(file);
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
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

function parseInChild(file: string): Promise<ParseFigures> {
  const args = [
    ...process.execArgv,
    fileURLToPath(import.meta.url),
    '--child',
    '--file',
    file,
    '--thread',
    values.thread,
    ...(values.prepare ? ['--prepare'] : []),
  ];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8');
    });
    child.on('error', reject);
    child.on('exit', (code, signal) =>
      code === 0
        ? resolve(JSON.parse(out) as ParseFigures)
        : reject(new Error(`parse child exited with ${signal ?? code}`)),
    );
  });
}

async function main(): Promise<void> {
  if (values.child) {
    process.stdout.write(JSON.stringify(await parseFile(values.file!)));
    return;
  }
  if (values.thread !== 'main' && values.thread !== 'worker') throw new Error('--thread: use main or worker');
  if (values.prepare && values.thread !== 'worker') throw new Error('--prepare needs --thread worker');
  const goods = Number(values.goods);
  const propertiesPerGood = Number(values.properties);
  const seed = Number(values.seed);
  if (!Number.isInteger(goods) || goods <= 0)
    throw new Error(`--goods must be a positive integer, got ${values.goods}`);
  let file = values.file;
  let dir: string | undefined;
  let generation: { seconds: number } | undefined;
  if (file === undefined) {
    dir = mkdtempSync(join(tmpdir(), 'obmen-cml-bench-'));
    file = join(dir, 'import.xml');
    const started = performance.now();
    const out = createWriteStream(file);
    await generateCatalog({ goods, propertiesPerGood, seed }, out);
    out.end();
    await finished(out);
    generation = { seconds: round((performance.now() - started) / 1000) };
    process.stderr.write(
      `generated ${(statSync(file).size / 1024 / 1024).toFixed(1)} MB, ${goods} goods in ${generation.seconds} s\n`,
    );
  }
  try {
    const figures = await parseInChild(file);
    const pass = {
      mbPerSecond: figures.mbPerSecond >= TARGETS.parserMbPerSecond,
      peakRss: Math.max(figures.peakRssMb, figures.kernelMaxRssMb) <= TARGETS.peakRssMb,
    };
    const result = {
      node: process.version,
      date: new Date().toISOString(),
      cores: availableParallelism(),
      cpu: cpus()[0]?.model,
      // Other work on the machine lowers the wall-clock figures; this says how busy it was.
      loadAverage: loadavg().map((n) => round(n)),
      commit: gitCommit(),
      input: values.file ?? { generated: { goods, propertiesPerGood, seed, ...generation } },
      thread: values.thread,
      prepare: values.prepare,
      targets: TARGETS,
      pass,
      ...figures,
    };
    console.log(
      `parse: ${figures.bytes} bytes in ${figures.seconds} s (cpu ${figures.cpuSeconds} s) — ${figures.mbPerSecond} MB/s ` +
        `(${figures.mbPerCpuSecond} MB per CPU second), ` +
        `${figures.goodsPerSecond} goods/s, ${figures.items} items, peak RSS ${figures.peakRssMb} MB ` +
        `(kernel max ${figures.kernelMaxRssMb} MB)`,
    );
    console.log(
      `load average ${loadavg()
        .map((n) => n.toFixed(1))
        .join(' ')} on ${availableParallelism()} cores`,
    );
    console.log(
      `targets: ≥ ${TARGETS.parserMbPerSecond} MB/s ${pass.mbPerSecond ? 'PASS' : 'FAIL'}, RSS ≤ ${TARGETS.peakRssMb} MB ${pass.peakRss ? 'PASS' : 'FAIL'}`,
    );
    mkdirSync(RESULTS, { recursive: true });
    const out = join(RESULTS, `commerceml-parse${values.name ? `-${values.name}` : ''}.json`);
    writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
    console.log(`results: ${out}`);
  } finally {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  }
}

await main();
