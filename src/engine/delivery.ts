import type { Logger } from 'pino';
import type { RouteConfig } from '../config/schema.ts';
import type { Clock } from '../core/clock.ts';
import type { Connector, DeliveryItem, ItemOutcome } from '../core/connector.ts';
import type { EntityRegistry } from '../core/entities/index.ts';
import { classify, configError, type ObmenError, permanentError, transientError } from '../core/errors.ts';
import type { RouteMapping } from '../mapping/route.ts';
import { holdMissingValue } from '../matching/holds.ts';
import { refreshStatistics } from '../store/statistics.ts';
import type { Db, Store } from '../store/store.ts';
import { writeWithAuthRefresh } from './auth-refresh.ts';
import { chunk } from './chunks.ts';
import { explainLeftOutWaits, type FilterExit, filterStep } from './filter-exit.ts';
import { recordDeliveredLinks } from './links.ts';
import {
  type ClaimedRow,
  claimRows,
  completeRows,
  ensureQueued,
  heartbeat,
  type RowOutcome,
  wakeWaiting,
} from './outbox.ts';
import { fieldsOwnedBy, type Ownership } from './ownership.ts';
import { decideRetry, type RetryPolicy } from './retry-policy.ts';

/** A configured route with its live connector. */
export interface RouteRuntime {
  name: string;
  entity: string;
  target: string;
  batchSize: number;
  config: RouteConfig;
  connector: Connector;
  /** The route's compiled mapping/filter; absent when it has none (no per-item cost then). */
  mapping?: RouteMapping;
  /** What a record the target holds becomes when it stops passing the filter; default deactivate. */
  filterExit?: FilterExit;
  /**
   * References delivery neither waits for nor resolves: the route's `ignoreRefs` merged with what
   * the target's connector declares (routeIgnoredRefs); absent: the route's `ignoreRefs` alone.
   */
  ignoreRefs?: readonly string[];
}

export interface DeliveryContext {
  store: Store;
  registry: EntityRegistry;
  clock: Clock;
  /** This process's identity in leases. */
  owner: string;
  leaseMs: number;
  retry: RetryPolicy;
  /** All routes: dependencies are delivered on the route of their own entity to the same target. */
  routes: readonly RouteRuntime[];
  /** How soon a waiting row is checked again if nothing wakes it earlier. */
  waitRecheckMs?: number;
  log?: Logger;
  /** Field ownership per entity: items tell the target's connector which fields it owns. */
  ownership?: Ownership;
}

export interface BatchStats {
  claimed: number;
  delivered: number;
  /**
   * Already up to date in the target, left out by the route's filter, or about an object the
   * target does not hold (CanonicalEntity.subjects): no write needed.
   */
  skipped: number;
  retried: number;
  failed: number;
  waiting: number;
}

const EMPTY: BatchStats = { claimed: 0, delivered: 0, skipped: 0, retried: 0, failed: 0, waiting: 0 };

/**
 * One delivery step of a route: claim due rows (lease), load current versions, wait for
 * missing dependencies, write the rest through the connector in one batch, record each item's
 * outcome. Returns what happened; `claimed: 0` means the route has nothing due.
 */
export async function deliverBatch(ctx: DeliveryContext, route: RouteRuntime): Promise<BatchStats> {
  return deliverClaimed(ctx, route, await claimBatch(ctx, route));
}

/** Leases the next due rows of a route (none when nothing is due). */
export function claimBatch(ctx: DeliveryContext, route: RouteRuntime): Promise<ClaimedRow[]> {
  return claimRows(ctx.store, route.name, ctx.owner, route.batchSize, ctx.leaseMs, ctx.clock.now());
}

/**
 * Delivers rows this process has leased (claimBatch) and records their outcomes; the rest of
 * deliverBatch. `claimed: 0` in the result means there was nothing to deliver.
 */
