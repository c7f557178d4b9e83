import { parseDuration } from '../config/units.ts';
import { yieldToEventLoop } from './chunks.ts';
import type { BatchStats, RouteRuntime } from './delivery.ts';
import { claimBatch, deliverClaimed } from './delivery.ts';
import { claimJob, completeJob, failJob, heartbeatJob } from './jobs.ts';
import { type ClaimedRow, releaseRows } from './outbox.ts';
import { runPull } from './pull.ts';
import { pruneOnce } from './retention.ts';
import type { Runtime } from './runtime.ts';
import { inSession } from './session-scope.ts';
import { finishSession, startSession } from './sessions.ts';

export interface DrainTotals extends BatchStats {
  batches: number;
}

const zero = (): DrainTotals => ({
  claimed: 0,
  delivered: 0,
  skipped: 0,
  retried: 0,
  failed: 0,
  waiting: 0,
  batches: 0,
});

function add(total: DrainTotals, stats: BatchStats): void {
  total.claimed += stats.claimed;
  total.delivered += stats.delivered;
  total.skipped += stats.skipped;
  total.retried += stats.retried;
  total.failed += stats.failed;
  total.waiting += stats.waiting;
  total.batches++;
}

function findRoute(runtime: Runtime, name: string): RouteRuntime {
  const route = runtime.routes.find((r) => r.name === name);
  if (!route) {
    throw new Error(
      `unknown route "${name}"; configured: ${runtime.routes.map((r) => r.name).join(', ') || 'none'}`,
    );
  }
  return route;
}

/**
 * Delivers a route until nothing is due right now, as one exchange session (none is recorded
 * when there was nothing to do).
 */
export async function drainRoute(
  runtime: Runtime,
  routeName: string,
  options: { signal?: AbortSignal; onBatch?: (totals: DrainTotals) => void } = {},
): Promise<DrainTotals> {
  const route = findRoute(runtime, routeName);
  const totals = zero();
  let sessionId: number | undefined;
  const ctx = runtime.delivery;
  // Pipelined: the next batch is claimed while this one is loaded, written and recorded, so
  // on PostgreSQL the claim's round trips overlap the work (on SQLite they simply queue on
  // the one connection). At most one batch is claimed ahead.
  let ahead: Promise<ClaimedRow[]> | undefined;
  const claimAhead = () => {
    const claim = claimBatch(ctx, route);
    claim.catch(() => {}); // awaited below; this only keeps an early failure from being "unhandled"
    return claim;
  };
  try {
    let claimed = options.signal?.aborted ? [] : await claimBatch(ctx, route);
    while (claimed.length > 0) {
      ahead = options.signal?.aborted ? undefined : claimAhead();
      sessionId ??= await startSession(
        runtime.store,
        { kind: 'deliver', system: route.target, name: route.name, owner: runtime.owner },
        runtime.clock.now(),
      );
      // The target's requests for this batch are logged under the delivery session.
      const session = sessionId;
      const stats = await inSession(session, () => deliverClaimed(ctx, route, claimed));
      add(totals, stats);
      options.onBatch?.(totals);
      await yieldToEventLoop();
      // A batch claimed ahead is delivered even after an abort: its leases are taken.
      claimed = ahead ? await ahead : [];
      ahead = undefined;
    }
  } catch (error) {
    if (ahead) {
      // The batch claimed ahead was never worked on: give its rows back now rather than
      // let them wait for the lease to expire (and count a recovery attempt).
      const orphans = await ahead.catch(() => []);
      await releaseRows(
        runtime.store,
        route.name,
        runtime.owner,
        orphans.map((row) => row.recordId),
        runtime.clock.now(),
      ).catch(() => {});
    }
    if (sessionId !== undefined) {
      await finishSession(runtime.store, sessionId, {
        status: 'failed',
        counts: { ...totals },
        error: (error as Error).message,
      });
    }
    throw error;
  }
  if (sessionId !== undefined) {
    await finishSession(
      runtime.store,
      sessionId,
      { status: totals.failed > 0 ? 'partial' : 'ok', counts: { ...totals } },
      runtime.clock.now(),
    );
  }
  return totals;
}

export interface WorkerOptions {
  signal: AbortSignal;
  /** Deliver these routes only (default: all). */
  routes?: string[];
  /** Also run queued jobs (source pulls, retention). Default true. */
  jobs?: boolean;
  onError?: (error: unknown, where: string) => void;
}

/**
 * The worker loop: drains every route and runs queued jobs until the signal aborts. Any number
 * of workers may run against one database; leases keep them from delivering the same object
 * twice at once. On abort the current batches finish and their outcomes are recorded.
 */
export async function runWorker(runtime: Runtime, options: WorkerOptions): Promise<void> {
  const pollMs = parseDuration(runtime.config.worker.pollInterval);
  // Passive targets (1C pulling orders over CommerceML) take their rows themselves.
  const names = options.routes ?? runtime.routes.filter((r) => !r.connector.passive).map((r) => r.name);
  const concurrency = Math.max(1, runtime.config.worker.concurrency);
  const report = options.onError ?? (() => {});
  const sleep = (ms: number) => runtime.clock.sleep(ms, options.signal);

  // Each lane walks its share of the routes; an idle lane sleeps one poll interval.
  const lanes = Array.from({ length: Math.min(concurrency, Math.max(1, names.length)) }, (_, lane) =>
    names.filter((_, index) => index % concurrency === lane),
  );
  const laneLoops = lanes.map(async (laneRoutes) => {
    while (!options.signal.aborted) {
      let busy = false;
      for (const name of laneRoutes) {
        if (options.signal.aborted) break;
        try {
          const totals = await drainRoute(runtime, name, { signal: options.signal });
          if (totals.claimed > 0) busy = true;
        } catch (error) {
          report(error, `route ${name}`);
        }
      }
      if (!busy) await sleep(pollMs);
    }
  });
  const jobLoop = (async () => {
    if (options.jobs === false) return;
    const leaseMs = parseDuration(runtime.config.worker.leaseTime);
    while (!options.signal.aborted) {
      let job: Awaited<ReturnType<typeof claimJob>>;
      try {
        job = await claimJob(runtime.store, runtime.owner, {
          leaseMs,
          kinds: ['pull', 'retention'],
          now: runtime.clock.now(),
        });
      } catch (error) {
        report(error, 'claiming a job');
        await sleep(pollMs * 5);
        continue;
      }
      if (!job) {
        await sleep(pollMs * 5);
        continue;
      }
      const claimed = job;
      const beat = setInterval(
        () => {
          heartbeatJob(runtime.store, claimed.id, runtime.owner, leaseMs, runtime.clock.now()).catch(
            () => {},
          );
        },
        Math.max(100, Math.floor(leaseMs / 3)),
      );
      try {
        if (claimed.kind === 'pull') {
          const source =
            (claimed.payload as { source?: string } | null)?.source ?? claimed.name.replace(/^pull:/, '');
          await runPull(runtime, source);
        } else if (claimed.kind === 'retention') {
          await pruneOnce(runtime.store, runtime.config.retention, {
            now: runtime.clock.now(),
            historyVersions: runtime.config.database.historyVersions,
          });
        }
        await completeJob(runtime.store, claimed.id, runtime.owner, runtime.clock.now());
      } catch (error) {
        report(error, `job ${claimed.name}`);
        await failJob(
          runtime.store,
          claimed.id,
          runtime.owner,
          (error as Error).message,
          undefined,
          runtime.clock.now(),
        ).catch(() => {});
      } finally {
        clearInterval(beat);
      }
    }
  })();
  await Promise.all([...laneLoops, jobLoop]);
}
