import { sql } from 'kysely';
import type { OutboxState, OutboxTable, SessionsTable } from '../store/schema.ts';
import type { Store } from '../store/store.ts';

/**
 * Read queries shared by the API and the CLI. They return plain camelCase objects with JSON
 * columns already parsed, so callers never see the storage layout.
 */

export const OUTBOX_STATES: readonly OutboxState[] = [
  'pending',
  'in_flight',
  'delivered',
  'failed',
  'waiting',
];

export interface Page {
  limit: number;
  offset: number;
}

export interface PageOf<T> {
  items: T[];
  total: number;
}

/** The current state of one object in the hub. */
export interface RecordView {
  entity: string;
  id: string;
  version: number;
  hash: string;
  origin: string;
  deleted: boolean;
  sourceUpdatedAt: number | null;
  createdAt: number;
  updatedAt: number;
  data: unknown;
}

export interface LinkView {
  system: string;
  externalId: string;
  lastHash: string | null;
  updatedAt: number;
}

export interface HistoryView {
  version: number;
  hash: string;
  origin: string;
  deleted: boolean;
  changedAt: number;
  data: unknown;
}

/** Delivery state of one object on one route. */
export interface DeliveryView {
  route: string;
  state: OutboxState;
  wantVersion: number;
  attempts: number;
  nextAttemptAt: number;
  force: boolean;
  leaseOwner: string | null;
  leaseExpiresAt: number | null;
  lastError: string | null;
  errorClass: string | null;
  waitingFor: string[] | null;
  deliveredVersion: number | null;
  deliveredHash: string | null;
  deliveredAt: number | null;
  updatedAt: number;
}

export interface RecordDetail extends RecordView {
  links: LinkView[];
  /** Newest version first. */
  history: HistoryView[];
  deliveries: DeliveryView[];
}

export interface SessionView {
  id: number;
  kind: string;
  system: string | null;
  name: string;
  owner: string | null;
  status: SessionsTable['status'];
  startedAt: number;
  finishedAt: number | null;
  counts: unknown;
  error: string | null;
}

/** A parked delivery, with enough of the object to recognise it. */
export interface FailureView {
  /** `<route>:<recordId>`: route names cannot hold ':', so the first ':' splits it. */
  id: string;
  route: string;
  recordId: string;
  entity: string;
  name: string | null;
  article: string | null;
  attempts: number;
  wantVersion: number;
  errorClass: string | null;
  lastError: string | null;
  updatedAt: number;
}

export type StateCounts = Record<OutboxState, number>;

export interface RouteDepth {
  route: string;
  counts: StateCounts;
  total: number;
}