export async function deliverClaimed(
  ctx: DeliveryContext,
  route: RouteRuntime,
  claimed: ClaimedRow[],
): Promise<BatchStats> {
  const { store, clock } = ctx;
  if (claimed.length === 0) return { ...EMPTY };
  const stats: BatchStats = { ...EMPTY, claimed: claimed.length };

  // Keep the leases alive while the target is slow; a dead process stops renewing and its
  // rows become claimable by others when the lease expires.
  const beat = setInterval(
    () => {
      heartbeat(store, route.name, ctx.owner, ctx.leaseMs, clock.now()).catch((error) =>
        ctx.log?.warn({ err: error, route: route.name }, 'lease heartbeat failed'),
      );
    },
    Math.max(50, Math.floor(ctx.leaseMs / 3)),
  );
  beat.unref();
  try {
    const outcomes = await writeClaimed(ctx, route, claimed, stats);
    await store.tx(async (trx) => {
      const now = clock.now();
      const conflicts = await recordDeliveredLinks(
        trx,
        store,
        { entity: route.entity, system: route.target },
        outcomes.links,
        now,
      );
      const rows = outcomes.rows.map((row): RowOutcome => {
        const conflict = conflicts.get(row.recordId);
        if (row.kind !== 'delivered' || !conflict) return row;
        stats.delivered--;
        stats.failed++;
        return {
          kind: 'failed',
          recordId: row.recordId,
          attempts: 1,
          error: conflict,
          errorClass: 'permanent',
        };
      });
      await completeRows(trx, route.name, ctx.owner, rows, now);
      if (route.mapping) await closeDeliveredHolds(trx, route.name, rows, now);
      if (outcomes.links.length > conflicts.size) {
        // Something new exists in the target: rows waiting for it may go now.
        const sameTarget = ctx.routes.filter((r) => r.target === route.target).map((r) => r.name);
        await wakeWaiting(trx, sameTarget, now);
      }
    });
    // The target's links grow with every batch: their lookups must not run on old statistics.
    refreshStatistics(store);
  } finally {
    clearInterval(beat);
  }
  return stats;
}

interface Outcomes {
  rows: RowOutcome[];
  links: Array<{ recordId: string; externalId: string; hash: string }>;
}

