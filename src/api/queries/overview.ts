import { sql } from 'kysely';
import { effectiveLimits } from '../../connectors/registry.ts';
import type { ApiContext } from '../context.ts';
import { sessionView } from '../routes/sessions.ts';

const HOUR = 3_600_000;
const DAY = 86_400_000;

/** A day number (days since 1970, UTC) as YYYY-MM-DD. */
const dayText = (day: number) => new Date(day * DAY).toISOString().slice(0, 10);

/** Health per configured system, from the request log of the last hour and the limiter table. */
async function systemsHealth(ctx: ApiContext, now: number) {
  const db = ctx.store.db;
  const [last, hour, limits] = await Promise.all([
    db
      .selectFrom('request_log')
      .select((eb) => [
        'system',
        eb.fn.max(eb.case().when('error', 'is', null).then(eb.ref('at')).end()).as('ok_at'),
        eb.fn.max(eb.case().when('error', 'is not', null).then(eb.ref('at')).end()).as('error_at'),
      ])
      .groupBy('system')
      .execute(),
    db
      .selectFrom('request_log')
      .select((eb) => [
        'system',
        eb.fn.countAll<number>().as('calls'),
        eb.fn.sum<number>(eb.case().when('error', 'is not', null).then(1).else(0).end()).as('errors'),
      ])
      .where('at', '>=', now - HOUR)
      .groupBy('system')
      .execute(),
    db.selectFrom('rate_limits').select(['system', 'blocked_until']).execute(),
  ]);
  const lastBy = new Map(last.map((r) => [r.system, r]));
  const hourBy = new Map(hour.map((r) => [r.system, r]));
  const limitBy = new Map(limits.map((r) => [r.system, r]));
  return Object.entries(ctx.config.systems)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, system]) => {
      const calls = Number(hourBy.get(name)?.calls ?? 0);
      const errors = Number(hourBy.get(name)?.errors ?? 0);
      const blocked = limitBy.get(name)?.blocked_until ?? 0;
      // The rate in force: the user's, else the connector's documented default (Bitrix24's 2/s).
      const rate = effectiveLimits(system)?.rate;
      return {
        name,
        kind: system.kind,
        lastSuccessAt: numberOrNull(lastBy.get(name)?.ok_at),
        lastErrorAt: numberOrNull(lastBy.get(name)?.error_at),
        errorRate: calls === 0 ? 0 : errors / calls,
        calls1h: calls,
        limiter: {
          rate: rate ?? null,
          waitingMs: blocked > now ? blocked - now : rate ? 0 : null,
        },
      };
    });
}

function numberOrNull(value: unknown): number | null {
  return value === null || value === undefined ? null : Number(value);
}

async function queueSummary(ctx: ApiContext, now: number) {
  const rows = await ctx.store.db
    .selectFrom('outbox')
    .select((eb) => [
      'route',
      eb.fn.sum<number>(eb.case().when('state', '=', 'pending').then(1).else(0).end()).as('pending'),
      eb.fn.sum<number>(eb.case().when('state', '=', 'waiting').then(1).else(0).end()).as('waiting'),
      eb.fn.sum<number>(eb.case().when('state', '=', 'in_flight').then(1).else(0).end()).as('in_flight'),
      eb.fn.sum<number>(eb.case().when('state', '=', 'failed').then(1).else(0).end()).as('failed'),
      eb.fn
        .sum<number>(
          eb
            .case()
            .when('delivered_at', '>=', now - DAY)
            .then(1)
            .else(0)
            .end(),
        )
        .as('delivered24h'),
    ])
    .groupBy('route')
    .execute();
  const byRoute = new Map(rows.map((r) => [r.route, r]));
  return ctx.config.routes.map((route) => {
    const row = byRoute.get(route.name);
    return {
      route: route.name,
      entity: route.entity,
      target: route.target,
      pending: Number(row?.pending ?? 0),
      waiting: Number(row?.waiting ?? 0),
      inFlight: Number(row?.in_flight ?? 0),
      failed: Number(row?.failed ?? 0),
      delivered24h: Number(row?.delivered24h ?? 0),
    };
  });
}

