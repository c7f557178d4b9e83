import type { DeliveryItem } from '../../core/connector.ts';
import type { Order, OrderStatus } from '../../core/entities/index.ts';
import { configError, type ObmenError, permanentError } from '../../core/errors.ts';
import type { CanonicalOrderForCml } from '../../formats/commerceml/index.ts';
import type { Store } from '../../store/store.ts';
import type { BitrixSiteSettings } from './spec.ts';
import { statusForSite } from './statuses.ts';

/**
 * An order's state from the system that fulfils it (order_status), as a document for the site
 * the order came from — written the way 1C writes it to `type=sale` (file + import): the
 * order's Ид and number, its lines (Bitrix's loader drops basket items a document leaves out,
 * so the lines must be there), «Статуса заказа ИД», paid, shipped, cancelled.
 *
 * The status record carries only the site's order id (delivery resolved `orderId` through the
 * order's link); the order's content comes from the hub, with its goods and buyer in the site's
 * ids through the same links. A site that pulled the order has all of them.
 */

type Found = { entry: CanonicalOrderForCml } | { error: ObmenError };

/** `Ид#login#Name` (Bitrix's buyer Ид) → the name part, else the login, else the Ид. */
export function buyerName(id: string): string {
  const parts = id.split('#').map((part) => part.trim());
  return parts[2] || parts[1] || id;
}

export async function statusDocuments(
  store: Store | undefined,
  system: string,
  settings: BitrixSiteSettings,
  items: DeliveryItem[],
): Promise<Map<string, Found>> {
  const found = new Map<string, Found>();
  if (!store) {
    const error = configError(
      `${system}: order statuses are sent with the order's lines, which come from the hub; this connector was created without the hub store`,
      { system },
    );
    for (const item of items) found.set(item.recordId, { error });
    return found;
  }
  const siteIds = [...new Set(items.map((item) => String(item.data['orderId'])))];
  const orderLinks = await store.db
    .selectFrom('links')
    .innerJoin('records', (join) =>
      join.onRef('records.id', '=', 'links.record_id').onRef('records.entity', '=', 'links.entity'),
    )
    .select(['links.external_id', 'records.data'])
    .where('links.entity', '=', 'order')
    .where('links.system', '=', system)
    .where('links.external_id', 'in', siteIds)
    .execute();
  const orders = new Map(orderLinks.map((row) => [row.external_id, JSON.parse(row.data) as Order]));

  // The site's ids of the goods and buyers of those orders.
  const siteIdsOf = async (entity: string, hubIds: string[]) => {
    if (hubIds.length === 0) return new Map<string, string>();
    const rows = await store.db
      .selectFrom('links')
      .select(['record_id', 'external_id'])
      .where('entity', '=', entity)
      .where('system', '=', system)
      .where('record_id', 'in', [...new Set(hubIds)])
      .execute();
    return new Map(rows.map((row) => [row.record_id, row.external_id]));
  };
  const all = [...orders.values()];
  const products = await siteIdsOf(
    'product',
    all.flatMap((order) => order.lines.map((line) => line.productId)),
  );
  const buyers = await siteIdsOf(
    'counterparty',
    all.map((order) => order.customerId),
  );

  for (const item of items) {
    const state = item.data as unknown as OrderStatus;
    const siteId = String(state.orderId);
    const order = orders.get(siteId);
    const fail = (what: string) =>
      found.set(item.recordId, {
        error: permanentError(`${system}: order_status ${item.recordId} (site order ${siteId}): ${what}`, {
          system,
          code: 'ORDER_NOT_ON_SITE',
        }),
      });
    if (!order) {
      fail('the hub holds no order with this site id, so its lines are unknown');
      continue;
    }
    const lines = order.lines.map((line) => ({ ...line, productId: products.get(line.productId) ?? '' }));
    const missing = order.lines.filter((line) => !products.has(line.productId));
    if (missing.length > 0) {
      fail(`goods ${missing.map((line) => line.productId).join(', ')} have no id on the site`);
      continue;
    }
    const buyer = buyers.get(order.customerId) ?? order.customerId;
    const status = statusForSite(settings, state.status);
    found.set(item.recordId, {
      entry: {
        id: siteId,
        order: {
          ...order,
          customerId: buyer,
          lines,
          ...(status === undefined ? {} : { status }),
          paid: state.paid,
          shipped: state.shipped,
          cancelled: state.cancelled,
          ...(state.paymentDate ? { paymentDate: state.paymentDate } : {}),
          ...(state.paymentNumber ? { paymentNumber: state.paymentNumber } : {}),
          ...(state.shipmentDate ? { shipmentDate: state.shipmentDate } : {}),
          ...(state.shipmentNumber ? { shipmentNumber: state.shipmentNumber } : {}),
        },
        customer: {
          id: buyer,
          data: { name: buyerName(buyer) } as CanonicalOrderForCml['customer']['data'],
        },
        // What 1C writes and Bitrix reads (1C_CHANGE_STATUS_FROM_1C): the status id itself.
        ...(status === undefined ? {} : { requisites: { 'Статуса заказа ИД': status } }),
        ...(state.changedAt ? { statusChangedAt: state.changedAt } : {}),
      },
    });
  }
  return found;
}
