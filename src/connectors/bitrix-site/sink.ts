import type { RouteConfig } from '../../config/schema.ts';
import type { ConnectorContext, DeliveryItem, ItemOutcome } from '../../core/connector.ts';
import type { Order } from '../../core/entities/index.ts';
import { configError, type ObmenError, permanentError } from '../../core/errors.ts';
import type { ExchangeType } from '../../exchange/commerceml/index.ts';
import { type CanonicalOrderForCml, writeOrdersXml } from '../../formats/commerceml/index.ts';
import {
  buildCatalogPackage,
  CATALOG_ENTITIES,
  type CatalogEntity,
  rememberWritten,
  siteIdOf,
  type WrittenReferences,
} from './catalog-package.ts';
import { SITE_ENTITIES } from './entities.ts';
import { exchangeError, newExchangeClient, type PackageFile, sendPackage } from './exchange.ts';
import type { BitrixSiteSettings } from './spec.ts';
import { buyerName, statusDocuments } from './status-documents.ts';
import { statusForSite } from './statuses.ts';
import { withUnitsInline } from './units.ts';

/**
 * Writes one delivery batch to a site as one exchange package. The protocol answers per file,
 * not per object: `success` makes every item of the package ok; a refused import (`failure`)
 * is narrowed down by halving the package and sending the halves again, so the items the site
 * accepts are delivered and only the ones it refuses are parked, each with the site's message.
 * Re-sending is safe: the site upserts by XML_ID.
 */

export interface SinkDeps {
  ctx: ConnectorContext;
  settings: BitrixSiteSettings;
  written: WrittenReferences;
}

type Build = (items: DeliveryItem[]) => PackageFile[];

async function deliverHalving(
  deps: SinkDeps,
  type: ExchangeType,
  items: DeliveryItem[],
  build: Build,
  onSuccess: (items: DeliveryItem[]) => void,
): Promise<ItemOutcome[]> {
  const system = deps.ctx.systemName;
  try {
    await sendPackage(newExchangeClient(deps.settings, deps.ctx), type, build(items), deps.settings);
    onSuccess(items);
    return items.map((item) => ({ recordId: item.recordId, ok: true, externalId: siteIdOf(item) }));
  } catch (error) {
    const only = items.length === 1 ? items[0] : undefined;
    const what = only
      ? `${only.entity} ${only.recordId} (Ид ${siteIdOf(only)})`
      : `a package of ${items.length} ${items[0]?.entity ?? ''} objects`;
    const failure = exchangeError(error, system, what);
    if (failure.errorClass === 'permanent' && items.length > 1) {
      const half = Math.ceil(items.length / 2);
      return [
        ...(await deliverHalving(deps, type, items.slice(0, half), build, onSuccess)),
        ...(await deliverHalving(deps, type, items.slice(half), build, onSuccess)),
      ];
    }
    return items.map((item) => ({ recordId: item.recordId, ok: false, error: failure }));
  }
}

/** Orders going back to the site must be the site's own: their Ид is the site's order id. */
function orderForSite(item: DeliveryItem, settings: BitrixSiteSettings): CanonicalOrderForCml {
  const order = item.data as unknown as Order;
  const customerId = String(order.customerId);
  const status = statusForSite(settings, order.status);
  return {
    id: siteIdOf(item),
    order: { ...order, status },
    customer: {
      id: customerId,
      data: { name: buyerName(customerId) } as CanonicalOrderForCml['customer']['data'],
    },
    ...(status === undefined ? {} : { requisites: { 'Статуса заказа ИД': status } }),
  };
}

/**
 * A site 1C fed before obmen holds 1C's Ид as XML_ID: new objects take their id in
 * `options.xmlIdFrom` (the mapping's XML_ID, when set, still wins), so the site updates its
 * elements instead of getting a second copy of the catalog.
 */
