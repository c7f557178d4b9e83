import { catalogError, methodNotFound } from './errors.ts';
import type { MethodOutput } from './methods.ts';
import { asList, asObject, type Params } from './params.ts';
import { listRows, type PortalState, type Row } from './state.ts';

/** The CRM product catalogue's information block (catalog.catalog.list). */
export const CATALOG_IBLOCK_ID = 25;

/**
 * One table the catalog methods read and write, by numeric id. A portal's are plain maps; a
 * 1C-Bitrix site shows its shop (elements, offers, prices, stock kept by XML_ID) as such tables
 * (emulators/bitrix-site/rest-catalog.ts), so both servers answer catalog.* with these methods.
 * A row changed in place is written back with `set`: a site's table is a view, not a map.
 */
export interface CatalogTable {
  get(id: number): Row | undefined;
  set(id: number, row: Row): unknown;
  delete(id: number): unknown;
  values(): Iterable<Row>;
}

/** What the catalog methods need of a server's state; PortalState has it as it is. */
export interface CatalogStore {
  table(name: string): CatalogTable;
  nextId(name: string): number;
  date(): string;
  emit(event: string, id: number, fields?: Record<string, string | number>): void;
}

/** The goods catalog catalog.catalog.list shows and catalog.product.add checks iblockId against. */
export interface CatalogInfo {
  iblockId: number;
  name: string;
}

export type CatalogMethod = (params: Params, ctx: { state: CatalogStore }) => MethodOutput;

/** catalog.* speaks camelCase with real numbers; errors carry numeric codes. */
function fieldsOf(params: Params): Params {
  const fields = asObject(params['fields']);
  if (!fields || Object.keys(fields).length === 0) {
    throw catalogError(100, 'Parameter fields is not specified or is empty');
  }
  return fields;
}

function idOf(params: Params): number {
  const id = Number(params['id']);
  if (!Number.isInteger(id) || id <= 0) throw catalogError(100, 'Parameter id is not specified');
  return id;
}

function num(value: unknown): number | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  const n = Number(value);
  return Number.isFinite(n) ? n : undefined;
}

function mustGet(state: CatalogStore, table: string, id: number, what: string): Row {
  const row = state.table(table).get(id);
  if (!row) throw catalogError(0, `${what} is not exists`);
  return row;
}

const PRODUCT_NUMBERS = [
  'iblockId',
  'iblockSectionId',
  'measure',
  'vatId',
  'weight',
  'width',
  'height',
  'length',
  'quantity',
];

function applyProduct(row: Row, fields: Params): void {
  for (const [key, value] of Object.entries(fields)) {
    if (key === 'id') continue;
    row[key] = PRODUCT_NUMBERS.includes(key) ? (num(value) ?? null) : value;
  }
  // Purchasing price comes back as a decimal string even in catalog.* (documented sample).
  if (fields['purchasingPrice'] !== undefined)
    row['purchasingPrice'] = Number(fields['purchasingPrice']).toFixed(6);
}

function stockKey(productId: number, storeId: number): string {
  return `${productId}:${storeId}`;
}

function storeProducts(state: CatalogStore): CatalogTable {
  return state.table('store_product');
}

function adjustStock(state: CatalogStore, productId: number, storeId: number, delta: number): void {
  const table = storeProducts(state);
  const existing = [...table.values()].find(
    (r) => stockKey(Number(r['productId']), Number(r['storeId'])) === stockKey(productId, storeId),
  );
  if (existing) {
    existing['amount'] = Number(existing['amount']) + delta;
    table.set(Number(existing['id']), existing);
    return;
  }
  const id = state.nextId('store_product');
  table.set(id, { id, productId, storeId, amount: delta, quantityReserved: 0 });
}

function stockOf(state: CatalogStore, productId: number, storeId: number): number {
  for (const r of storeProducts(state).values()) {
    if (Number(r['productId']) === productId && Number(r['storeId']) === storeId) return Number(r['amount']);
  }
  return 0;
}

const DOC_TYPES = new Set(['A', 'S', 'M', 'R', 'D']);

