import type { RouteConfig } from '../../config/schema.ts';
import type { DeliveryItem, ItemOutcome } from '../../core/connector.ts';
import { permanentError } from '../../core/errors.ts';
import type { CatalogContext } from '../bitrix24/resources/common.ts';
import { catalogIblock } from '../bitrix24/resources/iblock.ts';
import { writePrices, writePriceTypes } from '../bitrix24/resources/price.ts';
import { writeProducts } from '../bitrix24/resources/product.ts';
import { writeStock, writeWarehouses } from '../bitrix24/resources/stock.ts';
import { VatRates } from '../bitrix24/resources/vat.ts';
import { type CatalogEntity, rememberWritten, siteIdOf } from './catalog-package.ts';
import type { SiteRest } from './rest-client.ts';
import { type SinkDeps, withXmlIdFrom, writeToSite } from './sink.ts';

/**
 * `options.rest.catalog`: the catalog goes to the site with catalog.* instead of the CommerceML
 * feed. A site's catalog module is Bitrix24's, so the Bitrix24 writers do the work
 * (bitrix24/resources: product, price, stock) over the site's client. What differs is the id:
 * the site keeps its objects by XML_ID, the Ид its feed and its orders (productXmlId) use, so
 * obmen's links to a site stay XML_IDs whichever way the catalog travels and a site can switch
 * between the feed and REST without a second copy of anything. The writers get the XML_ID as
 * xmlId, prices and stock get the numeric ids looked up by XML_ID, and outcomes give the XML_ID
 * back, and a good goes into the section of its group (catalog.section.list by XML_ID). Product
 * groups and variants (trade offers, `product#characteristic`, in the offers iblock) keep going
 * through the feed.
 */

/** What options.rest.catalog moves to catalog.*. */
export const REST_CATALOG_ENTITIES: readonly string[] = [
  'product',
  'price',
  'price_type',
  'stock',
  'warehouse',
];

/** A catalog context over the site's client; the iblock and VAT rates are looked up once per connector. */
export function siteCatalogContext(site: Omit<SiteRest, 'catalog'>): CatalogContext {
  const { client, rest } = site;
  const system = site.ctx.systemName;
  return {
    client,
    system,
    options: {
      legacyProducts: false,
      productCode: 'none',
      currency: rest.currency,
      defaultStoreId: rest.defaultStoreId,
      responsibleId: rest.webhookUser,
      idField: 'XML_ID',
    },
    vatRates: new VatRates(client, "the site's shop settings (Магазин → Настройки → Ставки НДС)"),
    iblockId: catalogIblock(client, system, rest.iblockId, `systems.${system}.options.rest.iblockId`),
  };
}

/** A variant, or a price or stock of one: a trade offer, which only the feed writes. */
function viaFeed(item: DeliveryItem): boolean {
  if (item.entity === 'product') return typeof item.data['parentProductId'] === 'string';
  if (item.entity === 'price' || item.entity === 'stock') return String(item.data['productId']).includes('#');
  return false;
}

/** The item as the Bitrix24 writers take it: no link (a site's link is an XML_ID, not an id), no XML_ID field. */
function forWriter(item: DeliveryItem, data = item.data): DeliveryItem {
  const { XML_ID: _xml, ...fields } = item.fields ?? {};
  return { ...item, externalId: undefined, data, ...(item.fields ? { fields } : {}) };
}

/** A good placed in the site's section: what the feed's `Группы` does, as a default field. */
export function inSection(item: DeliveryItem, sectionId: number | undefined): DeliveryItem {
  if (sectionId === undefined || item.withoutDefaults || item.fields?.['iblockSectionId'] !== undefined)
    return item;
  return { ...item, fields: { iblockSectionId: sectionId, ...item.fields } };
}

/** Goods with their group's section (groupId is the section's XML_ID on the site), one list call per batch. */
async function placed(ctx: CatalogContext, items: DeliveryItem[]): Promise<DeliveryItem[]> {
  const groups = [
    ...new Set(items.map((item) => item.data['groupId']).filter((g): g is string => typeof g === 'string')),
  ];
  if (groups.length === 0) return items;
  const iblockId = await ctx.iblockId();
  const sections = await idsByXmlId(ctx, 'catalog.section.list', 'sections', {
    select: ['id', 'xmlId'],
    filter: { iblockId, xmlId: groups },
  });
  return items.map((item) => inSection(item, sections.get(String(item.data['groupId']))));
}

/** Numeric ids of the site's objects by XML_ID, read with one list call. */
async function idsByXmlId(
  ctx: CatalogContext,
  method: string,
  key: string,
  params: Record<string, unknown>,
): Promise<Map<string, number>> {
  const rows = await ctx.client.listAll(
    method,
    params,
    (r) => ((r as Record<string, unknown> | undefined)?.[key] ?? []) as Array<{ id: number; xmlId: unknown }>,
  );
  return new Map(rows.map((row) => [String(row.xmlId), Number(row.id)]));
}

