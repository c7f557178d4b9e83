import { loadavg } from 'node:os';
import { configSchema } from '../src/config/schema.ts';
import { ingest } from '../src/engine/ingest.ts';
import { createRuntime } from '../src/engine/runtime.ts';
import { drainRoute } from '../src/engine/worker.ts';
import type { Store } from '../src/store/store.ts';
import { productBatches } from './data.ts';
import { type ProcessSampler, startProcessSampler } from './rss.ts';
import { serverCpu } from './server-cpu.ts';

export const ROUTE = 'products-to-noop';
export const SOURCE_SYSTEM = 'onec';
/** A second source of the same products (a site that had them before obmen), for the matching phase. */
export const SECOND_SYSTEM = 'site';

/** What one dialect measured; rates are objects per second of wall time. */
export interface EngineFigures {
  dialect: 'sqlite' | 'postgres';
  records: number;
  batchSize: number;
  ingest: PhaseFigures & { created: number };
  reingest: PhaseFigures & { versionsCreated: number; outboxRowsTouched: number };
  delivery: PhaseFigures & { delivered: number; batches: number };
  /** The same products from a second system under its own ids, each matched by article to the record the first one made. */
  matching: PhaseFigures & { matched: number };
  /** RSS before the first record (runtime, tsx loader, modules): the rest is the bench's growth. */
  baselineRssBytes: number;
  peakRssBytes: number;
  kernelMaxRssBytes: number;
  rssSamples: number;
}

export interface PhaseFigures {
  seconds: number;
  perSecond: number;
  /** CPU time of this process (user + system) during the phase: wall time minus waiting. */
  cpuSeconds: number;
  /** CPU time of the PostgreSQL backends serving this process (absent on SQLite, or when unreadable). */
  serverCpuSeconds?: number;
  /** 1-minute load average of the machine at the end of the phase (other work distorts wall figures). */
  loadAverage: number;
  /** Per-batch latency, milliseconds. */
  batchP50Ms: number;
  batchP95Ms: number;
  batchMaxMs: number;
  /** Longest time the event loop could not run timers or I/O during the phase (an API in the same process would hang as long). */
  loopStallMaxMs: number;
}

function benchConfig(batchSize: number) {
  return configSchema.parse({
    systems: {
      [SOURCE_SYSTEM]: { kind: 'noop' },
      [SECOND_SYSTEM]: { kind: 'noop' },
      sink: { kind: 'noop' },
    },
    routes: [{ name: ROUTE, entity: 'product', target: 'sink', batchSize }],
  });
}

function phase(
  seconds: number,
  count: number,
  latencies: number[],
  cpu: NodeJS.CpuUsage,
  sampler: ProcessSampler,
  server: { from: number | undefined; to: number | undefined },
): PhaseFigures {
  const loopStallMaxMs = sampler.takeStallMs();
  const sorted = [...latencies].sort((a, b) => a - b);
  const at = (q: number) =>
    sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  return {
    seconds,
    perSecond: seconds > 0 ? count / seconds : 0,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    ...(server.from !== undefined && server.to !== undefined
      ? { serverCpuSeconds: Math.round((server.to - server.from) * 100) / 100 }
      : {}),
    loadAverage: loadavg()[0]!,
    batchP50Ms: at(0.5),
    batchP95Ms: at(0.95),
    batchMaxMs: sorted.at(-1) ?? 0,
    loopStallMaxMs,
  };
}

