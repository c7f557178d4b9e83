import type { ObmenConfig } from '../../config/schema.ts';
import { OUTBOX_STATES } from '../../engine/queries.ts';
import type { Store } from '../../store/store.ts';
import { MetricsText } from './prometheus.ts';
import { LATENCY_BUCKETS, type RequestLatency } from './request-latency.ts';

const OUTCOMES = ['delivered', 'failed', 'retried', 'skipped', 'waiting'] as const;

/**
 * The /metrics page. Queue depth, sessions and limiter state are read from the store at scrape
 * time (every process writes them, so any process can serve the page); deliveries are summed
 * from the delivery sessions' counts; latency comes from the request log.
 */
export async function renderMetrics(
  store: Store,
  config: ObmenConfig,
  latency: RequestLatency,
  now: number,
): Promise<string> {
  const out = new MetricsText();
  const [queue, sessions, deliveries, limits, alerts] = await Promise.all([
    store.db
      .selectFrom('outbox')
      .select((eb) => ['route', 'state', eb.fn.countAll<number>().as('n')])
      .groupBy(['route', 'state'])
      .execute(),
    store.db
      .selectFrom('sessions')
      .select((eb) => ['kind', 'status', eb.fn.countAll<number>().as('n')])
      .groupBy(['kind', 'status'])
      .execute(),
    store.db.selectFrom('sessions').select(['name', 'counts']).where('kind', '=', 'deliver').execute(),
    store.db
      .selectFrom('rate_limits')
      .select(['system', 'tokens', 'blocked_until', 'budget_used_ms'])
      .execute(),
    store.db
      .selectFrom('alert_state')
      .select((eb) => ['rule', eb.fn.countAll<number>().as('n')])
      .where('status', '=', 'firing')
      .groupBy('rule')
      .execute(),
  ]);
  await latency.refresh();

  out.family('obmen_queue_depth', 'gauge', 'Outbox rows per route and state');
  const depth = new Map(queue.map((r) => [`${r.route}|${r.state}`, Number(r.n)]));
  const routes = [...new Set([...config.routes.map((r) => r.name), ...queue.map((r) => r.route)])].sort();
  for (const route of routes) {
    for (const state of OUTBOX_STATES) {
      out.sample('obmen_queue_depth', { route, state }, depth.get(`${route}|${state}`) ?? 0);
    }
  }

  out.family(
    'obmen_deliveries_total',
    'counter',
    'Delivery outcomes per route, summed over retained delivery sessions',
  );
  const totals = new Map<string, Record<string, number>>();
  for (const row of deliveries) {
    let counts: Record<string, unknown> = {};
    try {
      counts = JSON.parse(row.counts) as Record<string, unknown>;
    } catch {}
    const t = totals.get(row.name) ?? {};
    for (const outcome of OUTCOMES) t[outcome] = (t[outcome] ?? 0) + (Number(counts[outcome]) || 0);
    totals.set(row.name, t);
  }
  for (const route of [...new Set([...config.routes.map((r) => r.name), ...totals.keys()])].sort()) {
    const t = totals.get(route) ?? {};
    for (const outcome of OUTCOMES) out.sample('obmen_deliveries_total', { route, outcome }, t[outcome] ?? 0);
  }

  out.family('obmen_sessions', 'gauge', 'Retained exchange sessions per kind and status');
  for (const row of sessions)
    out.sample('obmen_sessions', { kind: row.kind, status: row.status }, Number(row.n));

  out.family(
    'obmen_external_request_duration_seconds',
    'histogram',
    'Duration of requests to external systems, per system and endpoint',
  );
  const series = latency.series();
  for (const s of series) {
    const labels = { system: s.system, endpoint: s.endpoint };
    LATENCY_BUCKETS.forEach((le, index) => {
      out.sample('obmen_external_request_duration_seconds_bucket', { ...labels, le }, s.buckets[index]!);
    });
    out.sample('obmen_external_request_duration_seconds_bucket', { ...labels, le: '+Inf' }, s.count);
    out.sample('obmen_external_request_duration_seconds_sum', labels, Math.round(s.sumSeconds * 1e6) / 1e6);
    out.sample('obmen_external_request_duration_seconds_count', labels, s.count);
  }
  out.family('obmen_external_request_errors_total', 'counter', 'Requests to external systems that failed');
  for (const s of series) {
    out.sample('obmen_external_request_errors_total', { system: s.system, endpoint: s.endpoint }, s.errors);
  }

  const limiterFamilies = [
    ['obmen_limiter_wait_seconds', 'How long a system is blocked (Retry-After, 429/503) from now'],
    ['obmen_limiter_tokens', 'Requests a system may take at once now (token bucket)'],
    ['obmen_limiter_budget_used_seconds', 'Execution-time budget used in the current window'],
  ] as const;
  for (const [name, help] of limiterFamilies) {
    out.family(name, 'gauge', help);
    for (const row of limits) {
      const value =
        name === 'obmen_limiter_wait_seconds'
          ? Math.max(0, row.blocked_until - now) / 1000
          : name === 'obmen_limiter_tokens'
            ? Number(row.tokens)
            : Number(row.budget_used_ms) / 1000;
      out.sample(name, { system: row.system }, value);
    }
  }

  out.family('obmen_alerts_firing', 'gauge', 'Alerts firing now per rule');
  for (const row of alerts) out.sample('obmen_alerts_firing', { rule: row.rule }, Number(row.n));
  return out.toString();
}
