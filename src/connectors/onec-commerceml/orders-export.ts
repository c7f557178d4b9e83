import type { Counterparty, Order } from '../../core/entities/index.ts';
import { chunk } from '../../engine/chunks.ts';
import { recordDeliveredLinks } from '../../engine/links.ts';
import { claimRows, completeRows, type RowOutcome } from '../../engine/outbox.ts';
import type { Runtime } from '../../engine/runtime.ts';
import { finishSession, startSession } from '../../engine/sessions.ts';
import type { ExchangeSession } from '../../exchange/commerceml/index.ts';
import { type CanonicalOrderForCml, writeOrdersXml } from '../../formats/commerceml/index.ts';
import type { Db } from '../../store/store.ts';
import type { OnecCommercemlSettings } from './spec.ts';

/**
 * `type=sale&mode=query` and `mode=success` over the outbox: 1C pulls orders itself, so the
 * rows of routes targeting this system are claimed by the exchange (owner `commerceml:<key>`)
 * and completed only when 1C confirms with `success` — Bitrix's "committed cursor". A query
 * 1C never confirmed is sent again by the next query.
 */

// Long enough for 1C to load a big answer and confirm; a lost confirmation is re-sent anyway.
const LEASE_MS = 3600_000;
const OWNER_PREFIX = 'commerceml:';
// Entities whose hub ids stand in for 1C Ид until 1C confirms: they become links on success,
// so documents 1C sends back resolve to the same records.
const LINKED_REFS = new Set(['counterparty', 'product']);

export interface OrdersExportDeps {
  runtime: Runtime;
  system: string;
  settings: OnecCommercemlSettings;
}

const ownerOf = (session: ExchangeSession) => `${OWNER_PREFIX}${session.key}`;

function orderRoutes(deps: OrdersExportDeps): string[] {
  return deps.runtime.routes
    .filter((r) => r.target === deps.system && r.entity === 'order')
    .map((r) => r.name);
}

interface ExportedOrder {
  route: string;
  recordId: string;
  version: number;
  hash: string;
  externalId: string;
  /** entity → hub id → the Ид written for it (hub id when no link existed). */
  refs: Array<{ entity: string; recordId: string; externalId: string }>;
  cml: CanonicalOrderForCml | undefined;
  problem: string | undefined;
}

/** Builds the orders document for a `mode=query` call (encoded as configured). */
export async function queryOrders(deps: OrdersExportDeps, session: ExchangeSession): Promise<Buffer> {
  const { runtime, settings } = deps;
  const store = runtime.store;
  const now = runtime.clock.now();
  const owner = ownerOf(session);
  const sessionId = await startSession(
    store,
    { kind: 'exchange', system: deps.system, name: 'commerceml sale query', owner: runtime.owner },
    now,
  );
  const exported: ExportedOrder[] = [];
  let budget = settings.ordersPerQuery;
  for (const route of orderRoutes(deps)) {
    // Whatever an earlier query handed out and 1C never confirmed goes out again now.
    await store.db
      .updateTable('outbox')
      .set({
        state: 'pending',
        lease_owner: null,
        lease_expires_at: null,
        next_attempt_at: now,
        updated_at: now,
      })
      .where('route', '=', route)
      .where('state', '=', 'in_flight')
      .where('lease_owner', 'like', `${OWNER_PREFIX}%`)
      .execute();
    if (budget <= 0) break;
    const claimed = await claimRows(store, route, owner, budget, LEASE_MS, now);
    budget -= claimed.length;
    const orders = await loadOrders(
      deps,
      route,
      claimed.map((c) => c.recordId),
    );
    exported.push(...orders);
  }

  const broken = exported.filter((o) => o.problem);
  for (const route of new Set(broken.map((o) => o.route))) {
    const outcomes: RowOutcome[] = broken
      .filter((o) => o.route === route)
      .map((o) => ({
        kind: 'failed',
        recordId: o.recordId,
        attempts: 1,
        error: o.problem!,
        errorClass: 'permanent',
      }));
    await store.tx((trx) => completeRows(trx, route, owner, outcomes, runtime.clock.now()));
  }
  const good = exported.filter((o) => o.cml);
  const xml = writeOrdersXml(
    good.map((o) => o.cml!),
    { version: settings.ordersVersion, encoding: settings.encoding, now: new Date(now) },
  );
  await finishSession(
    store,
    sessionId,
    {
      status: broken.length > 0 ? 'partial' : 'ok',
      counts: { exported: good.length, failed: broken.length },
      ...(broken.length > 0 ? { error: broken.map((o) => o.problem).join('\n') } : {}),
    },
    runtime.clock.now(),
  );
  return xml;
}

