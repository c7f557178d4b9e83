import type { OnecResource } from './types.ts';
import { byRefKey } from './types.ts';
import { bool, compact, text } from './values.ts';

/** Small catalogs: units, price types, warehouses (УТ 11 names). */

const deleted = (raw: Record<string, unknown>) => raw['DeletionMark'] === true;

const unitFrom = (raw: Record<string, unknown>) => ({
  data: compact({
    code: text(raw['Code']),
    name: text(raw['НаименованиеПолное']) ?? text(raw['Description']) ?? '',
    shortName: text(raw['Description']),
    international: text(raw['МеждународноеСокращение']),
  }),
  deleted: deleted(raw),
});

const unitTo = (data: Record<string, unknown>) =>
  compact({
    Code: data['code'],
    Description: data['shortName'] ?? data['name'],
    НаименованиеПолное: data['name'],
    МеждународноеСокращение: data['international'],
  });

/** УТ 11 keeps units and packages in one catalog; БП and older configurations have ЕдиницыИзмерения. */
export const unitResource: OnecResource = {
  entity: 'unit',
  entitySet: 'Catalog_УпаковкиЕдиницыИзмерения',
  orderBy: 'Ref_Key',
  externalId: byRefKey,
  toCanonical: unitFrom,
  toOnec: unitTo,
  matchBy: (body) => (body['Code'] ? ['Code'] : ['Description']),
};

export const unitLegacyResource: OnecResource = { ...unitResource, entitySet: 'Catalog_ЕдиницыИзмерения' };

export const priceTypeResource: OnecResource = {
  entity: 'price_type',
  entitySet: 'Catalog_ВидыЦен',
  orderBy: 'Ref_Key',
  externalId: byRefKey,
  toCanonical: (raw) => ({
    data: compact({
      name: text(raw['Description']) ?? '',
      vatIncluded: bool(raw['ЦенаВключаетНДС']),
      deleted: deleted(raw) || undefined,
    }),
    deleted: deleted(raw),
  }),
  toOnec: (data) => compact({ Description: data['name'], ЦенаВключаетНДС: data['vatIncluded'] }),
  matchBy: () => ['Description'],
};

export const warehouseResource: OnecResource = {
  entity: 'warehouse',
  entitySet: 'Catalog_Склады',
  orderBy: 'Ref_Key',
  filter: 'IsFolder eq false',
  externalId: byRefKey,
  toCanonical: (raw) => ({
    data: compact({ name: text(raw['Description']) ?? '', deleted: deleted(raw) || undefined }),
    deleted: deleted(raw),
  }),
  toOnec: (data) => compact({ Description: data['name'] }),
  matchBy: () => ['Description'],
};
