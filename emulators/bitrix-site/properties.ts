import type { SiteState } from './state.ts';

/**
 * Iblock properties as Bitrix's catalog.import.1c makes them: each Классификатор/Свойство becomes
 * a property of the catalog iblock keyed by XML_ID (the 1C Ид); a Справочник becomes a list
 * property (PROPERTY_TYPE L) whose enum values carry ИдЗначения as their XML_ID. A product's
 * ЗначенияСвойств are matched to those properties by Ид: a value of a property the iblock does
 * not have is skipped (Bitrix looks the Ид up in the iblock's property map and goes on), and a
 * list value is the enum whose XML_ID the value names — one the property lacks is skipped too.
 */

/** b_iblock_property (+ b_iblock_property_enum for a list), as the exchange leaves it. */
export interface SiteProperty {
  xmlId: string;
  name: string;
  /** S string, N number, L list (from a Справочник). */
  propertyType: 'S' | 'N' | 'L';
  active: boolean;
  /** A list property's values: XML_ID (ИдЗначения) and VALUE. */
  enumValues: Array<{ xmlId: string; value: string }>;
}

/** One value of an element's property: VALUE, and for a list the enum's XML_ID (VALUE_XML_ID). */
export interface SitePropertyValue {
  value: string;
  valueXmlId?: string;
}

const TYPES: Record<string, SiteProperty['propertyType']> = { dictionary: 'L', number: 'N' };

/** A parsed `property` item → the iblock property, created or updated by XML_ID. */
export function importProperty(
  state: SiteState,
  xmlId: string,
  data: Record<string, unknown>,
  deleted: boolean,
): void {
  const values = Array.isArray(data.values) ? (data.values as Array<{ id: string; value: string }>) : [];
  const known = state.properties.get(xmlId);
  const type = TYPES[String(data.type)] ?? (values.length > 0 ? 'L' : 'S');
  // Enum values are added and renamed by XML_ID, never removed: elements may still hold them.
  const enumValues = new Map((known?.enumValues ?? []).map((v) => [v.xmlId, v]));
  for (const v of values) enumValues.set(v.id, { xmlId: v.id, value: v.value });
  state.properties.set(xmlId, {
    xmlId,
    name: String(data.name),
    propertyType: type,
    active: !deleted,
    enumValues: [...enumValues.values()],
  });
}

/**
 * A product's ЗначенияСвойств (parsed `properties`) over the values it held: each property the
 * element lists gets its values replaced; unknown properties and enum values are skipped.
 */
export function productPropertyValues(
  state: SiteState,
  given: unknown,
  held: Record<string, SitePropertyValue[]> | undefined,
): Record<string, SitePropertyValue[]> {
  const out: Record<string, SitePropertyValue[]> = { ...held };
  if (!Array.isArray(given)) return out;
  const fresh = new Map<string, SitePropertyValue[]>();
  for (const entry of given as Array<{ propertyId?: unknown; valueId?: unknown; value?: unknown }>) {
    const property = state.properties.get(String(entry.propertyId));
    if (!property) continue;
    const raw = entry.valueId ?? entry.value;
    if (raw === undefined) continue;
    let value: SitePropertyValue | undefined;
    if (property.propertyType === 'L') {
      const option = property.enumValues.find((v) => v.xmlId === String(raw));
      value = option && { value: option.value, valueXmlId: option.xmlId };
    } else value = { value: String(raw) };
    if (!value) continue;
    const list = fresh.get(property.xmlId) ?? [];
    list.push(value);
    fresh.set(property.xmlId, list);
  }
  for (const [xmlId, values] of fresh) out[xmlId] = values;
  return out;
}
