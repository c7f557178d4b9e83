import type { Logger } from 'pino';
import type { ObmenConfig, RouteConfig, SourceConfig } from '../config/schema.ts';
import { nextRun, parseSchedule, type Schedule } from '../config/units.ts';
import { type Clock, systemClock } from '../core/clock.ts';
import { configError } from '../core/errors.ts';
import type { Store } from '../store/store.ts';
import { enqueueJob } from './jobs.ts';
import { startLeaderElection } from './leader.ts';

/**
 * The scheduler keeps one `schedules` row per timed thing and, while leader, turns due rows
 * into work:
 * - a source with an interval/cron schedule (`source:<name>`) gets a `pull:<source>` job;
 * - the retention policy (`maintenance:retention`) gets a `retention` job;
 * - a route with an interval/cron schedule (`route:<name>`) is a delivery window. Its
 *   next_run_at is the moment the window next opens. Fan-out marks outbox rows of such a route
 *   with next_attempt_at = routeReleaseAt(), i.e. that moment, so they become claimable on
 *   their own when it comes; the scheduler only moves next_run_at on to the following window.
 *   No outbox row is rewritten, which keeps a tick O(number of schedules), not O(backlog).
 * Every move of next_run_at is a compare-and-set on the old value, so a second process that
 * briefly believes itself leader cannot advance a schedule twice; enqueueJob's dedupe covers
 * the job side.
 */

export interface SchedulerOptions {
  store: Store;
  config: ObmenConfig;
  owner: string;
  clock?: Clock;
  /** Real-time pause between ticks in start(). Default 1 s. */
  tickMs?: number;
  onTick?: () => void;
  logger?: Logger;
  /**
   * Whether a source is read on its schedule. A source of a system that pushes its data (1C's
   * exchange: the connector has no reader) only holds the mapping for what arrives, and is
   * never pulled. Default: every source is.
   */
  isPulled?: (source: SourceConfig) => boolean;
}

export interface Scheduler {
  /** One pass over all schedules; call only while leader (start() does that itself). */
  tick(): Promise<void>;
  /** Runs its own leader election and ticks while leader. */
  start(): void;
  stop(): Promise<void>;
  /** Whether this process leads now: singleton work (alerts) runs only here. */
  isLeader(): boolean;
}

interface Timed {
  row: string;
  schedule: Schedule;
  /** When its row is first created: run at once (interval pulls) or wait for the first time (routes, cron). */
  firstRunAtOnce: boolean;
  job?: { name: string; kind: string; payload: unknown };
}

export const RETENTION_JOB = 'retention';

export function createScheduler(options: SchedulerOptions): Scheduler {
  const { store, config } = options;
  const clock = options.clock ?? systemClock;
  const tickMs = options.tickMs ?? 1000;
  const timed = collectSchedules(config, options.isPulled ?? (() => true));
  let running: { stop: AbortController; done: Promise<void> } | undefined;

  async function tick(): Promise<void> {
    const now = clock.now();
    for (const item of timed) {
      await tickOne(store, item, now);
    }
    options.onTick?.();
  }

  let leading = () => false;

  async function loop(signal: AbortSignal): Promise<void> {
    const leadership = startLeaderElection(store, {
      name: 'scheduler',
      owner: options.owner,
      clock,
      logger: options.logger,
    });
    leading = () => leadership.isLeader();
    try {
      while (!signal.aborted) {
        if (leadership.isLeader()) {
          try {
            await tick();
          } catch (error) {
            options.logger?.error({ err: error }, 'scheduler tick failed; retrying on the next tick');
          }
        }
        await systemClock.sleep(tickMs, signal);
      }
    } finally {
      leading = () => false;
      await leadership.stop();
    }
  }

  return {
    tick,
    isLeader: () => leading(),
    start() {
      if (running) return;
      const stop = new AbortController();
      running = { stop, done: loop(stop.signal) };
    },
    async stop() {
      if (!running) return;
      running.stop.abort();
      await running.done;
      running = undefined;
    },
  };
}

