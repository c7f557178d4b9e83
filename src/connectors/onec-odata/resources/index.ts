import { configError } from '../../../core/errors.ts';
import { priceTypeResource, unitLegacyResource, unitResource, warehouseResource } from './catalogs.ts';
import { counterpartyResource } from './counterparty.ts';
import { orderResource } from './order.ts';
import { orderStatusResource } from './order-status.ts';
import { productGroupResource, productResource } from './product.ts';
import { priceResource, stockResource } from './registers.ts';
import type { OnecResource } from './types.ts';
import { byRefKey } from './types.ts';
import { cleanObject } from './values.ts';

export type { OnecResource } from './types.ts';

const RESOURCES: readonly OnecResource[] = [
  productResource,
  productGroupResource,
  unitResource,
  unitLegacyResource,
  priceTypeResource,
  warehouseResource,
  counterpartyResource,
  priceResource,
  stockResource,
  orderResource,
  orderStatusResource,
];

/** `InformationRegister_X_RecordType/SliceLast(Period=…)` → `InformationRegister_X_RecordType/SliceLast`. */
export function setBase(entitySet: string): string {
  return entitySet.replace(/\(.*\)$/, '');
}

/**
 * The conversion for (entity set, canonical entity): the known one, or — for a custom entity —
 * the 1C object itself with transport annotations and empty values removed.
 */
export function resourceFor(entity: string, entitySet: string | undefined, systemName: string): OnecResource {
  const base = entitySet === undefined ? undefined : setBase(entitySet);
  const known = RESOURCES.find((r) => r.entity === entity && (base === undefined || r.entitySet === base));
  if (known) return known;
  if (base === undefined) {
    const defaults = RESOURCES.filter((r) => r !== unitLegacyResource)
      .map((r) => `${r.entity} → ${r.entitySet}`)
      .join(', ');
    throw configError(
      `${systemName}: no default 1C entity set for entity "${entity}"; set options.entitySet (defaults: ${defaults})`,
      { system: systemName },
    );
  }
  // A canonical entity from another set (a customised catalog, ЦеныНоменклатуры25) keeps its
  // conversion: УТ field names are shared across such sets.
  const sameEntity = RESOURCES.find((r) => r.entity === entity);
  if (sameEntity) return { ...sameEntity, entitySet: base };
  return {
    entity,
    entitySet: base,
    orderBy: 'Ref_Key',
    externalId: byRefKey,
    toCanonical: (raw) => ({ data: cleanObject(raw), deleted: raw['DeletionMark'] === true }),
    // A custom entity is written as given: its mapping produces 1C field names.
    toOnec: (data) => ({ ...data }),
  };
}