/** `mode=success`: 1C took the orders of this session's query; delivered, and linked to the Ид written. */
export async function confirmOrders(deps: OrdersExportDeps, session: ExchangeSession): Promise<number> {
  const { runtime } = deps;
  const store = runtime.store;
  const owner = ownerOf(session);
  let confirmed = 0;
  for (const route of orderRoutes(deps)) {
    const rows = await store.db
      .selectFrom('outbox')
      .select(['record_id'])
      .where('route', '=', route)
      .where('state', '=', 'in_flight')
      .where('lease_owner', '=', owner)
      .execute();
    if (rows.length === 0) continue;
    // Recomputed the way the query did: the Ид rule (link, else hub id) gives the same answer.
    const orders = await loadOrders(
      deps,
      route,
      rows.map((r) => r.record_id),
    );
    const now = runtime.clock.now();
    await store.tx(async (trx) => {
      const conflicts = await recordDeliveredLinks(
        trx,
        store,
        { entity: 'order', system: deps.system },
        orders.map((o) => ({ recordId: o.recordId, externalId: o.externalId, hash: o.hash })),
        now,
      );
      await linkReferences(trx, deps, orders, now);
      const outcomes: RowOutcome[] = orders.map((o) => {
        const conflict = conflicts.get(o.recordId);
        return conflict
          ? { kind: 'failed', recordId: o.recordId, attempts: 1, error: conflict, errorClass: 'permanent' }
          : { kind: 'delivered', recordId: o.recordId, hash: o.hash, version: o.version };
      });
      await completeRows(trx, route, owner, outcomes, now);
    });
    confirmed += orders.length;
  }
  const sessionId = await startSession(
    store,
    { kind: 'exchange', system: deps.system, name: 'commerceml sale success', owner: runtime.owner },
    runtime.clock.now(),
  );
  await finishSession(
    store,
    sessionId,
    { status: 'ok', counts: { delivered: confirmed } },
    runtime.clock.now(),
  );
  return confirmed;
}

async function linkReferences(trx: Db, deps: OrdersExportDeps, orders: ExportedOrder[], now: number) {
  const byEntity = new Map<string, Map<string, string>>();
  for (const order of orders) {
    for (const ref of order.refs) {
      if (!LINKED_REFS.has(ref.entity) || ref.externalId !== ref.recordId) continue;
      let map = byEntity.get(ref.entity);
      if (!map) {
        map = new Map();
        byEntity.set(ref.entity, map);
      }
      map.set(ref.recordId, ref.externalId);
    }
  }
  for (const [entity, map] of byEntity) {
    await recordDeliveredLinks(
      trx,
      deps.runtime.store,
      { entity, system: deps.system },
      [...map].map(([recordId, externalId]) => ({ recordId, externalId })),
      now,
    );
  }
}

