import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { type Bitrix24Stats, startBitrix24Emulator } from '../emulators/bitrix24/index.ts';
import { configSchema } from '../src/config/schema.ts';
import { bitrix24Connector } from '../src/connectors/bitrix24/index.ts';
import { BURST_HEADROOM } from '../src/connectors/bitrix24/limits.ts';
import { registerConnector } from '../src/connectors/registry.ts';
import { systemClock } from '../src/core/clock.ts';
import type { SourceItem } from '../src/core/connector.ts';
import { ingest } from '../src/engine/ingest.ts';
import { createRuntime } from '../src/engine/runtime.ts';
import { drainRoute } from '../src/engine/worker.ts';
import { openStore } from '../src/store/store.ts';
import { productItem } from './data.ts';

/**
 * `node --import tsx bench/bitrix24.ts [--products N]`
 * N products and their stock from "1C" (canonical records generated directly) through the hub to
 * the Bitrix24 emulator at the default limits (2/s, burst 50), then the same data again.
 * Figures: wall time against the theoretical minimum, HTTP calls, limit errors (must be 0),
 * and on the second run write calls (must be 0). Result: bench/results/bitrix24.json.
 */

const HERE = dirname(fileURLToPath(import.meta.url));
const { values } = parseArgs({ options: { products: { type: 'string', default: '10000' } } });
const N = Number(values.products);
if (!Number.isInteger(N) || N <= 0)
  throw new Error(`--products must be a positive integer, got ${values.products}`);

const RATE = 2;
const BURST = 50;
const PRODUCT_BATCH = 1000;
/** 48 document lines + the document + its conduct = one 50-command batch. */
const STOCK_LINES = 48;
const STOCK_BATCH = STOCK_LINES * 20;