async function writeClaimed(
  ctx: DeliveryContext,
  route: RouteRuntime,
  claimed: ClaimedRow[],
  stats: BatchStats,
): Promise<Outcomes> {
  const { store } = ctx;
  const now = ctx.clock.now();
  const out: Outcomes = { rows: [], links: [] };
  const ids = claimed.map((row) => row.recordId);
  const maxIn = Math.floor(store.caps.maxParams / 2);

  const records = new Map<string, { version: number; hash: string; data: string; deleted: number }>();
  const targetLinks = new Map<string, { externalId: string; lastHash: string | null }>();
  for (const part of chunk(ids, maxIn)) {
    const rows = await store.db
      .selectFrom('records')
      .select(['id', 'version', 'hash', 'data', 'deleted'])
      .where('entity', '=', route.entity)
      .where('id', 'in', part)
      .execute();
    for (const row of rows) records.set(row.id, row);
    const links = await store.db
      .selectFrom('links')
      .select(['record_id', 'external_id', 'last_hash'])
      .where('entity', '=', route.entity)
      .where('system', '=', route.target)
      .where('record_id', 'in', part)
      .execute();
    for (const link of links)
      targetLinks.set(link.record_id, { externalId: link.external_id, lastHash: link.last_hash });
  }

  const fail = (row: ClaimedRow, error: ObmenError) => {
    // Backoff counts from the moment the failure is known, not from the claim.
    const decision = decideRetry(ctx.retry, error, row.attempts, ctx.clock.now());
    const maxAttempts = route.config.maxAttempts ?? ctx.retry.maxAttempts;
    if (decision.action === 'retry' && decision.attempts < maxAttempts) {
      stats.retried++;
      out.rows.push({
        kind: 'retry',
        recordId: row.recordId,
        attempts: decision.attempts,
        nextAttemptAt: decision.nextAttemptAt,
        error: error.message,
        errorClass: error.errorClass,
      });
    } else {
      stats.failed++;
      const exhausted =
        decision.action === 'retry' || error.retryable
          ? ` (gave up after ${decision.attempts} attempts; fix the cause, then retry it)`
          : '';
      out.rows.push({
        kind: 'failed',
        recordId: row.recordId,
        attempts: decision.attempts,
        error: error.message + exhausted,
        errorClass: error.errorClass,
      });
    }
  };

  // Decide per row: up to date, waiting for dependencies, or to be written.
  const toWrite: Array<{
    row: ClaimedRow;
    record: { version: number; hash: string; data: Record<string, unknown>; deleted: boolean };
    /** Target-format fields from the route's mapping. */
    fields?: Record<string, unknown>;
    /** The id the mapping computed, used while the object has no link in the target yet. */
    externalId?: string;
  }> = [];
  const pendingRefs: Array<{
    row: ClaimedRow;
    data: Record<string, unknown>;
    refs: Array<{ path: string; entity: string; id: string }>;
    record: { version: number; hash: string; deleted: boolean };
  }> = [];
  for (const row of claimed) {
    const record = records.get(row.recordId);
    if (!record) {
      fail(
        row,
        permanentError(
          `${route.entity} ${row.recordId} no longer exists in the hub; nothing to deliver to ${route.target}`,
        ),
      );
      continue;
    }
    const link = targetLinks.get(row.recordId);
    if (!row.force && link && link.lastHash === record.hash) {
      stats.skipped++;
      out.rows.push({
        kind: 'delivered',
        recordId: row.recordId,
        hash: record.hash,
        version: record.version,
      });
      continue;
    }
    const data = JSON.parse(record.data) as Record<string, unknown>;
    const refs = withoutIgnored(
      ctx.registry.refsOf(route.entity, data),
      route.ignoreRefs ?? route.config.ignoreRefs,
    );
    pendingRefs.push({
      row,
      data,
      refs,
      record: { version: record.version, hash: record.hash, deleted: record.deleted === 1 },
    });
  }

  // Resolve every reference to the target's ids in one query per referenced entity.
  const wantedByEntity = new Map<string, Set<string>>();
  for (const p of pendingRefs) {
    for (const ref of p.refs) {
      let set = wantedByEntity.get(ref.entity);
      if (!set) {
        set = new Set();
        wantedByEntity.set(ref.entity, set);
      }
      set.add(ref.id);
    }
  }
  const resolved = new Map<string, Map<string, string>>();
  for (const [entity, set] of wantedByEntity) {
    const map = new Map<string, string>();
    for (const part of chunk([...set], maxIn)) {
      const rows = await store.db
        .selectFrom('links')
        .select(['record_id', 'external_id'])
        .where('entity', '=', entity)
        .where('system', '=', route.target)
        .where('record_id', 'in', part)
        .execute();
      for (const r of rows) map.set(r.record_id, r.external_id);
    }
    resolved.set(entity, map);
  }

  const dependencies: Array<{ route: string; recordId: string; entity: string }> = [];
  const subjects = ctx.registry.get(route.entity)?.subjects ?? [];
  for (const p of pendingRefs) {
    const missing = p.refs.filter((ref) => !resolved.get(ref.entity)?.has(ref.id));
    if (missing.length === 0) {
      const mapped = ctx.registry.mapRefs(route.entity, p.data, (entity, id) =>
        resolved.get(entity)?.get(id),
      );
      toWrite.push({ row: p.row, record: { ...p.record, data: mapped.data } });
      continue;
    }
    if (missing.some((ref) => subjects.includes(declaredPath(ref.path)))) {
      // What this object is about (an order status's order) is not in the target: there is
      // nothing there to apply it to, so the row is done without a write.
      stats.skipped++;
      out.rows.push({
        kind: 'delivered',
        recordId: p.row.recordId,
        hash: p.record.hash,
        version: p.record.version,
      });
      continue;
    }
    const unroutable = missing.filter(
      (ref) => !ctx.routes.some((r) => r.entity === ref.entity && r.target === route.target),
    );
    if (unroutable.length > 0) {
      const ref = unroutable[0]!;
      fail(
        p.row,
        configError(
          `${route.entity} ${p.row.recordId} refers to ${ref.entity} ${ref.id} (field ${ref.path}), which has no id in ${route.target} and no route delivers ${ref.entity} to ${route.target}; add such a route or link the object by hand`,
        ),
      );
      continue;
    }
    for (const ref of missing) {
      const depRoute = ctx.routes.find((r) => r.entity === ref.entity && r.target === route.target)!;
      dependencies.push({ route: depRoute.name, recordId: ref.id, entity: ref.entity });
    }
    stats.waiting++;
    out.rows.push({
      kind: 'waiting',
      recordId: p.row.recordId,
      waitingFor: missing.map((ref) => `${ref.entity}:${ref.id}`),
      recheckAt: now + (ctx.waitRecheckMs ?? 30_000),
      message: `waiting until ${missing.map((ref) => `${ref.entity} ${ref.id}`).join(', ')} ${missing.length === 1 ? 'is' : 'are'} delivered to ${route.target}`,
    });
  }
  if (dependencies.length > 0) {
    // The dependency is scheduled automatically: queue it on its own route if it is not yet.
    await store.tx((trx) => ensureQueued(trx, store.caps, dependencies, now));
    await explainLeftOutWaits(store.db, route.target, out.rows, dependencies, now);
  }
  const sending = route.mapping
    ? await applyMapping(ctx, route, route.mapping, toWrite, targetLinks, records, out, stats, fail)
    : toWrite;
  if (sending.length === 0) return out;

  const ownedFields = fieldsOwnedBy(ctx.ownership, route.entity, route.target);
  const items: DeliveryItem[] = sending.map(({ row, record, fields, externalId }) => ({
    recordId: row.recordId,
    entity: route.entity,
    version: record.version,
    hash: record.hash,
    data: record.data,
    deleted: record.deleted,
    externalId: targetLinks.get(row.recordId)?.externalId ?? externalId,
    ...(fields ? { fields } : {}),
    ...(ownedFields ? { ownedFields } : {}),
    ...(route.mapping?.extends === 'none' ? { withoutDefaults: true } : {}),
  }));
  let results: ItemOutcome[];
  try {
    if (!route.connector.write)
      throw configError(`system ${route.target} cannot receive data (its connector has no writer)`);
    const write = route.connector.write.bind(route.connector);
    // Expired credentials: refreshed and the refused items written once more (auth-refresh.ts).
    results = await writeWithAuthRefresh(route.connector, route.target, items, (batch) =>
      write(route.config, batch),
    );
  } catch (error) {
    const failure = classify(error, route.target);
    results = items.map((item) => ({ recordId: item.recordId, ok: false as const, error: failure }));
  }
  const byId = new Map(results.map((r) => [r.recordId, r]));
  for (const { row, record } of sending) {
    const result = byId.get(row.recordId);
    if (!result) {
      fail(row, transientError(`${route.target} returned no result for ${route.entity} ${row.recordId}`));
    } else if (result.ok) {
      stats.delivered++;
      out.links.push({ recordId: row.recordId, externalId: result.externalId, hash: record.hash });
      out.rows.push({
        kind: 'delivered',
        recordId: row.recordId,
        hash: record.hash,
        version: record.version,
      });
    } else {
      fail(row, result.error);
    }
  }
  return out;
}