/**
 * The VAT rates of a Russian portal in 2026 (catalog.vat.list, type catalog_vat): "без НДС"
 * (no rate), 0%, 10%, the 20% that applied until 2025, the standard 22% from 1 January 2026,
 * and the 5% and 7% of the simplified tax system (УСН). Tests reshape the list over HTTP with
 * catalog.vat.add / update / delete.
 */
const VAT_RATES: Array<[string, number | null]> = [
  ['Без НДС', null],
  ['НДС 0%', 0],
  ['НДС 10%', 10],
  ['НДС 20%', 20],
  ['НДС 22%', 22],
  ['НДС 5%', 5],
  ['НДС 7%', 7],
];

function vatFields(row: Row, fields: Params): void {
  if (fields['name'] !== undefined) row['name'] = String(fields['name']);
  if (fields['rate'] !== undefined)
    row['rate'] = fields['rate'] === null ? null : (num(fields['rate']) ?? null);
  if (fields['active'] !== undefined) row['active'] = fields['active'] === 'N' ? 'N' : 'Y';
  if (fields['sort'] !== undefined) row['sort'] = num(fields['sort']) ?? 100;
}

/** A list of an iblock's rows (goods, sections): the filter must name the iblock, as Bitrix wants. */
function iblockList(state: CatalogStore, table: string, resultKey: string, params: Params): MethodOutput {
  const filter = asObject(params['filter']);
  if (!filter || filter['iblockId'] === undefined) throw catalogError(0, 'Required filter fields: iblockId');
  const page = listRows(state.table(table).values(), { ...params, order: params['order'] ?? { id: 'ASC' } });
  return {
    result: { [resultKey]: page.result },
    total: page.total,
    ...(page.next === undefined ? {} : { next: page.next }),
  };
}

const CRM_CATALOG: CatalogInfo = { iblockId: CATALOG_IBLOCK_ID, name: 'Товарный каталог CRM' };