function stockItem(index: number): SourceItem {
  const product = productItem(index);
  return {
    externalId: `stock-${product.externalId}`,
    data: { productId: product.externalId, quantity: (index % 97) + 1 },
  };
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

const emulator = await startBitrix24Emulator({ webhook: { userId: 1, code: 'benchcode' } });
const dir = mkdtempSync(join(tmpdir(), 'obmen-b24-bench-'));
const store = await openStore({ url: join(dir, 'obmen.db') });
// The runtime hands the store to connectors and builds the system's limiter from the
// connector's default limits (2/s, burst 48): the path a production hub takes.
registerConnector(bitrix24Connector);
const config = configSchema.parse({
  systems: {
    onec: { kind: 'noop' },
    b24: {
      kind: 'bitrix24',
      url: emulator.url,
      credentials: { webhookUserId: '1', webhookCode: 'benchcode' },
    },
  },
  routes: [
    { name: 'products-to-b24', entity: 'product', target: 'b24', batchSize: PRODUCT_BATCH },
    { name: 'stock-to-b24', entity: 'stock', target: 'b24', batchSize: STOCK_BATCH },
  ],
});
const runtime = createRuntime({ config, store, owner: 'bench', clock: systemClock });

async function ingestAll(): Promise<{ created: number; unchanged: number }> {
  let created = 0;
  let unchanged = 0;
  for (const [entity, make] of [
    ['product', productItem],
    ['stock', stockItem],
  ] as const) {
    for (let start = 0; start < N; start += 1000) {
      const items = Array.from({ length: Math.min(1000, N - start) }, (_, i) => make(start + i));
      const result = await ingest(runtime.ingest, { system: 'onec', entity, items });
      if (result.invalid.length > 0) throw new Error(`invalid ${entity}: ${result.invalid[0]!.message}`);
      created += result.created + result.updated;
      unchanged += result.unchanged;
    }
  }
  return { created, unchanged };
}

interface RunFigures {
  wallSeconds: number;
  httpCalls: number;
  batchCalls: number;
  limitErrors: number;
  operatingErrors: number;
  writeCalls: number;
  writeCommands: number;
  delivered: number;
  failed: number;
  callsByMethod: Record<string, number>;
}

async function run(): Promise<RunFigures> {
  emulator.resetStats();
  const started = performance.now();
  const ingested = await ingestAll();
  let delivered = 0;
  let failed = 0;
  for (const route of ['products-to-b24', 'stock-to-b24']) {
    const totals = await drainRoute(runtime, route, {
      onBatch: (t) =>
        process.stdout.write(
          `\r  ${route}: ${t.delivered} delivered, ${emulator.stats().httpRequests} calls   `,
        ),
    });
    delivered += totals.delivered;
    failed += totals.failed;
  }
  process.stdout.write('\n');
  const wallSeconds = (performance.now() - started) / 1000;
  const s: Bitrix24Stats = emulator.stats();
  const batchWrites = s.calls['batch'] ?? 0;
  console.log(`  ingested ${ingested.created} new/changed, ${ingested.unchanged} unchanged`);
  return {
    wallSeconds: Number(wallSeconds.toFixed(1)),
    httpCalls: s.httpRequests,
    batchCalls: s.batchCalls,
    limitErrors: s.limitErrors,
    operatingErrors: s.operatingErrors,
    // HTTP calls that carried at least one write (every write goes through batch).
    writeCalls: s.writes > 0 ? batchWrites : 0,
    writeCommands: s.writes,
    delivered,
    failed,
    callsByMethod: s.calls,
  };
}

console.log(`Bitrix24 bench: ${N} products + ${N} stock balances, default limits ${RATE}/s burst ${BURST}`);
console.log('first run (everything new):');
const first = await run();
console.log('second run (nothing changed):');
const second = await run();

// The floor: every write command in 50-command batches, the first `burst` at once, then 2/s.
const stockDocs = Math.ceil(N / STOCK_LINES);
const commands = N + N + 2 * stockDocs;
const minBatches = Math.ceil(commands / 50);
const theoreticalSeconds = Math.max(0, (minBatches - BURST) / RATE);
const result = {
  bench: 'bitrix24',
  products: N,
  limits: { rate: RATE, burst: BURST, obmenBurst: BURST - BURST_HEADROOM },
  theoretical: { commands, batches: minBatches, seconds: theoreticalSeconds },
  first: {
    ...first,
    vsTheoretical: Number((first.wallSeconds / Math.max(1, theoreticalSeconds)).toFixed(2)),
  },
  second,
  pass: {
    limitErrors0: first.limitErrors === 0 && second.limitErrors === 0,
    allDelivered: first.delivered === 2 * N && first.failed === 0,
    secondRunWrites0: second.writeCommands === 0 && second.writeCalls === 0,
  },
  environment: {
    node: process.version,
    date: new Date().toISOString(),
    platform: `${process.platform}-${process.arch}`,
    cores: availableParallelism(),
    cpu: cpus()[0]?.model,
    commit: gitCommit(),
  },
};
console.table({
  'first run': {
    wall_s: first.wallSeconds,
    http_calls: first.httpCalls,
    limit_errors: first.limitErrors,
    write_commands: first.writeCommands,
    delivered: first.delivered,
  },
  'second run': {
    wall_s: second.wallSeconds,
    http_calls: second.httpCalls,
    limit_errors: second.limitErrors,
    write_commands: second.writeCommands,
    delivered: second.delivered,
  },
  theoretical: {
    wall_s: theoreticalSeconds,
    http_calls: minBatches,
    limit_errors: 0,
    write_commands: commands,
    delivered: 2 * N,
  },
});
mkdirSync(join(HERE, 'results'), { recursive: true });
writeFileSync(join(HERE, 'results', 'bitrix24.json'), `${JSON.stringify(result, null, 2)}\n`);
console.log(`pass: ${JSON.stringify(result.pass)} → bench/results/bitrix24.json`);
await runtime.close();
await store.close();
await emulator.close();
rmSync(dir, { recursive: true, force: true });
if (!Object.values(result.pass).every(Boolean)) process.exitCode = 1;