type ToWrite = {
  row: ClaimedRow;
  record: { version: number; hash: string; data: Record<string, unknown>; deleted: boolean };
  fields?: Record<string, unknown>;
  externalId?: string;
};

/**
 * Runs the route's filter and mapping over the items about to be written (references already in
 * the target's ids). Filtered out: completed without a write (counted as skipped), or written as
 * deleted when the target holds the record (filter-exit.ts). A value the
 * target lacks with `missing: hold`: a hold with the mapping's (Russian) message and the row
 * parked as a permanent failure until someone adds the value and retries. A mapping error: a
 * permanent failure naming the route and field. Returns the items to send, with their fields.
 */
async function applyMapping(
  ctx: DeliveryContext,
  route: RouteRuntime,
  mapping: RouteMapping,
  toWrite: ToWrite[],
  targetLinks: ReadonlyMap<string, { externalId: string; lastHash: string | null }>,
  records: ReadonlyMap<string, { data: string }>,
  out: Outcomes,
  stats: BatchStats,
  fail: (row: ClaimedRow, error: ObmenError) => void,
): Promise<ToWrite[]> {
  const sending: ToWrite[] = [];
  for (const item of toWrite) {
    const { row, record } = item;
    const link = targetLinks.get(row.recordId);
    const context = {
      recordId: row.recordId,
      externalId: link?.externalId,
      // References as hub ids, for $externalId(system, 'groupId'); parsed only when asked.
      hubData: () => JSON.parse(records.get(row.recordId)?.data ?? '{}') as Record<string, unknown>,
    };
    let passes: boolean;
    try {
      passes = await mapping.filter(record.data, context);
    } catch (error) {
      // A deletion goes whatever the filter makes of it: the object must go from the target.
      if (record.deleted) {
        sending.push(item);
        continue;
      }
      fail(row, permanentError(`route ${route.name}, filter: ${(error as Error).message}`));
      continue;
    }
    const step = filterStep({
      passes,
      deleted: record.deleted,
      link,
      exit: route.filterExit ?? 'deactivate',
      json: records.get(row.recordId)?.data ?? '{}',
    });
    if (step.kind === 'skip') {
      stats.skipped++;
      out.rows.push({
        kind: 'delivered',
        recordId: row.recordId,
        hash: record.hash,
        version: record.version,
      });
      continue;
    }
    // A deletion is passed on as it is: the object must go from the target whatever it holds.
    if (record.deleted) {
      sending.push(item);
      continue;
    }
    if (step.kind === 'deactivate') {
      // The mapped fields still go along (when they map), so the target keeps its own values.
      const mapped = await mapping.map(record.data, context);
      sending.push({
        ...item,
        record: { ...record, deleted: true, hash: step.hash },
        ...(mapped.kind === 'ok' ? { fields: mapped.fields } : {}),
      });
      continue;
    }
    const outcome = await mapping.map(record.data, context);
    if (outcome.kind === 'ok') {
      sending.push({
        ...item,
        fields: outcome.fields,
        ...(outcome.externalId === undefined ? {} : { externalId: outcome.externalId }),
      });
    } else if (outcome.kind === 'hold') {
      await holdMissingValue(
        ctx.store,
        {
          entity: route.entity,
          route: route.name,
          recordId: row.recordId,
          field: outcome.field,
          value: outcome.value,
          message: outcome.message,
        },
        ctx.clock.now(),
      );
      fail(row, permanentError(outcome.message, { system: route.target, code: 'MISSING_VALUE' }));
    } else {
      fail(row, permanentError(`route ${route.name}: ${outcome.message}`, { system: route.target }));
    }
  }
  return sending;
}