export function catalogMethods(catalog: CatalogInfo = CRM_CATALOG): Record<string, CatalogMethod> {
  return {
    'catalog.catalog.list': () => ({
      result: {
        catalogs: [
          {
            id: catalog.iblockId,
            iblockId: catalog.iblockId,
            name: catalog.name,
            productIblockId: null,
            skuPropertyId: null,
          },
        ],
      },
      total: 1,
    }),
    'catalog.vat.list': (params, { state }) => {
      const page = listRows(state.table('vat').values(), {
        ...params,
        order: params['order'] ?? { id: 'ASC' },
      });
      return {
        result: { vats: page.result },
        total: page.total,
        ...(page.next === undefined ? {} : { next: page.next }),
      };
    },
    'catalog.vat.get': (params, { state }) => ({
      result: { vat: mustGet(state, 'vat', idOf(params), 'VAT rate') },
    }),
    'catalog.vat.add': (params, { state }) => {
      const fields = fieldsOf(params);
      if (!String(fields['name'] ?? '').trim() || fields['rate'] === undefined)
        throw catalogError(0, 'Required fields: name, rate');
      const id = state.nextId('vat');
      const row: Row = { id, name: '', rate: null, active: 'Y', sort: 100 };
      vatFields(row, fields);
      row['timestampX'] = state.date();
      state.table('vat').set(id, row);
      return { result: { vat: row } };
    },
    'catalog.vat.update': (params, { state }) => {
      const row = mustGet(state, 'vat', idOf(params), 'VAT rate');
      vatFields(row, fieldsOf(params));
      row['timestampX'] = state.date();
      state.table('vat').set(Number(row['id']), row);
      return { result: { vat: row } };
    },
    'catalog.vat.delete': (params, { state }) => {
      const id = idOf(params);
      mustGet(state, 'vat', id, 'VAT rate');
      state.table('vat').delete(id);
      return { result: true };
    },
    'catalog.product.add': (params, { state }) => {
      const fields = fieldsOf(params);
      if (num(fields['iblockId']) !== catalog.iblockId) {
        throw catalogError(200040300000, 'Information block with the specified identifier does not exist');
      }
      if (!String(fields['name'] ?? '').trim()) throw catalogError(0, 'Required fields: name');
      const code = fields['code'];
      if (code && [...state.table('product').values()].some((p) => p['code'] === code)) {
        throw catalogError(0, 'Product with the specified symbolic code already exists');
      }
      const id = state.nextId('product');
      const row: Row = { id, active: 'Y', type: 1, available: 'Y', quantity: 0, xmlId: String(id) };
      applyProduct(row, fields);
      row['timestampX'] = state.date();
      state.table('product').set(id, row);
      state.emit('CATALOG.PRODUCT.ON.ADD', id, { TYPE: Number(row['type'] ?? 1) });
      return { result: { element: row } };
    },
    'catalog.product.update': (params, { state }) => {
      const id = idOf(params);
      const fields = fieldsOf(params);
      const row = mustGet(state, 'product', id, 'Product');
      if (fields['name'] !== undefined && !String(fields['name']).trim())
        throw catalogError(0, 'Required fields: name');
      applyProduct(row, fields);
      row['timestampX'] = state.date();
      state.table('product').set(id, row);
      state.emit('CATALOG.PRODUCT.ON.UPDATE', id, { TYPE: Number(row['type'] ?? 1) });
      return { result: { element: row } };
    },
    'catalog.product.get': (params, { state }) => ({
      result: { product: mustGet(state, 'product', idOf(params), 'Product') },
    }),
    'catalog.product.delete': (params, { state }) => {
      const id = idOf(params);
      const row = mustGet(state, 'product', id, 'Product');
      state.table('product').delete(id);
      state.emit('CATALOG.PRODUCT.ON.DELETE', id, { TYPE: Number(row['type'] ?? 1) });
      return { result: true };
    },
    'catalog.product.list': (params, { state }) => iblockList(state, 'product', 'products', params),
    // Sections of the catalog's iblock (iblock.section in the admin): read here, written by the
    // feed or by hand.
    'catalog.section.list': (params, { state }) => iblockList(state, 'section', 'sections', params),
    'catalog.priceType.list': (params, { state }) => {
      const page = listRows(state.table('price_type').values(), params);
      return { result: { priceTypes: page.result }, total: page.total };
    },
    'catalog.priceType.add': (params, { state }) => {
      const fields = fieldsOf(params);
      if (!fields['name']) throw catalogError(0, 'Required fields: name');
      const id = state.nextId('price_type');
      const row: Row = { id, base: 'N', sort: 100, xmlId: null, ...fields };
      state.table('price_type').set(id, row);
      return { result: { priceType: row } };
    },
    'catalog.price.add': (params, { state }) => {
      const fields = fieldsOf(params);
      const productId = num(fields['productId']);
      const groupId = num(fields['catalogGroupId']);
      const price = num(fields['price']);
      if (!productId || !groupId || price === undefined || !fields['currency']) {
        throw catalogError(0, 'Required fields: productId, catalogGroupId, price, currency');
      }
      mustGet(state, 'product', productId, 'Product');
      mustGet(state, 'price_type', groupId, 'Price type');
      if (price < 0) throw catalogError(0, 'Price must not be negative');
      const id = state.nextId('price');
      const row: Row = {
        id,
        productId,
        catalogGroupId: groupId,
        price,
        currency: String(fields['currency']),
        quantityFrom: null,
        quantityTo: null,
        extraId: null,
        timestampX: state.date(),
      };
      state.table('price').set(id, row);
      return { result: { price: row } };
    },
    'catalog.price.update': (params, { state }) => {
      const id = idOf(params);
      const fields = fieldsOf(params);
      const row = mustGet(state, 'price', id, 'Price');
      const price = num(fields['price']);
      if (price !== undefined) {
        if (price < 0) throw catalogError(0, 'Price must not be negative');
        row['price'] = price;
      }
      if (fields['currency'] !== undefined) row['currency'] = String(fields['currency']);
      row['timestampX'] = state.date();
      state.table('price').set(id, row);
      return { result: { price: row } };
    },
    'catalog.price.list': (params, { state }) => {
      const page = listRows(state.table('price').values(), params);
      return {
        result: { prices: page.result },
        total: page.total,
        ...(page.next === undefined ? {} : { next: page.next }),
      };
    },
    // Prices with an id are updated, without are created, and every existing price NOT passed is deleted.
    'catalog.price.modify': (params, { state }) => {
      const product = asObject(fieldsOf(params)['product']);
      const productId = num(product?.['id']);
      if (!product || !productId) throw catalogError(0, 'Required fields: product.id');
      mustGet(state, 'product', productId, 'Product');
      const keep = new Set<number>();
      const out: Row[] = [];
      for (const raw of asList(product['prices'])) {
        const p = asObject(raw) ?? {};
        const id = num(p['id']);
        let row = id ? state.table('price').get(id) : undefined;
        if (!row) {
          const newId = state.nextId('price');
          row = { id: newId, productId, quantityFrom: null, quantityTo: null, extraId: null };
          state.table('price').set(newId, row);
        }
        row['catalogGroupId'] = num(p['catalogGroupId']) ?? row['catalogGroupId'];
        row['price'] = num(p['price']) ?? row['price'];
        row['currency'] = String(p['currency'] ?? row['currency'] ?? 'RUB');
        row['timestampX'] = state.date();
        state.table('price').set(Number(row['id']), row);
        keep.add(Number(row['id']));
        out.push(row);
      }
      for (const row of [...state.table('price').values()]) {
        const id = Number(row['id']);
        if (Number(row['productId']) === productId && !keep.has(id)) state.table('price').delete(id);
      }
      return { result: { prices: out } };
    },
    'catalog.store.list': (params, { state }) => {
      const page = listRows(state.table('store').values(), params);
      return {
        result: { stores: page.result },
        total: page.total,
        ...(page.next === undefined ? {} : { next: page.next }),
      };
    },
    'catalog.store.add': (params, { state }) => {
      const fields = fieldsOf(params);
      if (!fields['address']) throw catalogError(0, 'Required fields: address');
      const id = state.nextId('store');
      const row: Row = { id, active: 'Y', title: '', xmlId: null, ...fields, dateModify: state.date() };
      state.table('store').set(id, row);
      return { result: { store: row } };
    },
    'catalog.store.update': (params, { state }) => {
      const id = idOf(params);
      const row = mustGet(state, 'store', id, 'Store');
      Object.assign(row, fieldsOf(params), { dateModify: state.date() });
      state.table('store').set(id, row);
      return { result: { store: row } };
    },
    // Balances are read-only here: they change only through store documents.
    'catalog.storeproduct.list': (params, { state }) => {
      const page = listRows(storeProducts(state).values(), params);
      return {
        result: { storeProducts: page.result },
        total: page.total,
        ...(page.next === undefined ? {} : { next: page.next }),
      };
    },
    'catalog.storeproduct.add': () => {
      throw methodNotFound('catalog.storeproduct.add');
    },
    'catalog.storeproduct.update': () => {
      throw methodNotFound('catalog.storeproduct.update');
    },
    'catalog.document.add': (params, { state }) => {
      const fields = fieldsOf(params);
      const docType = String(fields['docType'] ?? '');
      if (!DOC_TYPES.has(docType)) throw catalogError(0, `Invalid document type: ${docType}`);
      if (!fields['currency'] || !fields['responsibleId']) {
        throw catalogError(0, 'Required fields: docType, currency, responsibleId');
      }
      const id = state.nextId('document');
      const row: Row = {
        id,
        docType,
        status: 'N',
        currency: fields['currency'],
        responsibleId: num(fields['responsibleId']),
        title: fields['title'] ?? null,
        dateDocument: state.date(),
        dateModify: state.date(),
      };
      state.table('document').set(id, row);
      return { result: { document: row } };
    },
    'catalog.document.element.add': (params, { state }) => {
      const fields = fieldsOf(params);
      const docId = num(fields['docId']);
      const elementId = num(fields['elementId']);
      if (!docId || !elementId) throw catalogError(0, 'Required fields: docId, elementId');
      const doc = mustGet(state, 'document', docId, 'Document');
      if (doc['status'] !== 'N') throw catalogError(0, 'Document is already conducted');
      mustGet(state, 'product', elementId, 'Product');
      const amount = num(fields['amount']) ?? 0;
      if (amount <= 0) throw catalogError(0, 'Amount must be greater than zero');
      const storeTo = num(fields['storeTo']);
      const storeFrom = num(fields['storeFrom']);
      for (const store of [storeTo, storeFrom]) if (store) mustGet(state, 'store', store, 'Store');
      const id = state.nextId('document_element');
      const row: Row = {
        id,
        docId,
        elementId,
        amount,
        storeTo: storeTo ?? null,
        storeFrom: storeFrom ?? null,
        purchasingPrice: num(fields['purchasingPrice']) ?? 0,
      };
      state.table('document_element').set(id, row);
      return { result: { documentElement: row } };
    },
    'catalog.document.element.list': (params, { state }) => {
      const page = listRows(state.table('document_element').values(), params);
      return {
        result: { documentElements: page.result },
        total: page.total,
        ...(page.next === undefined ? {} : { next: page.next }),
      };
    },
    'catalog.document.conduct': (params, { state }) => conduct(state, idOf(params)),
    // Older name of conduct, still answered.
    'catalog.document.confirm': (params, { state }) => conduct(state, idOf(params)),
  };
}

