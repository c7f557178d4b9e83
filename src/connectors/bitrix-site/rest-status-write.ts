import type { RouteConfig } from '../../config/schema.ts';
import type { DeliveryItem, ItemOutcome } from '../../core/connector.ts';
import type { Order, OrderStatus } from '../../core/entities/index.ts';
import { classify, ObmenError, permanentError } from '../../core/errors.ts';
import { type BatchCommand, MAX_BATCH } from '../bitrix24/client.ts';
import type { SiteRest } from './rest-client.ts';
import { statusIdFor } from './rest-status.ts';
import { type StatusTables, statusForSite } from './statuses.ts';

/**
 * Sends the hub's state of site orders back through the site's REST — an `order` route's orders
 * or an `order_status` route's states of them (1C's, whose `orderId` delivery resolved to the
 * site's order id) alike: the status
 * (`sale.order.update` `statusId`), cancellation (`canceled`), payment (`sale.payment.update`
 * `paid`) and shipment (`sale.shipment.update` `deducted`). Per batch of orders: one `batch` of
 * `sale.order.get` to see what the site holds, then one `batch` (per 50 commands) with only
 * what differs, so an order the site already agrees with costs no write at all. Like 1C's
 * exchange, payment, shipment and cancellation only move forward (obmen never un-pays an order),
 * and the last write of each order sets `updated1c=Y`, so the REST orders pull does not read
 * obmen's own change back.
 *
 * The hub's status goes through the same table as on the exchange path (statuses.ts: `paid` →
 * P, `shipped` → F, `cancelled` leaves the status to the flag), then is checked against the
 * site's order statuses before anything is sent: the sale
 * module itself does not check a status id on update, so a wrong one would be stored silently.
 * Everything else the site refuses is parked with the site's own message.
 */

type Row = Record<string, unknown>;

const yes = (value: unknown) => value === 'Y' || value === true;

/** The same error, saying which order it is about. */
function aboutOrder(error: ObmenError, system: string, what: string): ObmenError {
  const message = error.message.startsWith(`${system}: `)
    ? `${system}: ${what}: ${error.message.slice(system.length + 2)}`
    : `${system}: ${what}: ${error.message}`;
  return new ObmenError(error.errorClass, message, {
    system,
    ...(error.code === undefined ? {} : { code: error.code }),
    ...(error.retryAfterMs === undefined ? {} : { retryAfterMs: error.retryAfterMs }),
    cause: error,
  });
}

interface Wanted {
  item: DeliveryItem;
  siteId: number;
  statusId: string | undefined;
}

/** The status the item asks for: the mapping's `statusId` wins over the canonical `status`. */
function requestedStatus(item: DeliveryItem, tables: StatusTables): string | undefined {
  const mapped = item.fields?.['statusId'];
  if (typeof mapped === 'string' && mapped.trim() !== '') return mapped;
  const status = (item.data as Partial<Order>).status;
  return typeof status === 'string' && status.trim() !== '' ? statusForSite(tables, status) : undefined;
}

/** The site's order id: an order's own link there, or the order an order_status is of. */
function siteOrderId(item: DeliveryItem): string | undefined {
  if (item.entity === 'order_status') {
    const orderId = (item.data as Partial<OrderStatus>).orderId;
    return orderId === undefined ? undefined : String(orderId);
  }
  return item.externalId;
}

/** The writes that bring the site's order to the hub's state, in the order they must run. */
function commandsFor(wanted: Wanted, order: Row): BatchCommand[] {
  const data = wanted.item.data as Partial<Order>;
  const key = (n: number) => `r${wanted.item.recordId}_${n}`;
  const commands: BatchCommand[] = [];
  if (data.paid === true && !yes(order['payed'])) {
    for (const payment of (order['payments'] as Row[] | undefined) ?? []) {
      if (yes(payment['paid'])) continue;
      commands.push({
        key: key(commands.length),
        method: 'sale.payment.update',
        params: { id: payment['id'], fields: { paid: 'Y' } },
      });
    }
  }
  if (data.shipped === true && !yes(order['deducted'])) {
    for (const shipment of (order['shipments'] as Row[] | undefined) ?? []) {
      if (yes(shipment['deducted']) || yes(shipment['system'])) continue;
      commands.push({
        key: key(commands.length),
        method: 'sale.shipment.update',
        params: { id: shipment['id'], fields: { deducted: 'Y' } },
      });
    }
  }
  const fields: Record<string, string> = {};
  if (wanted.statusId !== undefined && wanted.statusId !== order['statusId'])
    fields['statusId'] = wanted.statusId;
  if (data.cancelled === true && !yes(order['canceled'])) fields['canceled'] = 'Y';
  if (commands.length > 0 || Object.keys(fields).length > 0) {
    commands.push({
      key: key(commands.length),
      method: 'sale.order.update',
      params: { id: wanted.siteId, fields: { ...fields, updated1c: 'Y' } },
    });
  }
  return commands;
}

