import type { ObmenConfig } from '../../config/schema.ts';
import { parseDuration } from '../../config/units.ts';
import type { Store } from '../../store/store.ts';
import type { AlertRule, Finding, HoldInfo } from './types.ts';

const DEFAULT_WINDOW_MS = 15 * 60_000;
const DEFAULT_STUCK_MS = 60 * 60_000;

function windowOf(rule: AlertRule, fallback: number): number {
  return rule.window === undefined ? fallback : parseDuration(rule.window);
}

function targetOf(config: ObmenConfig, route: string): string | null {
  return config.routes.find((r) => r.name === route)?.target ?? null;
}

function titleOf(data: string | null, id: string): string {
  if (!data) return id;
  try {
    const parsed = JSON.parse(data) as Record<string, unknown>;
    const name = parsed.name ?? parsed.title ?? parsed.article;
    return typeof name === 'string' ? `${name} (${id})` : id;
  } catch {
    return id;
  }
}

/** failures: a route with at least `threshold` (default 1) parked deliveries. */
async function failures(store: Store, config: ObmenConfig, rule: AlertRule): Promise<Finding[]> {
  let query = store.db
    .selectFrom('outbox')
    .select((eb) => ['route', eb.fn.countAll<number>().as('n')])
    .where('state', '=', 'failed')
    .groupBy('route');
  if (rule.route) query = query.where('route', '=', rule.route);
  const rows = await query.execute();
  const threshold = rule.threshold ?? 1;
  const findings: Finding[] = [];
  for (const row of rows) {
    const count = Number(row.n);
    if (count < threshold) continue;
    const samples = await store.db
      .selectFrom('outbox')
      .leftJoin('records', (join) =>
        join.onRef('records.entity', '=', 'outbox.entity').onRef('records.id', '=', 'outbox.record_id'),
      )
      .select(['outbox.record_id', 'outbox.last_error', 'records.data'])
      .where('outbox.route', '=', row.route)
      .where('outbox.state', '=', 'failed')
      .orderBy('outbox.updated_at', 'desc')
      .limit(3)
      .execute();
    findings.push({
      rule: rule.name,
      kind: rule.kind,
      target: row.route,
      system: targetOf(config, row.route),
      route: row.route,
      objects: samples.map((s) => titleOf(s.data, s.record_id)),
      facts: { count, error: samples[0]?.last_error ?? '' },
    });
  }
  return findings;
}

/** failure_rate: share of failed deliveries of a route over the window, from its delivery sessions. */
async function failureRate(
  store: Store,
  config: ObmenConfig,
  rule: AlertRule,
  now: number,
): Promise<Finding[]> {
  let query = store.db
    .selectFrom('sessions')
    .select(['name', 'system', 'counts'])
    .where('kind', '=', 'deliver')
    .where('started_at', '>=', now - windowOf(rule, DEFAULT_WINDOW_MS));
  if (rule.route) query = query.where('name', '=', rule.route);
  const rows = await query.execute();
  const totals = new Map<string, { delivered: number; failed: number }>();
  for (const row of rows) {
    let counts: Record<string, number> = {};
    try {
      counts = JSON.parse(row.counts) as Record<string, number>;
    } catch {}
    const t = totals.get(row.name) ?? { delivered: 0, failed: 0 };
    t.delivered += Number(counts.delivered ?? 0);
    t.failed += Number(counts.failed ?? 0) + Number(counts.retried ?? 0);
    totals.set(row.name, t);
  }
  const threshold = rule.threshold ?? 0.5;
  const minCalls = rule.minCalls ?? 5;
  const findings: Finding[] = [];
  for (const [route, t] of totals) {
    const attempts = t.delivered + t.failed;
    if (attempts < minCalls || t.failed / attempts < threshold) continue;
    findings.push({
      rule: rule.name,
      kind: rule.kind,
      target: route,
      system: targetOf(config, route),
      route,
      objects: [],
      facts: { failed: t.failed, attempts, percent: Math.round((t.failed / attempts) * 100) },
    });
  }
  return findings;
}

