/**
 * Long work (unpacking, importing a 1 GB file) runs in the background from the first
 * `mode=import` call; every call waits for it at most one step and answers `progress` with
 * what was done so far, so no HTTP request outlives 1C's or a proxy's timeout whatever the size.
 */

export type StepState =
  | { state: 'running'; progress: string }
  | { state: 'done'; message: string }
  | { state: 'failed'; message: string };

export interface StepJobContext {
  signal: AbortSignal;
  /** Replaces the progress text shown to 1C by the next `progress` answer. */
  report(progress: string): void;
}

/** Thrown by job bodies for an expected failure: the message goes to 1C as is. */
export class ExchangeFailure extends Error {}

interface Job {
  progress: string;
  settled: StepState | undefined;
  finished: Promise<void>;
  controller: AbortController;
}

export class StepJobs {
  private readonly jobs = new Map<string, Job>();

  constructor(private readonly describeError: (error: unknown) => string) {}

  /** Starts the job under `key` unless it already runs, then waits at most `stepMs` for it. */
  async step(
    key: string,
    stepMs: number,
    initialProgress: string,
    body: (ctx: StepJobContext) => Promise<string>,
  ): Promise<StepState> {
    this.start(key, initialProgress, body);
    const job = this.jobs.get(key)!;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      job.finished,
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, stepMs);
      }),
    ]);
    clearTimeout(timer);
    if (job.settled) {
      // The outcome is told once; a later call with the same name starts the work again
      // (idempotent: ingest skips what did not change).
      this.jobs.delete(key);
      return job.settled;
    }
    return { state: 'running', progress: job.progress };
  }

  /**
   * Starts the job under `key` unless it already exists, without waiting for it: a later
   * `step` with the same key reports on it (an import begun while its file still arrives).
   */
  start(key: string, initialProgress: string, body: (ctx: StepJobContext) => Promise<string>): void {
    if (this.jobs.has(key)) return;
    const controller = new AbortController();
    const job: Job = {
      progress: initialProgress,
      settled: undefined,
      finished: Promise.resolve(),
      controller,
    };
    job.finished = body({
      signal: controller.signal,
      report: (text) => {
        job.progress = text;
      },
    }).then(
      (message) => {
        job.settled = { state: 'done', message };
      },
      (error: unknown) => {
        job.settled = { state: 'failed', message: this.describeError(error) };
      },
    );
    this.jobs.set(key, job);
  }

  /** Whether a job is under `key`: working, or done with its outcome not told yet. */
  has(key: string): boolean {
    return this.jobs.has(key);
  }

  /** Whether a job under a key starting with `prefix` is still working. */
  busy(prefix: string): boolean {
    for (const [key, job] of this.jobs) if (key.startsWith(prefix) && !job.settled) return true;
    return false;
  }

  /** Stops jobs whose key starts with `prefix` (a new `init` starts a new exchange). */
  async cancel(prefix: string): Promise<void> {
    const stopping: Array<Promise<void>> = [];
    for (const [key, job] of this.jobs) {
      if (!key.startsWith(prefix)) continue;
      job.controller.abort();
      stopping.push(job.finished);
      this.jobs.delete(key);
    }
    await Promise.all(stopping);
  }

  async cancelAll(): Promise<void> {
    await this.cancel('');
  }
}