/**
 * Objects synchronised per day, last 14 days: deliveries by target system and versions
 * ingested by source system. Days are computed with integer division, which both databases
 * do alike, so no date function differs between them.
 */
async function perDay(ctx: ApiContext, now: number) {
  const since = now - 14 * DAY;
  const day = (column: string) => sql<number>`${sql.ref(column)} / ${sql.lit(DAY)}`;
  // Versions ingested: the past ones are in record_history, each record's current one in
  // records (written at its updated_at). Naming the entities lets the (entity, updated_at) index
  // serve that query; without them it reads every record, JSON included, at each overview.
  const [delivered, ingested, current] = await Promise.all([
    ctx.store.db
      .selectFrom('outbox')
      .select((eb) => [day('delivered_at').as('day'), 'entity', 'route', eb.fn.countAll<number>().as('n')])
      .where('delivered_at', '>=', since)
      .groupBy([day('delivered_at'), 'entity', 'route'])
      .execute(),
    ctx.store.db
      .selectFrom('record_history')
      .select((eb) => [day('changed_at').as('day'), 'entity', 'origin', eb.fn.countAll<number>().as('n')])
      .where('changed_at', '>=', since)
      .groupBy([day('changed_at'), 'entity', 'origin'])
      .execute(),
    ctx.store.db
      .selectFrom('records')
      .select((eb) => [day('updated_at').as('day'), 'entity', 'origin', eb.fn.countAll<number>().as('n')])
      .where('entity', 'in', [...ctx.entities])
      .where('updated_at', '>=', since)
      .groupBy([day('updated_at'), 'entity', 'origin'])
      .execute(),
  ]);
  const targetOf = new Map(ctx.config.routes.map((r) => [r.name, r.target]));
  const totals = new Map<string, { day: string; entity: string; system: string; count: number }>();
  const add = (d: number, entity: string, system: string, n: number) => {
    const key = `${d}|${entity}|${system}`;
    const entry = totals.get(key) ?? { day: dayText(Math.floor(Number(d))), entity, system, count: 0 };
    entry.count += n;
    totals.set(key, entry);
  };
  for (const r of delivered)
    add(Math.floor(Number(r.day)), r.entity, targetOf.get(r.route) ?? r.route, Number(r.n));
  for (const r of [...ingested, ...current]) add(Math.floor(Number(r.day)), r.entity, r.origin, Number(r.n));
  return [...totals.values()].sort((a, b) => a.day.localeCompare(b.day) || a.entity.localeCompare(b.entity));
}

async function successRate(ctx: ApiContext) {
  const rows = await ctx.store.db
    .selectFrom('outbox')
    .select((eb) => [
      'entity',
      eb.fn.sum<number>(eb.case().when('state', '=', 'delivered').then(1).else(0).end()).as('delivered'),
      eb.fn.sum<number>(eb.case().when('state', '=', 'failed').then(1).else(0).end()).as('failed'),
    ])
    .groupBy('entity')
    .orderBy('entity')
    .execute();
  return rows.map((r) => {
    const delivered = Number(r.delivered ?? 0);
    const failed = Number(r.failed ?? 0);
    return {
      entity: r.entity,
      delivered,
      failed,
      rate: delivered + failed === 0 ? 1 : delivered / (delivered + failed),
    };
  });
}

/** Everything the dashboard's first page shows, in one round trip. */
export async function overview(ctx: ApiContext) {
  const now = ctx.now();
  const [systems, queue, sessions, days, rates] = await Promise.all([
    systemsHealth(ctx, now),
    queueSummary(ctx, now),
    ctx.store.db
      .selectFrom('sessions')
      .selectAll()
      .orderBy('started_at', 'desc')
      .orderBy('id', 'desc')
      .limit(10)
      .execute(),
    perDay(ctx, now),
    successRate(ctx),
  ]);
  return { systems, queue, sessions: sessions.map(sessionView), perDay: days, successRate: rates };
}
