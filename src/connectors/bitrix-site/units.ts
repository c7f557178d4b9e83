import type { DeliveryItem } from '../../core/connector.ts';
import type { Unit } from '../../core/entities/index.ts';
import { chunk } from '../../engine/chunks.ts';
import type { Store } from '../../store/store.ts';

/**
 * A site gets a product's base unit inline (`<БазоваяЕдиница Код="796" НаименованиеПолное="Штука">шт`),
 * the way 1C describes it, so Bitrix can find or create the measure by its OKEI code. A product
 * that names its unit only by reference (baseUnitId: 1C 3.1, OData) has that reference unresolved
 * here (the site connector declares it so, entities.ts): the unit is read from the hub, for the
 * whole batch in one query per chunk of ids, and written in place of the id the site does not know.
 * A unit the hub does not hold (or holds without its code) is left out: its hub id means nothing to the site (which would make
 * a nameless measure of it), and without БазоваяЕдиница the element keeps the measure it has.
 */
export async function withUnitsInline(
  store: Store | undefined,
  items: DeliveryItem[],
): Promise<DeliveryItem[]> {
  const wanted = new Set<string>();
  for (const item of items) {
    const id = item.data['baseUnitId'];
    if (typeof id === 'string' && item.data['baseUnit'] === undefined) wanted.add(id);
  }
  if (!store || wanted.size === 0) return items;
  const units = new Map<string, Unit>();
  for (const part of chunk([...wanted], store.caps.maxParams)) {
    const rows = await store.db
      .selectFrom('records')
      .select(['id', 'data'])
      .where('entity', '=', 'unit')
      .where('id', 'in', part)
      .execute();
    for (const row of rows) units.set(row.id, JSON.parse(row.data) as Unit);
  }
  return items.map((item) => {
    const id = item.data['baseUnitId'];
    if (typeof id !== 'string' || item.data['baseUnit'] !== undefined) return item;
    const { baseUnitId: _id, ...data } = item.data;
    const unit = units.get(id);
    // Bitrix finds or creates the measure by its OKEI code and refuses a unit without one.
    if (!unit?.code) return { ...item, data };
    const baseUnit = {
      code: unit.code,
      name: unit.name,
      ...(unit.shortName === undefined ? {} : { shortName: unit.shortName }),
    };
    return { ...item, data: { ...data, baseUnit } };
  });
}