function conduct(state: CatalogStore, id: number) {
  const doc = mustGet(state, 'document', id, 'Document');
  if (doc['status'] === 'Y') throw catalogError(0, 'Document is already conducted');
  const elements = [...state.table('document_element').values()].filter((e) => Number(e['docId']) === id);
  if (elements.length === 0) throw catalogError(0, 'Document has no products');
  const type = String(doc['docType']);
  // Check every write-off first: a document is conducted whole or not at all.
  for (const e of elements) {
    if (type === 'D' || type === 'M' || type === 'R') {
      const from = Number(e['storeFrom']);
      if (!from) throw catalogError(0, `Store from is not specified for product ${String(e['elementId'])}`);
      if (stockOf(state, Number(e['elementId']), from) < Number(e['amount'])) {
        throw catalogError(0, `Insufficient quantity of product ${String(e['elementId'])} in store ${from}`);
      }
    } else if (!Number(e['storeTo'])) {
      throw catalogError(0, `Store to is not specified for product ${String(e['elementId'])}`);
    }
  }
  for (const e of elements) {
    const product = Number(e['elementId']);
    const amount = Number(e['amount']);
    if (e['storeFrom']) adjustStock(state, product, Number(e['storeFrom']), -amount);
    if (e['storeTo'] && type !== 'D') adjustStock(state, product, Number(e['storeTo']), amount);
  }
  doc['status'] = 'Y';
  doc['dateModify'] = state.date();
  state.table('document').set(id, doc);
  return { result: true };
}

/** The VAT rates a fresh installation has (portal and site alike). */
export function seedVat(state: CatalogStore): void {
  for (const [i, [name, rate]] of VAT_RATES.entries()) {
    const id = state.nextId('vat');
    state
      .table('vat')
      .set(id, { id, name, rate, active: 'Y', sort: (i + 1) * 100, timestampX: state.date() });
  }
}

/** What a fresh portal already has: the base price type, the main store and the VAT rates. */
export function seedCatalog(state: PortalState): void {
  seedVat(state);
  const priceType = state.nextId('price_type');
  state
    .table('price_type')
    .set(priceType, { id: priceType, name: 'Базовая цена', base: 'Y', sort: 100, xmlId: 'BASE' });
  const store = state.nextId('store');
  state.table('store').set(store, {
    id: store,
    title: 'Основной склад',
    address: 'Основной склад',
    active: 'Y',
    xmlId: null,
    dateModify: state.date(),
  });
}
