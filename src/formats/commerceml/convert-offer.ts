import { commonFields } from './convert-product.ts';
import type { ItemSink } from './sink.ts';
import { attr, child, children, text, withRaw, type XNode } from './tree.ts';
import { parseNumeric, splitOfferId } from './values.ts';

/**
 * ПакетПредложений/Предложения/Предложение → a product variant (when the Ид names a
 * characteristic), one price per price type, and stock per warehouse and/or in total.
 *
 * Canonical representation of characteristics: an offer `P#C` is a `product` with externalId
 * `P#C` and `parentProductId: P`. An offer without a characteristic (`P` or `P#`) is the product
 * itself, already described by import.xml: it yields no product item (an offers file carries
 * only the name, which would overwrite the full description), only prices and stock for `P`.
 */
export function convertOffer(node: XNode, sink: ItemSink): void {
  const offerId = text(node, 'Ид');
  if (offerId === undefined) {
    const name = text(node, 'Наименование');
    sink.error(
      'product',
      undefined,
      `Предложение без <Ид> пропущено${name ? ` («${name}»)` : ''}`,
      node.line,
    );
    return;
  }
  const { productId: parentId, characteristicId } = splitOfferId(offerId);
  const productId = characteristicId === undefined ? parentId : offerId;
  const name = text(node, 'Наименование');
  // 3.1 prices/rests files repeat only Ид: no name means nothing to say about the product.
  if (characteristicId !== undefined && name !== undefined) {
    const data: Record<string, unknown> = { name, parentProductId: parentId };
    commonFields(node, sink, data);
    sink.item(
      'product',
      withRaw({ externalId: offerId, data, deleted: data.deleted === true }, node),
      node.line,
    );
  }
  convertPrices(node, productId, sink);
  convertStock(node, productId, sink);
}

function convertPrices(node: XNode, productId: string, sink: ItemSink): void {
  for (const price of children(child(node, 'Цены'), 'Цена')) {
    const priceTypeId = text(price, 'ИдТипаЦены');
    if (priceTypeId === undefined) {
      sink.error(
        'price',
        undefined,
        `Предложение ${productId}: у <Цена> нет <ИдТипаЦены>, цена пропущена`,
        price.line,
      );
      continue;
    }
    const externalId = `${productId}|${priceTypeId}`;
    const shown = text(price, 'ЦенаЗаЕдиницу');
    const value = shown === undefined ? undefined : parseNumeric(shown);
    if (value === undefined || value < 0) {
      const why =
        shown === undefined ? 'нет <ЦенаЗаЕдиницу>' : `<ЦенаЗаЕдиницу> «${shown.slice(0, 40)}» — не число`;
      sink.error(
        'price',
        externalId,
        `Предложение ${productId}, тип цены ${priceTypeId}: ${why}; цена пропущена`,
        price.line,
      );
      continue;
    }
    const data: Record<string, unknown> = { productId, priceTypeId, value };
    const currency = text(price, 'Валюта');
    if (currency !== undefined) data.currency = currency;
    const coefficient = parseNumeric(text(price, 'Коэффициент') ?? '');
    if (coefficient !== undefined && coefficient > 0) data.coefficient = coefficient;
    sink.item('price', withRaw({ externalId, data }, price), price.line);
  }
}

function stockItem(
  sink: ItemSink,
  productId: string,
  warehouseId: string | undefined,
  shown: string | undefined,
  line: number,
  rawNode: XNode,
): void {
  const externalId = `${productId}|${warehouseId ?? '*'}`;
  const quantity = shown === undefined ? undefined : parseNumeric(shown);
  if (quantity === undefined) {
    const where = warehouseId === undefined ? 'общий остаток' : `склад ${warehouseId}`;
    const why =
      shown === undefined ? 'количество не указано' : `количество «${shown.slice(0, 40)}» — не число`;
    sink.error('stock', externalId, `Предложение ${productId}, ${where}: ${why}; остаток пропущен`, line);
    return;
  }
  const data: Record<string, unknown> = { productId, quantity };
  if (warehouseId !== undefined) data.warehouseId = warehouseId;
  sink.item('stock', withRaw({ externalId, data }, rawNode), line);
}

/**
 * Stock comes in three shapes: `<Количество>` (the total), `<Склад ИдСклада="…"
 * КоличествоНаСкладе="…"/>` (2.06+) and 3.1 `<Остатки><Остаток><Склад><Ид/><Количество/>`. Each
 * warehouse gives one stock item; a total gives one item without warehouseId. A file with both
 * a total and warehouses gives both (they mean different things to targets).
 */
function convertStock(node: XNode, productId: string, sink: ItemSink): void {
  const total = child(node, 'Количество');
  if (total !== undefined) stockItem(sink, productId, undefined, text(node, 'Количество'), total.line, total);
  for (const store of children(node, 'Склад')) {
    const warehouseId = attr(store, 'ИдСклада');
    if (warehouseId === undefined) continue;
    stockItem(sink, productId, warehouseId, attr(store, 'КоличествоНаСкладе'), store.line, store);
  }
  for (const list of node.children) {
    if (list.name !== 'Остатки' && list.name !== 'ОстаткиПоСкладам') continue;
    for (const rest of children(list, 'Остаток')) {
      const store = child(rest, 'Склад');
      const warehouseId = text(store, 'Ид') ?? text(rest, 'ИдСклада') ?? attr(store, 'ИдСклада');
      const quantity =
        text(store, 'Количество') ?? text(rest, 'Количество') ?? attr(store, 'КоличествоНаСкладе');
      stockItem(sink, productId, warehouseId, quantity, rest.line, rest);
    }
  }
}
