import type { RouteConfig } from '../../config/schema.ts';
import type { DeliveryItem, ItemOutcome } from '../../core/connector.ts';
import { configError } from '../../core/errors.ts';
import { failed, type ResourceContext } from './resources/common.ts';
import { companyWrite } from './resources/company.ts';
import { contactWrite } from './resources/contact.ts';
import { writeDealStages, writeDeals } from './resources/deal.ts';
import { writeParties } from './resources/party.ts';
import { writePrices, writePriceTypes } from './resources/price.ts';
import { writeProducts } from './resources/product.ts';
import { writeStock, writeWarehouses } from './resources/stock.ts';

export const WRITABLE_ENTITIES = [
  'counterparty',
  'contact',
  'order',
  'order_status',
  'product',
  'price',
  'price_type',
  'stock',
  'warehouse',
];

/**
 * Writes one route batch; every item gets its own outcome, in input order. Counterparties
 * become companies or contacts (kind "person"); their external ids carry the type
 * ("company:12", "contact:7") because deals refer to either.
 */
export async function writeBatch(
  ctx: ResourceContext,
  route: RouteConfig,
  items: DeliveryItem[],
): Promise<ItemOutcome[]> {
  if (items.length === 0) return [];
  switch (route.entity) {
    case 'counterparty': {
      const people = items.filter((i) => i.data['kind'] === 'person' || i.externalId?.startsWith('contact:'));
      const companies = items.filter((i) => !people.includes(i));
      const out = new Map<string, ItemOutcome>();
      if (companies.length > 0) {
        const writes = companies.map((i) => companyWrite(ctx, i));
        for (const o of await writeParties(ctx, 'company', writes, (id) => `company:${id}`))
          out.set(o.recordId, o);
      }
      if (people.length > 0) {
        const writes = people.map((i) => contactWrite(ctx, i));
        for (const o of await writeParties(ctx, 'contact', writes, (id) => `contact:${id}`))
          out.set(o.recordId, o);
      }
      return items.map((i) => out.get(i.recordId)!);
    }
    case 'contact':
      return writeParties(
        ctx,
        'contact',
        items.map((i) => contactWrite(ctx, i)),
        (id) => id,
      );
    case 'order':
      return writeDeals(ctx, items);
    case 'order_status':
      return writeDealStages(ctx, items);
    case 'product':
      return writeProducts(ctx, items);
    case 'price':
      return writePrices(ctx, items);
    case 'price_type':
      return writePriceTypes(ctx, items);
    case 'stock':
      return writeStock(ctx, items);
    case 'warehouse':
      return writeWarehouses(ctx, items);
    default: {
      const error = configError(
        `${ctx.system}: route ${route.name} delivers "${route.entity}", which the bitrix24 connector cannot write; it writes ${WRITABLE_ENTITIES.join(', ')}`,
        { system: ctx.system },
      );
      return items.map((i) => failed(i, error));
    }
  }
}