export async function writeStatusesRest(
  deps: SiteRest,
  route: RouteConfig,
  items: DeliveryItem[],
): Promise<ItemOutcome[]> {
  const system = deps.ctx.systemName;
  const outcomes = new Map<string, ItemOutcome>();
  const fail = (item: DeliveryItem, error: ObmenError) =>
    outcomes.set(item.recordId, { recordId: item.recordId, ok: false, error });
  const label = (item: DeliveryItem) => {
    const siteId = siteOrderId(item);
    return siteId
      ? `${item.entity} ${item.recordId} (site order ${siteId})`
      : `${item.entity} ${item.recordId}`;
  };

  const wanted: Wanted[] = [];
  const needStatuses = items.some(
    (item) => siteOrderId(item) && requestedStatus(item, deps.tables) !== undefined,
  );
  const directory = needStatuses ? await deps.statuses.get() : undefined;
  for (const item of items) {
    const siteId = siteOrderId(item);
    if (!siteId || !/^\d+$/.test(siteId)) {
      fail(
        item,
        permanentError(
          `${system}: ${label(item)} did not come from this site, so it has no order id there; only orders pulled from ${system} can have their status sent back`,
          { system, code: 'NOT_A_SITE_ORDER' },
        ),
      );
      continue;
    }
    const requested = requestedStatus(item, deps.tables);
    let statusId: string | undefined;
    if (requested !== undefined && directory) {
      const resolved = statusIdFor(requested, directory);
      if ('problem' in resolved) {
        fail(
          item,
          permanentError(
            `${system}: ${label(item)}: ${resolved.problem}; map the hub's status to one of them with the field statusId in the mapping of route ${route.name}`,
            { system, code: 'UNKNOWN_STATUS' },
          ),
        );
        continue;
      }
      statusId = resolved.id;
    }
    wanted.push({ item, siteId: Number(siteId), statusId });
  }

  // What the site holds now.
  const current = new Map<string, Row>();
  if (wanted.length > 0) {
    try {
      const got = await deps.client.batchAll(
        wanted.map((w) => ({
          key: `g${w.item.recordId}`,
          method: 'sale.order.get',
          params: { id: w.siteId },
        })),
      );
      for (const w of wanted) {
        const outcome = got.get(`g${w.item.recordId}`);
        const order = outcome?.ok ? (outcome.result as { order?: Row } | undefined)?.order : undefined;
        if (order) current.set(w.item.recordId, order);
        else if (outcome && !outcome.ok) fail(w.item, aboutOrder(outcome.error, system, label(w.item)));
        else
          fail(
            w.item,
            permanentError(`${system}: ${label(w.item)}: sale.order.get answered without an order`, {
              system,
            }),
          );
      }
    } catch (error) {
      for (const w of wanted) fail(w.item, aboutOrder(classify(error, system), system, label(w.item)));
    }
  }

  // Only what differs, each order's writes together and in order.
  const pending = new Map<string, { item: DeliveryItem; keys: string[]; siteId: number }>();
  const commands: BatchCommand[] = [];
  for (const w of wanted) {
    const order = current.get(w.item.recordId);
    if (!order) continue;
    const own = commandsFor(w, order);
    if (own.length === 0) {
      outcomes.set(w.item.recordId, { recordId: w.item.recordId, ok: true, externalId: String(w.siteId) });
      continue;
    }
    pending.set(w.item.recordId, { item: w.item, keys: own.map((c) => c.key), siteId: w.siteId });
    commands.push(...own);
  }
  const results = new Map<string, { ok: true } | { ok: false; error: ObmenError }>();
  for (let at = 0; at < commands.length; at += MAX_BATCH) {
    const chunk = commands.slice(at, at + MAX_BATCH);
    try {
      for (const [key, outcome] of await deps.client.batch(chunk))
        results.set(key, outcome.ok ? { ok: true } : { ok: false, error: outcome.error });
    } catch (error) {
      const failure = classify(error, system);
      for (const c of commands.slice(at)) results.set(c.key, { ok: false, error: failure });
      break;
    }
  }
  for (const { item, keys, siteId } of pending.values()) {
    const failed = keys.map((k) => results.get(k)).find((r) => r && !r.ok);
    if (failed && !failed.ok) fail(item, aboutOrder(failed.error, system, label(item)));
    else outcomes.set(item.recordId, { recordId: item.recordId, ok: true, externalId: String(siteId) });
  }
  return items.map((item) => outcomes.get(item.recordId)!);
}
