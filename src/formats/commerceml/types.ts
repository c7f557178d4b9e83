import type { SourceItem } from '../../core/connector.ts';
import type {
  Counterparty,
  Order,
  Price,
  PriceType,
  Product,
  ProductGroup,
  Property,
  Stock,
  Unit,
  Warehouse,
} from '../../core/entities/index.ts';

/** Which exchange file a package is, judged by its root children (and, for offers, the name). */
export type CmlDocumentKind = 'import' | 'offers' | 'prices' | 'rests' | 'orders' | 'unknown';

/**
 * What the parser emits, in document order. `entity` is a canonical entity name. Items are as
 * sources send them; the parser thread may send them prepared for ingest (parse-in-worker.ts).
 */
export type CmlEvent<Item = SourceItem> =
  | {
      kind: 'package';
      file: string;
      version: string | undefined;
      onlyChanges: boolean;
      documentKind: CmlDocumentKind;
      catalogId?: string;
      classifierId?: string;
    }
  | { kind: 'item'; entity: string; item: Item; line: number }
  | { kind: 'itemError'; entity: string; externalId?: string; message: string; line: number };

/** A canonical record as the writers take it: the 1C Ид it has (or gets) in the file, and its data. */
export interface CmlRecord<T> {
  id: string;
  data: T;
}

/**
 * One order for the orders writer (site → 1C, `type=sale&mode=query`): the canonical order whose
 * references already hold 1C Ид values (lines[].productId = the product's or offer's Ид), plus
 * what a site sends that the canonical order does not carry.
 */
export interface CanonicalOrderForCml {
  /** Ид of the document: the site's order id (1C keeps it to recognise the order next time). */
  id: string;
  order: Order;
  /** The buyer; `id` is the counterparty Ид (Bitrix writes `<userId>#<login>#<name>`). */
  customer: CmlRecord<Counterparty> & { firstName?: string; lastName?: string };
  /**
   * Extra order requisites written as ЗначенияРеквизитов after the standard ones, e.g.
   * `{ 'Метод оплаты': 'Наличный расчет', 'Доставка разрешена': 'true', 'Способ доставки': 'Самовывоз' }`.
   */
  requisites?: Record<string, string>;
  /** When the status last changed (`Дата изменения статуса`); ISO date-time. */
  statusChangedAt?: string;
  /** Whether the status is final (`Финальный статус`). */
  finalStatus?: boolean;
  /** `ИдКаталога` of the lines (the catalog the goods came from in 1C), as Bitrix writes it. */
  catalogId?: string;
}

/** Options of the orders writer. */
export interface OrdersXmlOptions {
  /** '2.05': documents directly under the root, as Bitrix answers; '3.1': each one in a `Контейнер`. */
  version: '2.05' | '3.1';
  encoding: 'windows-1251' | 'utf-8';
  /** ДатаФормирования; defaults to the current time. */
  now?: Date;
}

/** The catalog to write as 1C does: records keyed by the Ид they get in the files. */
export interface CatalogXmlInput {
  groups: CmlRecord<ProductGroup>[];
  properties: CmlRecord<Property>[];
  units?: CmlRecord<Unit>[];
  priceTypes: CmlRecord<PriceType>[];
  warehouses: CmlRecord<Warehouse>[];
  /** Products; those with `parentProductId` are variants and go to offers.xml as `product#characteristic`. */
  products: CmlRecord<Product>[];
  /** Price records; `data.productId` is the product's or variant's Ид. */
  prices: CmlRecord<Price>[];
  /** Stock records; without `warehouseId` it is the total (`Количество`). */
  stock: CmlRecord<Stock>[];
  onlyChanges: boolean;
  catalogId: string;
  classifierId: string;
  name: string;
}

export interface CatalogXmlOptions {
  version: '2.05' | '2.08' | '3.1';
  encoding: 'windows-1251' | 'utf-8';
  now?: Date;
}
