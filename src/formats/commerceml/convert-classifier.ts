import type { ItemSink } from './sink.ts';
import { attr, child, children, rawText, text, withRaw, type XNode } from './tree.ts';
import { parseBool } from './values.ts';

/** Классификатор: groups, properties, units, price types and warehouses. */

/** ПометкаУдаления (2.09+, 3.1) or Статус "Удален" on any catalog object. */
export function isDeleted(node: XNode): boolean {
  return (
    parseBool(text(node, 'ПометкаУдаления')) === true ||
    /^удал/i.test(text(node, 'Статус') ?? attr(node, 'Статус') ?? '')
  );
}

/** Copies only the flags that are set, so that "not deleted" and "never said" hash the same. */
function withDeleted<T extends Record<string, unknown>>(data: T, node: XNode): T {
  if (isDeleted(node)) (data as Record<string, unknown>).deleted = true;
  return data;
}

/** Группа → product_group; `parentId` is the enclosing Группа's Ид (the hierarchy is nesting). */
export function convertGroup(node: XNode, parentId: string | undefined, sink: ItemSink): string | undefined {
  const id = text(node, 'Ид');
  const name = text(node, 'Наименование');
  if (id === undefined) {
    sink.error(
      'product_group',
      undefined,
      `Группа без <Ид> пропущена${name ? ` («${name}»)` : ''}`,
      node.line,
    );
    return undefined;
  }
  if (name === undefined) {
    sink.error('product_group', id, `Группа ${id}: нет <Наименование>, группа пропущена`, node.line);
    return id;
  }
  const data: Record<string, unknown> = { name };
  if (parentId !== undefined) data.parentId = parentId;
  withDeleted(data, node);
  sink.item(
    'product_group',
    withRaw({ externalId: id, data, deleted: data.deleted === true }, node),
    node.line,
  );
  return id;
}

const PROPERTY_TYPES: Record<string, string> = {
  справочник: 'dictionary',
  строка: 'string',
  число: 'number',
  булево: 'boolean',
  дата: 'date',
};

/** Свойство (with ВариантыЗначений/Справочник for dictionaries) → property. */
export function convertProperty(node: XNode, sink: ItemSink): void {
  const id = text(node, 'Ид');
  const name = text(node, 'Наименование');
  if (id === undefined) {
    sink.error('property', undefined, `Свойство без <Ид> пропущено${name ? ` («${name}»)` : ''}`, node.line);
    return;
  }
  if (name === undefined) {
    sink.error('property', id, `Свойство ${id}: нет <Наименование>, свойство пропущено`, node.line);
    return;
  }
  const data: Record<string, unknown> = { name };
  const type = PROPERTY_TYPES[(text(node, 'ТипЗначений') ?? '').toLowerCase()];
  if (type !== undefined) data.type = type;
  const variants = child(node, 'ВариантыЗначений');
  const values: Array<{ id: string; value: string }> = [];
  for (const entry of children(variants, 'Справочник')) {
    const valueId = text(entry, 'ИдЗначения');
    if (valueId !== undefined) values.push({ id: valueId, value: rawText(entry, 'Значение')?.trim() ?? '' });
  }
  // 2.04 lists plain values without ids: the value is its own id.
  for (const entry of children(variants, 'Значение')) {
    const value = entry.text.trim();
    if (value !== '') values.push({ id: value, value });
  }
  if (values.length > 0) data.values = values;
  if (type === 'dictionary' || values.length > 0) sink.dictionaryProperties.add(id);
  const forProducts = parseBool(text(node, 'ДляТоваров'));
  if (forProducts !== undefined) data.forProducts = forProducts;
  const forOffers = parseBool(text(node, 'ДляПредложений'));
  if (forOffers !== undefined) data.forOffers = forOffers;
  withDeleted(data, node);
  sink.item('property', withRaw({ externalId: id, data, deleted: data.deleted === true }, node), node.line);
}

/** ЕдиницаИзмерения → unit. Codes come padded ("796 "): the Ид and code are trimmed. */
export function convertUnit(node: XNode, sink: ItemSink): void {
  const code = text(node, 'Код');
  const id = text(node, 'Ид') ?? code;
  if (id === undefined) {
    sink.error('unit', undefined, 'Единица измерения без <Ид> и <Код> пропущена', node.line);
    return;
  }
  const shortName = text(node, 'НаименованиеКраткое');
  const name = text(node, 'НаименованиеПолное') ?? shortName ?? code ?? id;
  const data: Record<string, unknown> = { name };
  if (code !== undefined) data.code = code;
  if (shortName !== undefined) data.shortName = shortName;
  const international = text(node, 'МеждународноеСокращение');
  if (international !== undefined) data.international = international;
  sink.item('unit', withRaw({ externalId: id, data, deleted: isDeleted(node) }, node), node.line);
}

/** ТипЦены → price_type; Налог/УчтеноВСумме says whether VAT is in the price. */
export function convertPriceType(node: XNode, sink: ItemSink): void {
  const id = text(node, 'Ид');
  const name = text(node, 'Наименование');
  if (id === undefined) {
    sink.error('price_type', undefined, `Тип цены без <Ид> пропущен${name ? ` («${name}»)` : ''}`, node.line);
    return;
  }
  if (name === undefined) {
    sink.error('price_type', id, `Тип цены ${id}: нет <Наименование>, тип цены пропущен`, node.line);
    return;
  }
  const data: Record<string, unknown> = { name };
  const currency = text(node, 'Валюта');
  if (currency !== undefined) data.currency = currency;
  const vatIncluded = parseBool(text(node, 'Налог/УчтеноВСумме'));
  if (vatIncluded !== undefined) data.vatIncluded = vatIncluded;
  withDeleted(data, node);
  sink.item('price_type', withRaw({ externalId: id, data, deleted: data.deleted === true }, node), node.line);
}

/** Склад → warehouse. */
export function convertWarehouse(node: XNode, sink: ItemSink): void {
  const id = text(node, 'Ид');
  const name = text(node, 'Наименование');
  if (id === undefined) {
    sink.error('warehouse', undefined, `Склад без <Ид> пропущен${name ? ` («${name}»)` : ''}`, node.line);
    return;
  }
  if (name === undefined) {
    sink.error('warehouse', id, `Склад ${id}: нет <Наименование>, склад пропущен`, node.line);
    return;
  }
  const data: Record<string, unknown> = { name };
  const address = text(node, 'Адрес/Представление');
  if (address !== undefined) data.address = address;
  withDeleted(data, node);
  sink.item('warehouse', withRaw({ externalId: id, data, deleted: data.deleted === true }, node), node.line);
}
