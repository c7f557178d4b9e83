import {
  type CatalogInfo,
  type CatalogMethod,
  type CatalogStore,
  type CatalogTable,
  catalogMethods,
  seedVat,
} from '../bitrix24/catalog.ts';
import type { Row } from '../bitrix24/state.ts';
import { siteDate } from './rest-sale.ts';
import type { SiteProduct, SiteState } from './state.ts';

/**
 * The site's catalog.* over ITS shop: the methods are the Bitrix24 emulator's
 * (emulators/bitrix24/catalog.ts), the tables they see are views of what the feed fills
 * (state.ts: elements, price types, stores and offers kept by XML_ID), so a product written
 * over REST is the element the feed wrote, and the other way round. Numeric ids come from the
 * shop's `NumericIds`, the ones sale.* shows for basket products too. VAT rates and store
 * documents exist only on the REST side, as plain tables.
 */

/** The goods iblock ("Каталог товаров", type catalog) and the offers iblock (its SKU). */
export const SITE_CATALOG: CatalogInfo = { iblockId: 2, name: 'Каталог товаров' };
export const SITE_OFFERS_IBLOCK_ID = 3;

/** Product row fields the shop keeps in its own shape; any other field goes to SiteProduct.fields. */
const OWN_FIELDS = new Set([
  'id',
  'iblockId',
  'xmlId',
  'name',
  'active',
  'detailText',
  'iblockSectionId',
  'type',
  'available',
  'quantity',
  'timestampX',
]);

const table = (impl: CatalogTable): CatalogTable => impl;

/** A table of objects the shop keeps by XML_ID, shown with the numeric ids of `kind`. */
function keyed(
  state: SiteState,
  kind: string,
  row: (xmlId: string) => Row | undefined,
  keys: () => Iterable<string>,
  write: (xmlId: string, row: Row) => void,
  remove: (xmlId: string) => void,
): CatalogTable {
  const keyOf = (id: number) => state.ids.keyOf(kind, id);
  return table({
    get: (id) => {
      const key = keyOf(id);
      return key === undefined ? undefined : row(key);
    },
    set: (id, r) => {
      const xmlId = String(r['xmlId'] ?? id);
      state.ids.bind(kind, id, xmlId);
      write(xmlId, r);
    },
    delete: (id) => {
      const key = keyOf(id);
      if (key !== undefined) remove(key);
    },
    values: () => [...keys()].map((key) => row(key)!),
  });
}

export class SiteCatalog implements CatalogStore {
  private readonly plain = new Map<string, Map<number, Row>>();
  private readonly views: Record<string, CatalogTable>;

  constructor(
    private readonly state: SiteState,
    private readonly offsetMinutes: number,
  ) {
    this.views = {
      product: this.products(),
      price_type: this.priceTypes(),
      store: this.stores(),
      price: this.prices(),
      store_product: this.storeProducts(),
      section: this.sections(),
    };
    seedVat(this);
  }

  table(name: string): CatalogTable {
    const view = this.views[name];
    if (view) return view;
    let plain = this.plain.get(name);
    if (!plain) {
      plain = new Map();
      this.plain.set(name, plain);
    }
    return plain;
  }

  nextId(name: string): number {
    return this.state.ids.next(name === 'product' ? 'element' : name);
  }

  date(): string {
    return siteDate(Date.now(), this.offsetMinutes)!;
  }

  /** A site sends no events to obmen. */
  emit(): void {}

  private productRow(p: SiteProduct): Row {
    const { ids } = this.state;
    const offer = this.state.offers.get(p.xmlId);
    return {
      ...p.fields,
      id: ids.idOf('element', p.xmlId),
      iblockId: p.parentXmlId === undefined ? SITE_CATALOG.iblockId : SITE_OFFERS_IBLOCK_ID,
      xmlId: p.xmlId,
      name: p.name,
      active: p.active ? 'Y' : 'N',
      // The feed's Описание is the element's detail text.
      detailText: p.description ?? null,
      iblockSectionId: p.sectionXmlId === undefined ? null : ids.idOf('section', p.sectionXmlId),
      type: p.parentXmlId === undefined ? 1 : 4,
      available: 'Y',
      quantity: offer?.quantity ?? 0,
      timestampX: siteDate(p.timestampX * 1000, this.offsetMinutes),
    };
  }

  private products(): CatalogTable {
    const { state } = this;
    const find = (id: number) => {
      const key = state.ids.keyOf('element', id);
      return key === undefined ? undefined : state.products.get(key);
    };
    return table({
      get: (id) => {
        const p = find(id);
        return p && this.productRow(p);
      },
      set: (id, row) => {
        const before = find(id);
        const xmlId = String(row['xmlId'] ?? id);
        if (before && before.xmlId !== xmlId) state.products.delete(before.xmlId);
        state.ids.bind('element', id, xmlId);
        const fields: Record<string, unknown> = {};
        for (const [k, v] of Object.entries(row)) if (!OWN_FIELDS.has(k)) fields[k] = v;
        const section = row['iblockSectionId'];
        state.products.set(xmlId, {
          xmlId,
          name: String(row['name'] ?? ''),
          article: before?.article,
          sectionXmlId:
            section === undefined || section === null
              ? before?.sectionXmlId
              : state.ids.keyOf('section', Number(section)),
          description:
            row['detailText'] === undefined || row['detailText'] === null
              ? before?.description
              : String(row['detailText']),
          parentXmlId: before?.parentXmlId,
          active: row['active'] !== 'N',
          timestampX: Math.floor(Date.now() / 1000),
          fields,
        });
        state.stats.elementsWritten++;
      },
      delete: (id) => {
        const p = find(id);
        if (p) state.products.delete(p.xmlId);
      },
      values: () => [...state.products.values()].map((p) => this.productRow(p)),
    });
  }