/** Stored JSON is written by us, but a damaged row must still be viewable rather than break the page. */
function parseJson(text: string | null): unknown {
  if (text === null) return null;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** `q` is data, never pattern syntax: %, _ and the escape character itself match literally. */
export function likePattern(q: string): string {
  return `%${q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/**
 * Both sides go through the database's lower() so they fold alike: where lower() knows only
 * ASCII (SQLite's built-in), non-Latin text still matches in the same case.
 */
function containsText(column: 'data' | 'id', q: string) {
  return sql<boolean>`lower(${sql.ref(column)}) like lower(${likePattern(q)}) escape '\\'`;
}

export async function listRecords(
  store: Store,
  entity: string,
  options: Page & { q?: string | undefined },
): Promise<PageOf<RecordView>> {
  let base = store.db.selectFrom('records').where('entity', '=', entity);
  const q = options.q;
  if (q) base = base.where((eb) => eb.or([containsText('data', q), containsText('id', q)]));
  const [rows, count] = await Promise.all([
    base
      .selectAll()
      .orderBy('updated_at', 'desc')
      .orderBy('id')
      .limit(options.limit)
      .offset(options.offset)
      .execute(),
    base.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
  ]);
  return { items: rows.map(recordView), total: Number(count.n) };
}

function recordView(row: {
  entity: string;
  id: string;
  version: number;
  hash: string;
  origin: string;
  deleted: number;
  source_updated_at: number | null;
  created_at: number;
  updated_at: number;
  data: string;
}): RecordView {
  return {
    entity: row.entity,
    id: row.id,
    version: row.version,
    hash: row.hash,
    origin: row.origin,
    deleted: row.deleted === 1,
    sourceUpdatedAt: row.source_updated_at,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    data: parseJson(row.data),
  };
}

export async function getRecord(store: Store, entity: string, id: string): Promise<RecordDetail | undefined> {
  const row = await store.db
    .selectFrom('records')
    .selectAll()
    .where('entity', '=', entity)
    .where('id', '=', id)
    .executeTakeFirst();
  if (!row) return undefined;
  const [links, history, deliveries] = await Promise.all([
    store.db
      .selectFrom('links')
      .selectAll()
      .where('entity', '=', entity)
      .where('record_id', '=', id)
      .orderBy('system')
      .execute(),
    store.db
      .selectFrom('record_history')
      .selectAll()
      .where('entity', '=', entity)
      .where('id', '=', id)
      .orderBy('version', 'desc')
      .execute(),
    store.db
      .selectFrom('outbox')
      .selectAll()
      .where('entity', '=', entity)
      .where('record_id', '=', id)
      .orderBy('route')
      .execute(),
  ]);
  return {
    ...recordView(row),
    links: links.map((l) => ({
      system: l.system,
      externalId: l.external_id,
      lastHash: l.last_hash,
      updatedAt: l.updated_at,
    })),
    // The current version lives in `records` only; history holds the ones before it.
    history: [
      {
        entity: row.entity,
        id: row.id,
        version: row.version,
        hash: row.hash,
        origin: row.origin,
        deleted: row.deleted,
        changed_at: row.updated_at,
        data: row.data,
      },
      ...history.filter((h) => h.version < row.version),
    ].map((h) => ({
      version: h.version,
      hash: h.hash,
      origin: h.origin,
      deleted: h.deleted === 1,
      changedAt: h.changed_at,
      data: parseJson(h.data),
    })),
    deliveries: deliveries.map(deliveryView),
  };
}

function deliveryView(row: OutboxTable): DeliveryView {
  const waiting = parseJson(row.waiting_for);
  return {
    route: row.route,
    state: row.state,
    wantVersion: row.want_version,
    attempts: row.attempts,
    nextAttemptAt: row.next_attempt_at,
    force: row.force !== 0,
    leaseOwner: row.lease_owner,
    leaseExpiresAt: row.lease_expires_at,
    lastError: row.last_error,
    errorClass: row.last_error_class,
    waitingFor: Array.isArray(waiting) ? waiting.map(String) : null,
    deliveredVersion: row.delivered_version,
    deliveredHash: row.delivered_hash,
    deliveredAt: row.delivered_at,
    updatedAt: row.updated_at,
  };
}

export async function listSessions(
  store: Store,
  options: Page & { status?: SessionsTable['status'] | undefined; kind?: string | undefined },
): Promise<PageOf<SessionView>> {
  let base = store.db.selectFrom('sessions');
  if (options.status) base = base.where('status', '=', options.status);
  if (options.kind) base = base.where('kind', '=', options.kind);
  const [rows, count] = await Promise.all([
    base
      .selectAll()
      .orderBy('started_at', 'desc')
      .orderBy('id', 'desc')
      .limit(options.limit)
      .offset(options.offset)
      .execute(),
    base.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
  ]);
  return {
    items: rows.map((s) => ({
      id: Number(s.id),
      kind: s.kind,
      system: s.system,
      name: s.name,
      owner: s.owner,
      status: s.status,
      startedAt: s.started_at,
      finishedAt: s.finished_at,
      counts: parseJson(s.counts),
      error: s.error,
    })),
    total: Number(count.n),
  };
}

export async function listFailures(
  store: Store,
  options: Page & { route?: string | undefined; errorClass?: string | undefined },
): Promise<PageOf<FailureView>> {
  let base = store.db
    .selectFrom('outbox')
    .leftJoin('records', (join) =>
      join.onRef('records.entity', '=', 'outbox.entity').onRef('records.id', '=', 'outbox.record_id'),
    )
    .where('outbox.state', '=', 'failed');
  if (options.route) base = base.where('outbox.route', '=', options.route);
  if (options.errorClass) base = base.where('outbox.last_error_class', '=', options.errorClass);
  const [rows, count] = await Promise.all([
    base
      .select([
        'outbox.route',
        'outbox.record_id',
        'outbox.entity',
        'outbox.attempts',
        'outbox.want_version',
        'outbox.last_error',
        'outbox.last_error_class',
        'outbox.updated_at',
        'records.data',
      ])
      .orderBy('outbox.updated_at', 'desc')
      .orderBy('outbox.route')
      .orderBy('outbox.record_id')
      .limit(options.limit)
      .offset(options.offset)
      .execute(),
    base.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
  ]);
  return {
    items: rows.map((r) => {
      const data = parseJson(r.data);
      return {
        id: `${r.route}:${r.record_id}`,
        route: r.route,
        recordId: r.record_id,
        entity: r.entity,
        name: textField(data, 'name'),
        article: textField(data, 'article'),
        attempts: r.attempts,
        wantVersion: r.want_version,
        errorClass: r.last_error_class,
        lastError: r.last_error,
        updatedAt: r.updated_at,
      };
    }),
    total: Number(count.n),
  };
}

function textField(data: unknown, field: string): string | null {
  if (!data || typeof data !== 'object') return null;
  const value = (data as Record<string, unknown>)[field];
  return typeof value === 'string' || typeof value === 'number' ? String(value) : null;
}

/** Rows per state for every route that has outbox rows, routes in name order. */
export async function queueDepth(store: Store): Promise<RouteDepth[]> {
  const rows = await store.db
    .selectFrom('outbox')
    .select(['route', 'state', (eb) => eb.fn.countAll<number>().as('n')])
    .groupBy(['route', 'state'])
    .orderBy('route')
    .execute();
  const byRoute = new Map<string, RouteDepth>();
  for (const row of rows) {
    let depth = byRoute.get(row.route);
    if (!depth) {
      depth = { route: row.route, counts: emptyCounts(), total: 0 };
      byRoute.set(row.route, depth);
    }
    const n = Number(row.n);
    depth.counts[row.state] = (depth.counts[row.state] ?? 0) + n;
    depth.total += n;
  }
  return [...byRoute.values()];
}

export function emptyCounts(): StateCounts {
  return { pending: 0, in_flight: 0, delivered: 0, failed: 0, waiting: 0 };
}