function collectSchedules(config: ObmenConfig, isPulled: (source: SourceConfig) => boolean): Timed[] {
  const timed: Timed[] = [];
  for (const source of config.sources) {
    if (!isPulled(source)) continue;
    const schedule = parseOrThrow(source.schedule, `sources.${source.name}.schedule`);
    if (schedule.kind === 'on-change') continue;
    timed.push({
      row: `source:${source.name}`,
      schedule,
      // A cron time is a promise ("at 03:00, off hours"); an interval only says how often.
      firstRunAtOnce: schedule.kind === 'interval',
      job: { name: `pull:${source.name}`, kind: 'pull', payload: { source: source.name } },
    });
  }
  for (const route of config.routes) {
    const schedule = parseOrThrow(route.schedule, `routes.${route.name}.schedule`);
    if (schedule.kind === 'on-change') continue;
    timed.push({ row: `route:${route.name}`, schedule, firstRunAtOnce: false });
  }
  const retention = config.retention.schedule;
  timed.push({
    row: 'maintenance:retention',
    schedule:
      typeof retention === 'number'
        ? { kind: 'interval', ms: retention }
        : parseOrThrow(retention, 'retention.schedule'),
    firstRunAtOnce: false,
    job: { name: RETENTION_JOB, kind: 'retention', payload: {} },
  });
  return timed.filter((t) => t.schedule.kind !== 'interval' || t.schedule.ms > 0);
}

function parseOrThrow(text: string, path: string): Schedule {
  try {
    return parseSchedule(text);
  } catch (error) {
    throw configError(`${path}: ${(error as Error).message}`, { cause: error });
  }
}

async function tickOne(store: Store, item: Timed, now: number): Promise<void> {
  const current = await ensureRow(store, item.row, item.schedule, now, item.firstRunAtOnce);
  // A schedule shortened in obmen.yaml ("1h" → "5m") must not wait out the old, longer gap.
  const fresh = nextRun(item.schedule, now);
  if (current > fresh) {
    await advance(store, item.row, current, fresh, undefined);
    return;
  }
  if (current > now) return;
  if (item.job) await enqueueJob(store, item.job, now);
  await advance(store, item.row, current, following(item.schedule, current, now), now);
}

/**
 * The run after one due at `due`: keeps the cadence (no drift by tick lateness), but after
 * downtime skips the missed runs instead of firing them all in a burst.
 */
function following(schedule: Schedule, due: number, now: number): number {
  const next = nextRun(schedule, due);
  return next > now ? next : nextRun(schedule, now);
}

async function ensureRow(
  store: Store,
  name: string,
  schedule: Schedule,
  now: number,
  atOnce: boolean,
): Promise<number> {
  const row = await store.db
    .selectFrom('schedules')
    .select('next_run_at')
    .where('name', '=', name)
    .executeTakeFirst();
  if (row) return row.next_run_at;
  const first = atOnce ? now : nextRun(schedule, now);
  await store.db
    .insertInto('schedules')
    .values({ name, next_run_at: first, last_run_at: null })
    .onConflict((oc) => oc.column('name').doNothing())
    .execute();
  const created = await store.db
    .selectFrom('schedules')
    .select('next_run_at')
    .where('name', '=', name)
    .executeTakeFirstOrThrow();
  return created.next_run_at;
}

async function advance(
  store: Store,
  name: string,
  from: number,
  to: number,
  ranAt: number | undefined,
): Promise<void> {
  await store.db
    .updateTable('schedules')
    .set(ranAt === undefined ? { next_run_at: to } : { next_run_at: to, last_run_at: ranAt })
    .where('name', '=', name)
    .where('next_run_at', '=', from)
    .execute();
}

const RELEASE_CACHE_MS = 1000;
const releaseCache = new WeakMap<Store, Map<string, { at: number; value: number }>>();

/**
 * When a route with an interval/cron schedule next opens; its newly pending outbox rows get
 * next_attempt_at = this. On-change routes: now. Cached per route for ≤ 1 s, since fan-out
 * asks for every marked row. Uses store.db: call it outside a store.tx (on SQLite the one
 * connection is held by the transaction).
 */
export async function routeReleaseAt(store: Store, route: RouteConfig, now: number): Promise<number> {
  const schedule = parseOrThrow(route.schedule, `routes.${route.name}.schedule`);
  if (schedule.kind === 'on-change') return now;
  let perStore = releaseCache.get(store);
  if (!perStore) {
    perStore = new Map();
    releaseCache.set(store, perStore);
  }
  const cached = perStore.get(route.name);
  let value: number;
  if (cached && now >= cached.at && now - cached.at <= RELEASE_CACHE_MS) {
    value = cached.value;
  } else {
    value = await ensureRow(store, `route:${route.name}`, schedule, now, false);
    perStore.set(route.name, { at: now, value });
  }
  // A window already due (the scheduler has not moved it on yet) is open: deliver now.
  return Math.max(value, now);
}