  private priceTypes(): CatalogTable {
    const { state } = this;
    return keyed(
      state,
      'price_type',
      (xmlId) => {
        const t = state.priceTypes.get(xmlId);
        return t && { id: state.ids.idOf('price_type', xmlId), name: t.name, xmlId, base: 'N', sort: 100 };
      },
      () => state.priceTypes.keys(),
      (xmlId, r) =>
        state.priceTypes.set(xmlId, {
          xmlId,
          name: String(r['name'] ?? ''),
          currency: state.priceTypes.get(xmlId)?.currency,
        }),
      (xmlId) => state.priceTypes.delete(xmlId),
    );
  }

  private stores(): CatalogTable {
    const { state } = this;
    return keyed(
      state,
      'store',
      (xmlId) => {
        const s = state.stores.get(xmlId);
        return (
          s && { id: state.ids.idOf('store', xmlId), title: s.name, address: s.name, active: 'Y', xmlId }
        );
      },
      () => state.stores.keys(),
      (xmlId, r) => state.stores.set(xmlId, { xmlId, name: String(r['title'] || r['address'] || '') }),
      (xmlId) => state.stores.delete(xmlId),
    );
  }

  /** b_iblock_section of the goods iblock: what the feed's Группы made; read-only over REST here. */
  private sections(): CatalogTable {
    const { state } = this;
    return keyed(
      state,
      'section',
      (xmlId) => {
        const s = state.sections.get(xmlId);
        return (
          s && {
            id: state.ids.idOf('section', xmlId),
            iblockId: SITE_CATALOG.iblockId,
            iblockSectionId: s.parentXmlId === undefined ? null : state.ids.idOf('section', s.parentXmlId),
            name: s.name,
            xmlId,
            code: null,
            active: s.active ? 'Y' : 'N',
            sort: 500,
          }
        );
      },
      () => state.sections.keys(),
      () => {},
      () => {},
    );
  }

  /** b_catalog_price: one row per (element, price type) of the offers' prices. */
  private prices(): CatalogTable {
    const { state } = this;
    const rows = (): Row[] =>
      [...state.offers.values()].flatMap((offer) =>
        Object.entries(offer.prices).map(([type, price]) => ({
          id: state.ids.idOf('price', `${offer.xmlId}|${type}`),
          productId: state.ids.idOf('element', offer.xmlId),
          catalogGroupId: state.ids.idOf('price_type', type),
          price: price.value,
          currency: price.currency ?? 'RUB',
          quantityFrom: null,
          quantityTo: null,
          extraId: null,
          timestampX: this.date(),
        })),
      );
    const split = (id: number) => state.ids.keyOf('price', id)?.split('|') as [string, string] | undefined;
    return table({
      get: (id) => rows().find((r) => r['id'] === id),
      set: (id, r) => {
        const product = state.ids.keyOf('element', Number(r['productId']));
        const type = state.ids.keyOf('price_type', Number(r['catalogGroupId']));
        if (product === undefined || type === undefined) return;
        state.ids.bind('price', id, `${product}|${type}`);
        state.offer(product).prices[type] = { value: Number(r['price']), currency: String(r['currency']) };
      },
      delete: (id) => {
        const key = split(id);
        if (key) delete state.offers.get(key[0])?.prices[key[1]];
      },
      values: rows,
    });
  }

  /** b_catalog_store_product: read-only over REST, changed by conducted documents. */
  private storeProducts(): CatalogTable {
    const { state } = this;
    const rows = (): Row[] =>
      [...state.offers.values()].flatMap((offer) =>
        Object.entries(offer.stores).map(([store, amount]) => ({
          id: state.ids.idOf('store_product', `${offer.xmlId}|${store}`),
          productId: state.ids.idOf('element', offer.xmlId),
          storeId: state.ids.idOf('store', store),
          amount,
          quantityReserved: 0,
        })),
      );
    return table({
      get: (id) => rows().find((r) => r['id'] === id),
      set: (id, r) => {
        const product = state.ids.keyOf('element', Number(r['productId']));
        const store = state.ids.keyOf('store', Number(r['storeId']));
        if (product === undefined || store === undefined) return;
        state.ids.bind('store_product', id, `${product}|${store}`);
        const offer = state.offer(product);
        offer.stores[store] = Number(r['amount']);
        // With inventory control a conducted document moves the element's total quantity too.
        offer.quantity = Object.values(offer.stores).reduce((a, b) => a + b, 0);
      },
      delete: () => {},
      values: rows,
    });
  }
}

/** The catalog methods a site answers (scope `catalog`), over its shop. */
export function siteCatalogMethods(): Record<string, CatalogMethod> {
  return catalogMethods(SITE_CATALOG);
}