/** stuck: a source (or the named source/route) without a successful session for the window (default 60m). */
async function stuck(store: Store, config: ObmenConfig, rule: AlertRule, now: number): Promise<Finding[]> {
  const limit = windowOf(rule, DEFAULT_STUCK_MS);
  const names = rule.source ? [rule.source] : config.sources.map((s) => s.name);
  const findings: Finding[] = [];
  for (const name of names) {
    const row = await store.db
      .selectFrom('sessions')
      .select((eb) => [
        eb.fn
          .max(eb.case().when('status', 'in', ['ok', 'partial']).then(eb.ref('finished_at')).end())
          .as('ok_at'),
        eb.fn.min('started_at').as('first_at'),
      ])
      .where('name', '=', name)
      .executeTakeFirst();
    const okAt = row?.ok_at === null || row?.ok_at === undefined ? undefined : Number(row.ok_at);
    const firstAt = row?.first_at === null || row?.first_at === undefined ? undefined : Number(row.first_at);
    const since = okAt ?? firstAt;
    // Never run at all says nothing yet (the hub may have just started); never succeeding since a first run does.
    if (since === undefined || now - since < limit) continue;
    const source = config.sources.find((s) => s.name === name);
    const route = config.routes.find((r) => r.name === name);
    findings.push({
      rule: rule.name,
      kind: rule.kind,
      target: name,
      system: source?.system ?? route?.target ?? null,
      route: route ? name : null,
      objects: [],
      facts: {
        name,
        minutes: Math.floor((now - since) / 60_000),
        lastSuccessAt: okAt === undefined ? '' : new Date(okAt).toISOString(),
      },
    });
  }
  return findings;
}

/** system_down: a system whose calls in the window failed at `threshold` share or more (default: all of them). */
async function systemDown(store: Store, rule: AlertRule, now: number): Promise<Finding[]> {
  let query = store.db
    .selectFrom('request_log')
    .select((eb) => [
      'system',
      eb.fn.countAll<number>().as('calls'),
      eb.fn.sum<number>(eb.case().when('error', 'is not', null).then(1).else(0).end()).as('errors'),
      eb.fn.max('error').as('sample'),
    ])
    .where('at', '>=', now - windowOf(rule, DEFAULT_WINDOW_MS))
    .groupBy('system');
  if (rule.system) query = query.where('system', '=', rule.system);
  const rows = await query.execute();
  const threshold = rule.threshold ?? 1;
  const minCalls = rule.minCalls ?? 5;
  return rows
    .filter((r) => Number(r.calls) >= minCalls && Number(r.errors) / Number(r.calls) >= threshold)
    .map((r) => ({
      rule: rule.name,
      kind: rule.kind,
      target: r.system,
      system: r.system,
      route: null,
      objects: [],
      facts: {
        calls: Number(r.calls),
        errors: Number(r.errors),
        percent: Math.round((Number(r.errors) / Number(r.calls)) * 100),
        error: r.sample ?? '',
      },
    }));
}

/** hold: parked possible duplicates waiting for a person, one alert per route. */
async function holds(rule: AlertRule, provider: (() => Promise<HoldInfo[]>) | undefined): Promise<Finding[]> {
  if (!provider) return [];
  const items = (await provider()).filter((h) => !rule.route || h.route === rule.route);
  const byRoute = new Map<string, HoldInfo[]>();
  for (const item of items) {
    const key = item.route ?? item.entity;
    byRoute.set(key, [...(byRoute.get(key) ?? []), item]);
  }
  return [...byRoute].map(([key, list]) => ({
    rule: rule.name,
    kind: rule.kind,
    target: key,
    system: list[0]?.system ?? null,
    route: list[0]?.route ?? null,
    objects: list
      .slice(0, 3)
      .map((h) => `${h.entity} ${h.recordId ?? h.id}${h.reason ? `: ${h.reason}` : ''}`),
    facts: { count: list.length },
  }));
}

/** What a rule sees now. */
export function evaluateRule(
  store: Store,
  config: ObmenConfig,
  rule: AlertRule,
  now: number,
  holdProvider?: () => Promise<HoldInfo[]>,
): Promise<Finding[]> {
  switch (rule.kind) {
    case 'failures':
      return failures(store, config, rule);
    case 'failure_rate':
      return failureRate(store, config, rule, now);
    case 'stuck':
      return stuck(store, config, rule, now);
    case 'system_down':
      return systemDown(store, rule, now);
    case 'hold':
      return holds(rule, holdProvider);
  }
}
