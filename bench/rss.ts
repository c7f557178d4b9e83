/**
 * Samples the process every `intervalMs`: peak RSS, and how long the event loop went without
 * running a timer. Everything runs on the main thread: a stall is measured when it ends (the
 * next tick sees how long it has been since the one before), and one still going on when the
 * figure is taken counts up to that moment. During a stall the RSS samples pause too
 * (better-sqlite3 is synchronous and Kysely resolves its results as microtasks, so a whole
 * SQLite phase could run without reaching the timer phase); the kernel's maxRSS, reported
 * beside them, is the true high-water mark. An earlier version sampled from a worker thread,
 * whose own V8 isolate added about 8 MB to the RSS it measured.
 */
export interface ProcessSampler {
  /** Longest event-loop stall since the previous call, in ms (±10 ms); then starts over. */
  takeStallMs(): number;
  stop(): Promise<{ sampledPeakBytes: number; kernelMaxRssBytes: number; samples: number }>;
}

const TICK_MS = 10;

export function startProcessSampler(intervalMs = 50): ProcessSampler {
  let peak = process.memoryUsage.rss();
  let samples = 1;
  let lastTick = Date.now();
  let longestGap = 0;
  let lastSample = lastTick;
  const tick = setInterval(() => {
    const now = Date.now();
    longestGap = Math.max(longestGap, now - lastTick);
    lastTick = now;
    if (now - lastSample >= intervalMs) {
      lastSample = now;
      peak = Math.max(peak, process.memoryUsage.rss());
      samples++;
    }
  }, TICK_MS);
  tick.unref();
  let stopped: ReturnType<ProcessSampler['stop']> | undefined;
  return {
    takeStallMs() {
      // The stall that is still going on (no tick since) counts too.
      const now = Date.now();
      const stall = Math.max(longestGap, now - lastTick);
      longestGap = 0;
      lastTick = now;
      return Math.max(0, stall - TICK_MS);
    },
    stop() {
      clearInterval(tick);
      stopped ??= Promise.resolve({
        sampledPeakBytes: Math.max(peak, process.memoryUsage.rss()),
        // maxRSS (kilobytes) is the kernel's high-water mark over the whole process life: a
        // spike between two samples still shows here.
        kernelMaxRssBytes: process.resourceUsage().maxRSS * 1024,
        samples,
      });
      return stopped;
    },
  };
}