/** Loads claimed orders with their references expressed in 1C Ид. */
async function loadOrders(
  deps: OrdersExportDeps,
  route: string,
  recordIds: string[],
): Promise<ExportedOrder[]> {
  const { runtime, system } = deps;
  const db = runtime.store.db;
  const maxIn = Math.floor(runtime.store.caps.maxParams / 2);
  const out: ExportedOrder[] = [];
  for (const ids of chunk(recordIds, Math.min(maxIn, 1000))) {
    const rows = await db
      .selectFrom('outbox as o')
      .innerJoin('records as r', (join) =>
        join.onRef('r.id', '=', 'o.record_id').on('r.entity', '=', 'order'),
      )
      .select(['o.record_id', 'o.lease_version', 'r.version', 'r.hash', 'r.data'])
      .where('o.route', '=', route)
      .where('o.record_id', 'in', ids)
      .execute();
    const orders = rows.map((row) => ({ row, data: JSON.parse(row.data) as Order }));

    // Every reference, then its 1C Ид through the links of this system.
    const refs = new Map<string, Set<string>>();
    refs.set('order', new Set(orders.map((o) => o.row.record_id)));
    for (const { data } of orders) {
      for (const ref of runtime.registry.refsOf('order', data as unknown as Record<string, unknown>)) {
        let set = refs.get(ref.entity);
        if (!set) {
          set = new Set();
          refs.set(ref.entity, set);
        }
        set.add(ref.id);
      }
    }
    const ids1c = new Map<string, Map<string, string>>();
    for (const [entity, set] of refs) {
      const found = new Map<string, string>();
      for (const part of chunk([...set], maxIn)) {
        const links = await db
          .selectFrom('links')
          .select(['record_id', 'external_id'])
          .where('entity', '=', entity)
          .where('system', '=', system)
          .where('record_id', 'in', part)
          .execute();
        for (const link of links) found.set(link.record_id, link.external_id);
      }
      ids1c.set(entity, found);
    }
    const customers = await loadRecords(
      deps,
      'counterparty',
      orders.map((o) => o.data.customerId),
    );

    for (const { row, data } of orders) {
      const version = row.lease_version ?? row.version;
      const hash =
        version === row.version ? row.hash : await historyHash(deps, row.record_id, version, row.hash);
      const externalId = ids1c.get('order')?.get(row.record_id) ?? row.record_id;
      const usedRefs: ExportedOrder['refs'] = [];
      const mapped = runtime.registry.mapRefs(
        'order',
        data as unknown as Record<string, unknown>,
        (entity, id) => {
          const ext = ids1c.get(entity)?.get(id) ?? id;
          usedRefs.push({ entity, recordId: id, externalId: ext });
          return ext;
        },
      );
      const customer = customers.get(data.customerId);
      const base = { route, recordId: row.record_id, version, hash, externalId, refs: usedRefs };
      if (!customer) {
        out.push({
          ...base,
          cml: undefined,
          problem: `order ${data.number} (${row.record_id}) for ${system}: its counterparty ${data.customerId} has no data in obmen yet; load the counterparty, then retry the order`,
        });
        continue;
      }
      const customerExt = ids1c.get('counterparty')?.get(data.customerId) ?? data.customerId;
      out.push({
        ...base,
        cml: {
          id: externalId,
          order: mapped.data as unknown as Order,
          customer: { id: customerExt, data: customer },
        },
        problem: undefined,
      });
    }
  }
  return out;
}

async function loadRecords(
  deps: OrdersExportDeps,
  entity: string,
  ids: string[],
): Promise<Map<string, Counterparty>> {
  const found = new Map<string, Counterparty>();
  const unique = [...new Set(ids.filter(Boolean))];
  for (const part of chunk(unique, Math.floor(deps.runtime.store.caps.maxParams / 2))) {
    const rows = await deps.runtime.store.db
      .selectFrom('records')
      .select(['id', 'data'])
      .where('entity', '=', entity)
      .where('id', 'in', part)
      .execute();
    for (const row of rows) found.set(row.id, JSON.parse(row.data) as Counterparty);
  }
  return found;
}

async function historyHash(
  deps: OrdersExportDeps,
  id: string,
  version: number,
  fallback: string,
): Promise<string> {
  const row = await deps.runtime.store.db
    .selectFrom('record_history')
    .select('hash')
    .where('entity', '=', 'order')
    .where('id', '=', id)
    .where('version', '=', version)
    .executeTakeFirst();
  return row?.hash ?? fallback;
}
