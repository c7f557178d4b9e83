import type { DeliveryItem } from '../../core/connector.ts';
import type {
  Price,
  PriceType,
  Product,
  ProductGroup,
  Property,
  Stock,
  Warehouse,
} from '../../core/entities/index.ts';
import { type CatalogXmlInput, type CmlRecord, writeCatalogXml } from '../../formats/commerceml/index.ts';
import type { PackageFile } from './exchange.ts';
import type { BitrixSiteSettings } from './spec.ts';

/**
 * Turns one delivery batch of a catalog entity into the CommerceML package 1C would send: the
 * classifier entities (groups, properties) and goods go in import.xml, price types,
 * warehouses, prices and stock in offers.xml. Packages are partial (`СодержитТолькоИзменения=true`): a batch is never the whole
 * catalog, and a full import would make Bitrix delete (ELEMENT_ACTION=D) everything else.
 */

/** Catalog entities the sink writes, and which file carries them. */
export const CATALOG_ENTITIES = {
  product_group: 'import',
  // Классификатор/Свойства: Bitrix makes them iblock properties (XML_ID = Ид, a dictionary a
  // list with its values), and a product's ЗначенияСвойств refer to them by that Ид.
  property: 'import',
  product: 'import',
  price_type: 'offers',
  warehouse: 'offers',
  price: 'offers',
  stock: 'offers',
} as const;

export type CatalogEntity = keyof typeof CATALOG_ENTITIES;

/**
 * Price types, warehouses and groups this connector wrote, by their Ид on the site. Bitrix maps
 * prices and per-warehouse stock through the ТипыЦен/Склады of the same offers file, and a
 * group's parent must be in the file to keep the hierarchy, so later packages repeat them.
 */
export interface WrittenReferences {
  priceTypes: Map<string, PriceType>;
  warehouses: Map<string, Warehouse>;
  groups: Map<string, ProductGroup>;
}

export const newWrittenReferences = (): WrittenReferences => ({
  priceTypes: new Map(),
  warehouses: new Map(),
  groups: new Map(),
});

/** The Ид an item has (or gets) on the site: the known link, a mapped XML_ID, else the hub id. */
export function siteIdOf(item: DeliveryItem): string {
  const mapped = item.fields?.['XML_ID'];
  const base = item.externalId ?? (typeof mapped === 'string' && mapped !== '' ? mapped : item.recordId);
  if (item.entity === 'product') {
    const parent = item.data['parentProductId'];
    // A variant is the offer `product#characteristic` on the site (Bitrix ties it to its product so).
    if (typeof parent === 'string' && !base.includes('#')) return `${parent}#${base}`;
  }
  // An order's state goes to the site's order itself (delivery resolved its id there).
  if (item.entity === 'order_status') return String(item.data['orderId']);
  if (item.entity === 'price') return `${item.data['productId']}|${item.data['priceTypeId']}`;
  if (item.entity === 'stock') return `${item.data['productId']}|${item.data['warehouseId'] ?? '*'}`;
  return base;
}

/**
 * Canonical data with the route mapping's fields merged over it (XML_ID is an id, not a field);
 * with `extends: none` (item.withoutDefaults) the mapping's fields alone, plus the deletion.
 */
function dataOf<T>(item: DeliveryItem): T {
  const { XML_ID: _id, ...fields } = item.fields ?? {};
  const base = item.withoutDefaults ? {} : item.data;
  return { ...base, ...(item.deleted ? { deleted: true } : {}), ...fields } as T;
}

function withAncestors(
  groups: CmlRecord<ProductGroup>[],
  written: Map<string, ProductGroup>,
): CmlRecord<ProductGroup>[] {
  const out = new Map(groups.map((g) => [g.id, g]));
  for (const group of groups) {
    let parent = group.data.parentId;
    while (parent !== undefined && !out.has(parent)) {
      const known = written.get(parent);
      if (!known) break;
      out.set(parent, { id: parent, data: known });
      parent = known.parentId;
    }
  }
  return [...out.values()];
}

export function buildCatalogPackage(
  entity: CatalogEntity,
  items: DeliveryItem[],
  settings: BitrixSiteSettings,
  written: WrittenReferences,
): PackageFile[] {
  const input: CatalogXmlInput = {
    groups: [],
    properties: [],
    priceTypes: [],
    warehouses: [],
    products: [],
    prices: [],
    stock: [],
    onlyChanges: true,
    catalogId: settings.catalogId,
    classifierId: settings.classifierId,
    name: settings.catalogName,
  };
  const records = items.map((item) => ({ id: siteIdOf(item), item }));
  switch (entity) {
    case 'product_group':
      input.groups = withAncestors(
        records.map(({ id, item }) => ({ id, data: dataOf<ProductGroup>(item) })),
        written.groups,
      );
      break;
    case 'property':
      input.properties = records.map(({ id, item }) => ({ id, data: dataOf<Property>(item) }));
      break;
    case 'product':
      input.products = records.map(({ id, item }) => ({ id, data: dataOf<Product>(item) }));
      break;
    case 'price_type':
      input.priceTypes = records.map(({ id, item }) => ({ id, data: dataOf<PriceType>(item) }));
      break;
    case 'warehouse':
      input.warehouses = records.map(({ id, item }) => ({ id, data: dataOf<Warehouse>(item) }));
      break;
    case 'price': {
      input.prices = records.map(({ id, item }) => ({ id, data: dataOf<Price>(item) }));
      const used = new Set(input.prices.map((p) => p.data.priceTypeId));
      input.priceTypes = [...written.priceTypes]
        .filter(([id]) => used.has(id))
        .map(([id, data]) => ({ id, data }));
      break;
    }
    case 'stock': {
      input.stock = records.map(({ id, item }) => ({ id, data: dataOf<Stock>(item) }));
      const used = new Set(input.stock.map((s) => s.data.warehouseId));
      input.warehouses = [...written.warehouses]
        .filter(([id]) => used.has(id))
        .map(([id, data]) => ({ id, data }));
      break;
    }
  }
  const { importXml, offersXml } = writeCatalogXml(input, {
    version: settings.version,
    encoding: settings.encoding,
  });
  const importFile = { name: 'import.xml', bytes: importXml };
  const offersFile = { name: 'offers.xml', bytes: offersXml };
  // 3.1 keeps price types and warehouses in the classifier (import.xml), 2.x in the offers package.
  const inImport =
    CATALOG_ENTITIES[entity] === 'import' ||
    (settings.version === '3.1' && (entity === 'price_type' || entity === 'warehouse'));
  if (!inImport) return [offersFile];
  // Variants travel as offers (`product#characteristic`) in offers.xml, after the goods.
  const variants = input.products.some((p) => p.data.parentProductId !== undefined);
  return variants ? [importFile, offersFile] : [importFile];
}

/** Remembers what a successful package wrote, for the packages after it. */
export function rememberWritten(
  entity: CatalogEntity,
  items: DeliveryItem[],
  written: WrittenReferences,
): void {
  for (const item of items) {
    const id = siteIdOf(item);
    if (entity === 'price_type') written.priceTypes.set(id, dataOf<PriceType>(item));
    if (entity === 'warehouse') written.warehouses.set(id, dataOf<Warehouse>(item));
    if (entity === 'product_group') written.groups.set(id, dataOf<ProductGroup>(item));
  }
}
