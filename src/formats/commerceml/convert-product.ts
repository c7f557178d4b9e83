import { isDeleted } from './convert-classifier.ts';
import type { ItemSink } from './sink.ts';
import { attr, child, children, requisites, text, withRaw, type XNode } from './tree.ts';
import { isGuid, parseNumeric, parseVatRate } from './values.ts';

/** Каталог/Товары/Товар → product, and the offer-level fields that variants share with goods. */

/**
 * ЗначенияСвойств: a value of a dictionary property is the ИдЗначения of one of its variants.
 * The property's type may be declared in another file of the package (3.1 splits them), so a
 * value of an unknown property counts as a dictionary value when it is shaped like a 1C id.
 * Empty values (3.1 lists every property of the catalog, most of them empty) are skipped.
 */
export function productProperties(node: XNode, sink: ItemSink): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = [];
  for (const entry of children(child(node, 'ЗначенияСвойств'), 'ЗначенияСвойства')) {
    const propertyId = text(entry, 'Ид');
    if (propertyId === undefined) continue;
    const valueId = text(entry, 'ИдЗначения');
    if (valueId !== undefined) {
      out.push({ propertyId, valueId });
      continue;
    }
    for (const valueNode of children(entry, 'Значение')) {
      const value = valueNode.text.trim();
      if (value === '') continue;
      const dictionary = sink.dictionaryProperties.has(propertyId) || isGuid(value);
      out.push(dictionary ? { propertyId, valueId: value } : { propertyId, value });
    }
  }
  return out;
}

/** ХарактеристикиТовара/ХарактеристикаТовара (Наименование, Значение). */
export function characteristics(node: XNode): Array<{ name: string; value: string }> {
  const out: Array<{ name: string; value: string }> = [];
  for (const entry of children(child(node, 'ХарактеристикиТовара'), 'ХарактеристикаТовара')) {
    const name = text(entry, 'Наименование');
    if (name !== undefined) out.push({ name, value: text(entry, 'Значение') ?? '' });
  }
  return out;
}

/**
 * БазоваяЕдиница comes in two shapes: 2.x `<БазоваяЕдиница Код="796" НаименованиеПолное="Штука">шт`
 * (the unit described in place) and 3.1 `<БазоваяЕдиница>796 </БазоваяЕдиница>` (the Ид of a unit
 * from Классификатор/ЕдиницыИзмерения, a reference).
 */
export function baseUnit(node: XNode, data: Record<string, unknown>): void {
  const unit = child(node, 'БазоваяЕдиница');
  if (unit === undefined) return;
  const shown = unit.text.trim();
  if (unit.attrs === undefined || Object.keys(unit.attrs).length === 0) {
    if (shown !== '') data.baseUnitId = shown;
    return;
  }
  const described: Record<string, string> = {};
  const code = attr(unit, 'Код');
  if (code !== undefined) described.code = code;
  const name = attr(unit, 'НаименованиеПолное');
  if (name !== undefined) described.name = name;
  if (shown !== '') described.shortName = shown;
  if (Object.keys(described).length > 0) data.baseUnit = described;
}

/** Fields shared by Товар and Предложение: article, barcodes, unit, characteristics, properties. */
export function commonFields(node: XNode, sink: ItemSink, data: Record<string, unknown>): void {
  const article = text(node, 'Артикул');
  if (article !== undefined) data.article = article;
  const barcodes = children(node, 'Штрихкод')
    .map((c) => c.text.trim())
    .filter((c) => c !== '');
  if (barcodes.length > 0) data.barcodes = barcodes;
  baseUnit(node, data);
  const props = productProperties(node, sink);
  if (props.length > 0) data.properties = props;
  const chars = characteristics(node);
  if (chars.length > 0) data.characteristics = chars;
  if (isDeleted(node)) data.deleted = true;
}

function vatRate(node: XNode): number | null | undefined {
  for (const rate of children(child(node, 'СтавкиНалогов'), 'СтавкаНалога')) {
    const name = (text(rate, 'Наименование') ?? 'НДС').toUpperCase();
    if (name === 'НДС' || name === 'VAT') return parseVatRate(text(rate, 'Ставка'));
  }
  return undefined;
}

/** Товар → product. */
export function convertProduct(node: XNode, sink: ItemSink): void {
  const id = text(node, 'Ид');
  const name = text(node, 'Наименование');
  if (id === undefined) {
    sink.error('product', undefined, `Товар без <Ид> пропущен${name ? ` («${name}»)` : ''}`, node.line);
    return;
  }
  if (name === undefined) {
    sink.error('product', id, `Товар ${id}: нет <Наименование>, товар пропущен`, node.line);
    return;
  }
  const data: Record<string, unknown> = { name };
  commonFields(node, sink, data);
  const attributes = requisites(node);
  const fullName = attributes['Полное наименование']?.trim();
  if (fullName) data.fullName = fullName;
  const description = text(node, 'Описание');
  if (description !== undefined) data.description = description;
  const groupId = text(node, 'Группы/Ид');
  if (groupId !== undefined) data.groupId = groupId;
  const vat = vatRate(node);
  if (vat !== undefined) data.vatRate = vat;
  const weightText = text(node, 'Вес') ?? attributes['Вес'];
  const weight = weightText === undefined ? undefined : parseNumeric(weightText);
  if (weight !== undefined && weight >= 0) data.weight = { value: weight, unit: 'kg' };
  // Requisites that became fields are not repeated in `attributes` (raw keeps them all).
  if (data.fullName !== undefined) delete attributes['Полное наименование'];
  if (data.weight !== undefined && text(node, 'Вес') === undefined) delete attributes['Вес'];
  const images = children(node, 'Картинка')
    .map((c) => c.text.trim())
    .filter((c) => c !== '');
  if (images.length > 0) data.images = images;
  const manufacturer = text(node, 'Изготовитель/Наименование');
  if (manufacturer !== undefined) data.manufacturer = manufacturer;
  if (Object.keys(attributes).length > 0) data.attributes = attributes;
  sink.item('product', withRaw({ externalId: id, data, deleted: data.deleted === true }, node), node.line);
}