async function productIds(ctx: CatalogContext, items: DeliveryItem[]): Promise<Map<string, number>> {
  const xmlIds = [...new Set(items.map((item) => String(item.data['productId'])))];
  if (xmlIds.length === 0) return new Map();
  const iblockId = await ctx.iblockId();
  return idsByXmlId(ctx, 'catalog.product.list', 'products', {
    select: ['id', 'iblockId', 'xmlId'],
    filter: { iblockId, xmlId: xmlIds },
  });
}

function missing(ctx: CatalogContext, item: DeliveryItem, what: string, method: string): ItemOutcome {
  return {
    recordId: item.recordId,
    ok: false,
    error: permanentError(
      `${ctx.system}: ${item.entity} ${item.recordId}: the site has no ${what} (${method}); it was delivered before, so it was deleted or its XML_ID changed on the site — restore it there, or replay it (obmen replay), then retry this ${item.entity}`,
      { system: ctx.system, code: 'NOT_ON_SITE' },
    ),
  };
}

/**
 * Prices and stock name the product (and price type, warehouse) by the site's XML_ID; the
 * writers want the numeric ids. Items whose object the site lacks are parked here.
 */
async function withNumericIds(
  ctx: CatalogContext,
  entity: 'price' | 'stock',
  items: DeliveryItem[],
  outcomes: Map<string, ItemOutcome>,
): Promise<DeliveryItem[]> {
  const products = await productIds(ctx, items);
  const other =
    entity === 'price'
      ? await idsByXmlId(ctx, 'catalog.priceType.list', 'priceTypes', { select: ['id', 'xmlId'] })
      : await idsByXmlId(ctx, 'catalog.store.list', 'stores', { select: ['id', 'xmlId'] });
  const ready: DeliveryItem[] = [];
  for (const item of items) {
    const product = products.get(String(item.data['productId']));
    if (product === undefined) {
      outcomes.set(
        item.recordId,
        missing(ctx, item, `product with XML_ID "${String(item.data['productId'])}"`, 'catalog.product.list'),
      );
      continue;
    }
    const data: Record<string, unknown> = { ...item.data, productId: product };
    const refKey = entity === 'price' ? 'priceTypeId' : 'warehouseId';
    const ref = item.data[refKey];
    if (ref !== undefined && ref !== null) {
      const id = other.get(String(ref));
      if (id === undefined) {
        const what = entity === 'price' ? 'price type' : 'store';
        const method = entity === 'price' ? 'catalog.priceType.list' : 'catalog.store.list';
        outcomes.set(item.recordId, missing(ctx, item, `${what} with XML_ID "${String(ref)}"`, method));
        continue;
      }
      data[refKey] = id;
    }
    ready.push(forWriter(item, data));
  }
  return ready;
}

/** One delivery batch of a catalog entity to the site's REST; every item gets its outcome, in order. */
export async function writeCatalogRest(
  deps: SinkDeps & { catalog: CatalogContext },
  route: RouteConfig,
  given: DeliveryItem[],
): Promise<ItemOutcome[]> {
  if (given.length === 0) return [];
  const entity = route.entity as CatalogEntity;
  const outcomes = new Map<string, ItemOutcome>();
  // The feed's sink gives its items their XML_IDs itself (withXmlIdFrom); only REST's need them here.
  const feed = given.filter(viaFeed);
  if (feed.length > 0) for (const o of await writeToSite(deps, route, feed)) outcomes.set(o.recordId, o);
  const rest = await withXmlIdFrom(
    deps,
    entity,
    given.filter((item) => !viaFeed(item)),
  );
  // The site's id of each item, taken before the writers see the item without its link.
  const siteIds = new Map(rest.map((item) => [item.recordId, siteIdOf(item)]));
  const ctx: CatalogContext = { ...deps.catalog, xmlIdOf: (item) => siteIds.get(item.recordId)! };
  let written: ItemOutcome[] = [];
  if (rest.length > 0) {
    switch (entity) {
      case 'product':
        written = await writeProducts(
          ctx,
          await placed(
            ctx,
            rest.map((item) => forWriter(item)),
          ),
        );
        break;
      case 'price_type':
        written = await writePriceTypes(
          ctx,
          rest.map((item) => forWriter(item)),
        );
        break;
      case 'warehouse':
        written = await writeWarehouses(
          ctx,
          rest.map((item) => forWriter(item)),
        );
        break;
      case 'price':
        written = await writePrices(ctx, await withNumericIds(ctx, 'price', rest, outcomes));
        break;
      case 'stock':
        written = await writeStock(ctx, await withNumericIds(ctx, 'stock', rest, outcomes));
        break;
      default:
        throw new Error(`${entity} is not a REST catalog entity`);
    }
  }
  for (const outcome of written)
    outcomes.set(
      outcome.recordId,
      outcome.ok ? { ...outcome, externalId: siteIds.get(outcome.recordId)! } : outcome,
    );
  // A price or stock sent through the feed later names its price type or warehouse in the same file.
  if (entity === 'price_type' || entity === 'warehouse')
    rememberWritten(
      entity,
      rest.filter((item) => outcomes.get(item.recordId)?.ok),
      deps.written,
    );
  return given.map((item) => outcomes.get(item.recordId)!);
}
