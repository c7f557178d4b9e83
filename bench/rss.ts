import { Worker } from 'node:worker_threads';

/**
 * Samples the process from a worker thread every 50 ms: peak RSS, and how long the main
 * thread's event loop went without running a timer. The main thread cannot sample itself:
 * better-sqlite3 is synchronous and Kysely resolves its results as microtasks, so a whole
 * SQLite ingest can run without ever reaching the timer phase. RSS is per process, so the
 * worker sees all of it.
 */
export interface ProcessSampler {
  /** Longest event-loop stall since the previous call, in ms (±50 ms); then starts over. */
  takeStallMs(): number;
  stop(): Promise<{ sampledPeakBytes: number; kernelMaxRssBytes: number; samples: number }>;
}

// Cells: 0 peak RSS bytes, 1 sample count, 2 last main-thread tick (epoch ms), 3 longest gap.
const SAMPLER = `
const { workerData } = require('node:worker_threads');
const cells = new Float64Array(workerData.buffer);
const sample = () => {
  const rss = process.memoryUsage.rss();
  if (rss > cells[0]) cells[0] = rss;
  cells[1]++;
  const gap = Date.now() - cells[2];
  if (cells[2] > 0 && gap > cells[3]) cells[3] = gap;
};
sample();
setInterval(sample, workerData.intervalMs);
`;

const TICK_MS = 10;

export function startProcessSampler(intervalMs = 50): ProcessSampler {
  const buffer = new SharedArrayBuffer(4 * 8);
  const cells = new Float64Array(buffer);
  cells[2] = Date.now();
  const tick = setInterval(() => {
    cells[2] = Date.now();
  }, TICK_MS);
  tick.unref();
  const worker = new Worker(SAMPLER, { eval: true, workerData: { buffer, intervalMs } });
  worker.unref();
  let stopped: ReturnType<ProcessSampler['stop']> | undefined;
  return {
    takeStallMs() {
      // The stall that is still going on (no tick since) counts too.
      const stall = Math.max(cells[3]!, Date.now() - cells[2]!);
      cells[3] = 0;
      cells[2] = Date.now();
      return Math.max(0, stall - TICK_MS);
    },
    stop() {
      clearInterval(tick);
      stopped ??= worker.terminate().then(() => ({
        sampledPeakBytes: Math.max(cells[0]!, process.memoryUsage.rss()),
        // maxRSS (kilobytes) is the kernel's high-water mark over the whole process life: a
        // spike between two samples still shows here.
        kernelMaxRssBytes: process.resourceUsage().maxRSS * 1024,
        samples: cells[1]!,
      }));
      return stopped;
    },
  };
}
