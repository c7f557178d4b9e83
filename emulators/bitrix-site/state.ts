import type { SiteProperty, SitePropertyValue } from './properties.ts';

/**
 * What a 1C-Bitrix site holds after exchanges: iblock sections and elements keyed by XML_ID (the
 * 1C Ид), catalog price types and stores, offers with prices and stock, and shop orders. Only
 * what the exchange touches is modelled; `/_state` shows it so tests and users can look inside.
 */

export interface SiteSection {
  xmlId: string;
  name: string;
  parentXmlId: string | undefined;
  active: boolean;
  /** TIMESTAMP_X in Unix seconds: `mode=deactivate` compares it with checkauth's timestamp. */
  timestampX: number;
}

export interface SiteProduct {
  xmlId: string;
  name: string;
  article: string | undefined;
  sectionXmlId: string | undefined;
  description: string | undefined;
  parentXmlId: string | undefined;
  active: boolean;
  timestampX: number;
  /** The base unit's OKEI code (b_catalog_measure.CODE of the element's MEASURE), when one came. */
  measureCode?: string | undefined;
  /** Property values by the property's XML_ID (properties.ts); absent until an import sets them. */
  properties?: Record<string, SitePropertyValue[]>;
  /** Fields only REST writes (previewText, weight, vatId, code…), kept across feed imports. */
  fields?: Record<string, unknown>;
}

export interface SitePriceType {
  xmlId: string;
  name: string;
  currency: string | undefined;
}

export interface SiteStore {
  xmlId: string;
  name: string;
}

/** b_catalog_product + b_catalog_price + b_catalog_store_product of one element (product or offer). */
export interface SiteOffer {
  xmlId: string;
  prices: Record<string, { value: number; currency: string | undefined }>;
  quantity: number | undefined;
  stores: Record<string, number>;
}

export interface SiteOrderLine {
  productXmlId: string;
  name: string;
  price: number;
  quantity: number;
}

export interface SiteOrder {
  id: number;
  accountNumber: string;
  /** DATE_INSERT, ms. */
  createdAt: number;
  /** DATE_UPDATE, ms: the export filter compares it with the committed export time. */
  updatedAt: number;
  user: { id: number; login: string; name: string; lastName: string; email: string; phone: string };
  lines: SiteOrderLine[];
  statusId: string;
  payed: boolean;
  deducted: boolean;
  canceled: boolean;
  comment: string;
  /** DATE_STATUS, DATE_PAYED, DATE_DEDUCTED, DATE_CANCELED (ms), when they happened. */
  statusChangedAt?: number;
  paidAt?: number;
  deductedAt?: number;
  canceledAt?: number;
  /** Number of the shipment / payment 1C reported, when it did. */
  shipmentNumber?: string;
  paymentNumber?: string;
  /** How often 1C changed this order through sale file/import. */
  updatesFrom1c: number;
  /** UPDATED_1C: the last change came from 1C, so the order is not exported back to it. */
  updated1c: boolean;
}

export interface SiteStats {
  /** Calls per `type:mode`, e.g. `catalog:import`. */
  calls: Record<string, number>;
  /** Files imported to the end (`success`). */
  imports: number;
  /** Elements and offers written by imports (created or changed). */
  elementsWritten: number;
  ordersExported: number;
  ordersConfirmed: number;
  failures: number;
  /** The REST module (emulators/bitrix-site/rest.ts): HTTP requests, calls per method, refusals. */
  rest: { requests: number; calls: Record<string, number>; writes: number; limitErrors: number };
}

/**
 * Numeric ids of objects the shop keeps by key (XML_ID, or `product|priceType` for a price), per
 * kind: the feed never sees them, REST shows nothing else.
 */
export class NumericIds {
  private readonly byKey = new Map<string, number>();
  private readonly byId = new Map<string, string>();
  private readonly last = new Map<string, number>();

  /** The id of a key, given now when it has none. */
  idOf(kind: string, key: string): number {
    const id = this.byKey.get(`${kind}\n${key}`);
    if (id !== undefined) return id;
    return this.bind(kind, this.next(kind), key);
  }

  keyOf(kind: string, id: number): string | undefined {
    return this.byId.get(`${kind}\n${id}`);
  }

  /** A new id, bound to its key later (REST adds a row first and learns its XML_ID after). */
  next(kind: string): number {
    const id = (this.last.get(kind) ?? 0) + 1;
    this.last.set(kind, id);
    return id;
  }

  bind(kind: string, id: number, key: string): number {
    const old = this.byId.get(`${kind}\n${id}`);
    if (old !== undefined) this.byKey.delete(`${kind}\n${old}`);
    this.byKey.set(`${kind}\n${key}`, id);
    this.byId.set(`${kind}\n${id}`, key);
    return id;
  }
}

export class SiteState {
  readonly sections = new Map<string, SiteSection>();
  readonly products = new Map<string, SiteProduct>();
  readonly priceTypes = new Map<string, SitePriceType>();
  readonly stores = new Map<string, SiteStore>();
  readonly properties = new Map<string, SiteProperty>();
  readonly offers = new Map<string, SiteOffer>();
  readonly orders = new Map<number, SiteOrder>();
  nextOrderId = 1;
  nextUserId = 10;
  /** `last_export_time_<page>`: when the last query was answered (ms), and by which session. */
  lastExport: { at: number; sessionKey: string } | undefined;
  /** `last_export_time_committed_<page>`: moved only by `mode=success` of the same session. */
  lastExportCommitted = 0;
  /** XML_IMPORT_START_TIME of the catalog iblock, Unix seconds. */
  importStartedAt = 0;
  readonly stats: SiteStats = {
    calls: {},
    imports: 0,
    elementsWritten: 0,
    ordersExported: 0,
    ordersConfirmed: 0,
    failures: 0,
    rest: { requests: 0, calls: {}, writes: 0, limitErrors: 0 },
  };
  /** The numeric ids REST shows (b_iblock_element.ID, b_catalog_price.ID…), given on first sight. */
  readonly ids = new NumericIds();

  elementId(xmlId: string): number {
    return this.ids.idOf('element', xmlId);
  }

  offer(xmlId: string): SiteOffer {
    let offer = this.offers.get(xmlId);
    if (!offer) {
      offer = { xmlId, prices: {}, quantity: undefined, stores: {} };
      this.offers.set(xmlId, offer);
    }
    return offer;
  }

  /** The `/_state` body: counts and the objects themselves. */
  snapshot(): Record<string, unknown> {
    return {
      counts: {
        sections: this.sections.size,
        products: this.products.size,
        activeProducts: [...this.products.values()].filter((p) => p.active).length,
        priceTypes: this.priceTypes.size,
        stores: this.stores.size,
        properties: this.properties.size,
        offers: this.offers.size,
        orders: this.orders.size,
      },
      sections: [...this.sections.values()],
      products: [...this.products.values()],
      priceTypes: [...this.priceTypes.values()],
      stores: [...this.stores.values()],
      properties: [...this.properties.values()],
      offers: [...this.offers.values()],
      orders: [...this.orders.values()],
      exportCursor: { committed: this.lastExportCommitted, pending: this.lastExport?.at ?? null },
    };
  }
}