/**
 * A held item that went through (the value was added and the row retried) no longer waits:
 * its open missing-value holds are closed, so the holds list shows only what still needs a person.
 */
async function closeDeliveredHolds(trx: Db, route: string, rows: readonly RowOutcome[], now: number) {
  const delivered = rows.filter((row) => row.kind === 'delivered').map((row) => row.recordId);
  for (const part of chunk(delivered, 500)) {
    await trx
      .updateTable('holds')
      .set({
        state: 'resolved',
        resolution: JSON.stringify({ retry: true }),
        resolved_by: 'delivery',
        resolved_at: now,
        updated_at: now,
      })
      .where('kind', '=', 'missing_value')
      .where('route', '=', route)
      .where('state', '=', 'open')
      .where('record_id', 'in', part)
      .execute();
  }
}

/**
 * References the route says its target does not use (`ignoreRefs`, with the connector's own
 * declaration merged in) are neither waited for nor queued; 'lines[2].productId' matches the
 * declared 'lines[].productId'.
 */
function withoutIgnored<T extends { path: string }>(refs: T[], ignored: readonly string[] | undefined): T[] {
  if (!ignored || ignored.length === 0) return refs;
  return refs.filter((ref) => !ignored.includes(declaredPath(ref.path)));
}

/** 'lines[2].productId' → 'lines[].productId', the path as the entity declares it. */
function declaredPath(path: string): string {
  return path.replace(/\[\d+\]/g, '[]');
}
