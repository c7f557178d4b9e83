import { CATALOG_ENTITIES } from './catalog-package.ts';

/**
 * What a 1C-Bitrix site takes from obmen, declared for the engine (ConnectorFactory.accepts and
 * ignoredRefs) so that config check refuses a wrong route and delivery does not wait for objects
 * the site never receives.
 */

/** Entities a site receives: the catalog through import/offers packages, orders' states back. */
export const SITE_ENTITIES: readonly string[] = [...Object.keys(CATALOG_ENTITIES), 'order', 'order_status'];

/**
 * A site takes units inline, as 1C sends them (`<БазоваяЕдиница Код=… НаименованиеПолное=…>`),
 * never as objects of their own: a product does not wait for its unit to "reach" the site (the
 * sink puts the hub's unit record in place, see units.ts), and a price's unit is not written.
 */
const OWN_REFS: Record<string, readonly string[]> = {
  product: ['baseUnitId'],
  price: ['unitId'],
};

export function siteIgnoredRefs(entity: string): readonly string[] | undefined {
  return OWN_REFS[entity];
}