export async function withXmlIdFrom(
  deps: SinkDeps,
  entity: string,
  items: DeliveryItem[],
): Promise<DeliveryItem[]> {
  const from = deps.settings.xmlIdFrom;
  const store = deps.ctx.store;
  const wanted = items.filter((item) => !item.externalId && item.fields?.['XML_ID'] === undefined);
  if (!from || !store || wanted.length === 0) return items;
  const rows = await store.db
    .selectFrom('links')
    .select(['record_id', 'external_id'])
    .where('entity', '=', entity)
    .where('system', '=', from)
    .where(
      'record_id',
      'in',
      wanted.map((item) => item.recordId),
    )
    .execute();
  const ids = new Map(rows.map((row) => [row.record_id, row.external_id]));
  return items.map((item) => {
    const id = ids.get(item.recordId);
    return id && !item.externalId && item.fields?.['XML_ID'] === undefined
      ? { ...item, fields: { ...item.fields, XML_ID: id } }
      : item;
  });
}

export async function writeToSite(
  deps: SinkDeps,
  route: RouteConfig,
  given: DeliveryItem[],
): Promise<ItemOutcome[]> {
  if (given.length === 0) return [];
  const withIds = await withXmlIdFrom(deps, route.entity, given);
  const items = route.entity === 'product' ? await withUnitsInline(deps.ctx.store, withIds) : withIds;
  const { settings, written } = deps;
  const system = deps.ctx.systemName;
  const entity = route.entity;
  if (entity in CATALOG_ENTITIES) {
    const catalogEntity = entity as CatalogEntity;
    return deliverHalving(
      deps,
      'catalog',
      items,
      (batch) => buildCatalogPackage(catalogEntity, batch, settings, written),
      (batch) => rememberWritten(catalogEntity, batch, written),
    );
  }
  if (entity === 'order') {
    const outcomes = new Map<string, ItemOutcome>();
    const known: DeliveryItem[] = [];
    for (const item of items) {
      if (item.externalId) known.push(item);
      else {
        outcomes.set(item.recordId, {
          recordId: item.recordId,
          ok: false,
          error: permanentError(
            `${system}: order ${item.recordId} did not come from this site, so it has no order id there; only orders pulled from ${system} can have their status sent back`,
            { system, code: 'NOT_A_SITE_ORDER' },
          ),
        });
      }
    }
    const version = settings.ordersVersion;
    const build: Build = (batch) => [
      {
        name: `orders-${Date.now()}.xml`,
        bytes: writeOrdersXml(
          batch.map((item) => orderForSite(item, settings)),
          { version, encoding: settings.encoding },
        ),
      },
    ];
    if (known.length > 0) {
      for (const outcome of await deliverHalving(deps, 'sale', known, build, () => {}))
        outcomes.set(outcome.recordId, outcome);
    }
    return items.map((item) => outcomes.get(item.recordId)!);
  }
  if (entity === 'order_status') return writeStatuses(deps, items);
  const error: ObmenError = configError(
    `${system}: a 1C-Bitrix site takes ${SITE_ENTITIES.join(', ')} through the 1C exchange, not ${entity}; remove or retarget route ${route.name}`,
    { system, code: 'UNSUPPORTED_ENTITY' },
  );
  return items.map((item) => ({ recordId: item.recordId, ok: false, error }));
}

/**
 * order_status → the site: each order's state goes as that order's document (status-documents.ts),
 * one exchange per batch; the site marks what 1C changed (UPDATED_1C) and does not offer it back.
 */
async function writeStatuses(deps: SinkDeps, items: DeliveryItem[]): Promise<ItemOutcome[]> {
  const { settings } = deps;
  const found = await statusDocuments(deps.ctx.store, deps.ctx.systemName, settings, items);
  const outcomes = new Map<string, ItemOutcome>();
  const sendable: DeliveryItem[] = [];
  for (const item of items) {
    const doc = found.get(item.recordId);
    if (doc && 'entry' in doc) sendable.push(item);
    else if (doc) outcomes.set(item.recordId, { recordId: item.recordId, ok: false, error: doc.error });
  }
  const entryOf = (item: DeliveryItem) => (found.get(item.recordId) as { entry: CanonicalOrderForCml }).entry;
  const build: Build = (batch) => [
    {
      name: `orders-${Date.now()}.xml`,
      bytes: writeOrdersXml(batch.map(entryOf), {
        version: settings.ordersVersion,
        encoding: settings.encoding,
      }),
    },
  ];
  if (sendable.length > 0) {
    for (const outcome of await deliverHalving(deps, 'sale', sendable, build, () => {}))
      outcomes.set(outcome.recordId, outcome);
  }
  return items.map((item) => outcomes.get(item.recordId)!);
}