async function countRows(store: Store, table: 'record_history' | 'records' | 'outbox'): Promise<number> {
  const row = await store.db
    .selectFrom(table)
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** Versions made so far: every new version raises its record's version by one. */
async function countVersions(store: Store): Promise<number> {
  const row = await store.db
    .selectFrom('records')
    .select((eb) => eb.fn.sum<number>('version').as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n ?? 0);
}

/** Newest outbox change time; a re-ingest of unchanged data must not move it. */
async function outboxStamp(store: Store): Promise<number> {
  const row = await store.db
    .selectFrom('outbox')
    .select((eb) => eb.fn.max('updated_at').as('at'))
    .executeTakeFirstOrThrow();
  return Number(row.at ?? 0);
}

/** Throws with the figures so far when the engine did not do what the bench relies on. */
function check(condition: boolean, message: string): void {
  if (!condition) throw new Error(`bench check failed: ${message}`);
}

/**
 * Ingest → unchanged re-ingest → delivery to a noop sink → the same products matched from a
 * second system, on an empty migrated store.
 * The caller owns the store (fresh file / fresh schema) and closes it.
 */
export async function runEngineBench(
  store: Store,
  options: {
    records: number;
    batchSize: number;
    log?: (line: string) => void;
    /** application_name of this process's PostgreSQL connections, to read the server's CPU. */
    applicationName?: string;
  },
): Promise<EngineFigures> {
  const { records, batchSize } = options;
  const log = options.log ?? (() => {});
  const runtime = createRuntime({ config: benchConfig(batchSize), store, owner: 'bench' });
  const baselineRssBytes = process.memoryUsage.rss();
  const sampler = startProcessSampler(50);
  const server = serverCpu(store, options.applicationName);
  try {
    // 1. New products.
    let created = 0;
    let latencies: number[] = [];
    let serverFrom = await server.read();
    let cpuFrom = process.cpuUsage();
    let started = performance.now();
    for (const items of productBatches(records, batchSize)) {
      const t = performance.now();
      const result = await ingest(runtime.ingest, { system: SOURCE_SYSTEM, entity: 'product', items });
      latencies.push(performance.now() - t);
      check(result.invalid.length === 0, `invalid items: ${JSON.stringify(result.invalid.slice(0, 3))}`);
      created += result.created;
    }
    const ingestSeconds = (performance.now() - started) / 1000;
    const ingestCpu = process.cpuUsage(cpuFrom);
    const ingestPhase = {
      ...phase(ingestSeconds, records, latencies, ingestCpu, sampler, {
        from: serverFrom,
        to: await server.read(),
      }),
      created,
    };
    check(created === records, `ingest created ${created} of ${records}`);
    check((await countRows(store, 'outbox')) === records, 'one outbox row per product');
    log(`  ingest      ${fmtRate(ingestPhase.perSecond)}/s${fmtCpu(ingestPhase)}`);

    // 2. The same products again, unchanged: must cost no version and no outbox write.
    const versionsBefore = await countVersions(store);
    const historyBefore = await countRows(store, 'record_history');
    const stampBefore = await outboxStamp(store);
    let changed = 0;
    latencies = [];
    serverFrom = await server.read();
    cpuFrom = process.cpuUsage();
    started = performance.now();
    for (const items of productBatches(records, batchSize)) {
      const t = performance.now();
      const result = await ingest(runtime.ingest, { system: SOURCE_SYSTEM, entity: 'product', items });
      latencies.push(performance.now() - t);
      changed += result.created + result.updated;
    }
    const reingestSeconds = (performance.now() - started) / 1000;
    const reingestCpu = process.cpuUsage(cpuFrom);
    const reingestServer = { from: serverFrom, to: await server.read() };
    const versionsCreated = (await countVersions(store)) - versionsBefore;
    const historyWritten = (await countRows(store, 'record_history')) - historyBefore;
    const outboxRowsTouched = await store.db
      .selectFrom('outbox')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('updated_at', '>', stampBefore)
      .executeTakeFirstOrThrow()
      .then((row) => Number(row.n));
    check(changed === 0, `re-ingest reported ${changed} created/updated objects`);
    check(versionsCreated === 0, `re-ingest created ${versionsCreated} versions`);
    check(historyWritten === 0, `re-ingest wrote ${historyWritten} history rows`);
    check(outboxRowsTouched === 0, `re-ingest touched ${outboxRowsTouched} outbox rows`);
    const reingestPhase = {
      ...phase(reingestSeconds, records, latencies, reingestCpu, sampler, reingestServer),
      versionsCreated,
      outboxRowsTouched,
    };
    log(
      `  re-ingest   ${fmtRate(reingestPhase.perSecond)}/s${fmtCpu(reingestPhase)}, ${versionsCreated} versions`,
    );

    // 3. Deliver every outbox row to the noop sink.
    latencies = [];
    serverFrom = await server.read();
    cpuFrom = process.cpuUsage();
    let last = performance.now();
    started = last;
    const totals = await drainRoute(runtime, ROUTE, {
      onBatch: () => {
        const now = performance.now();
        latencies.push(now - last);
        last = now;
      },
    });
    const deliverySeconds = (performance.now() - started) / 1000;
    const deliveryCpu = process.cpuUsage(cpuFrom);
    const deliveryServer = { from: serverFrom, to: await server.read() };
    check(
      totals.delivered === records,
      `delivered ${totals.delivered} of ${records} (${JSON.stringify(totals)})`,
    );
    const deliveryPhase = {
      ...phase(deliverySeconds, totals.delivered, latencies, deliveryCpu, sampler, deliveryServer),
      delivered: totals.delivered,
      batches: totals.batches,
    };
    log(`  delivery    ${fmtRate(deliveryPhase.perSecond)}/s${fmtCpu(deliveryPhase)}`);

    // 4. The same products from a second system, under that system's ids: matching (on by
    //    default) links each to the record the first system made, by 1C Ид (none here), then
    //    article. The content is the same, so nothing changes downstream. The phases above come
    //    from one system only, where matching has nothing to compare with and costs a probe.
    let matched = 0;
    latencies = [];
    serverFrom = await server.read();
    cpuFrom = process.cpuUsage();
    started = performance.now();
    for (const items of productBatches(records, batchSize, `${SECOND_SYSTEM}-`)) {
      const t = performance.now();
      const result = await ingest(runtime.ingest, { system: SECOND_SYSTEM, entity: 'product', items });
      latencies.push(performance.now() - t);
      matched += result.matched;
      check(result.created === 0, `matching created ${result.created} objects instead of matching them`);
    }
    const matchingSeconds = (performance.now() - started) / 1000;
    const matchingCpu = process.cpuUsage(cpuFrom);
    const matchingServer = { from: serverFrom, to: await server.read() };
    check(matched === records, `matched ${matched} of ${records}`);
    const matchingPhase = {
      ...phase(matchingSeconds, records, latencies, matchingCpu, sampler, matchingServer),
      matched,
    };
    log(`  matching    ${fmtRate(matchingPhase.perSecond)}/s${fmtCpu(matchingPhase)}`);

    const memory = await sampler.stop();
    return {
      dialect: store.caps.name,
      records,
      batchSize,
      ingest: ingestPhase,
      reingest: reingestPhase,
      delivery: deliveryPhase,
      matching: matchingPhase,
      baselineRssBytes,
      peakRssBytes: memory.sampledPeakBytes,
      kernelMaxRssBytes: memory.kernelMaxRssBytes,
      rssSamples: memory.samples,
    };
  } finally {
    await sampler.stop();
    await runtime.close();
  }
}

/** ` (CPU 4.2 s, server 3.1 s, load 1.2)`: what the wall-clock rate cost, and how busy the machine was. */
function fmtCpu(p: PhaseFigures): string {
  const server = p.serverCpuSeconds === undefined ? '' : `, server ${p.serverCpuSeconds.toFixed(1)} s`;
  return ` (CPU ${p.cpuSeconds.toFixed(1)} s${server}, load ${p.loadAverage.toFixed(1)})`;
}

export function fmtRate(value: number): string {
  return Math.round(value).toLocaleString('en-US');
}
