import type { OnecResource } from './types.ts';
import { byRefKey } from './types.ts';
import { compact, ref, text } from './values.ts';

/** Catalog_Номенклатура: items become products, folders become product groups. */

const deleted = (raw: Record<string, unknown>) => raw['DeletionMark'] === true;

export const productResource: OnecResource = {
  entity: 'product',
  entitySet: 'Catalog_Номенклатура',
  orderBy: 'Ref_Key',
  filter: 'IsFolder eq false',
  externalId: byRefKey,
  toCanonical: (raw) => ({
    data: compact({
      name: text(raw['Description']) ?? '',
      fullName: text(raw['НаименованиеПолное']),
      article: text(raw['Артикул']),
      description: text(raw['Описание']),
      groupId: ref(raw['Parent_Key']),
      baseUnitId: ref(raw['ЕдиницаИзмерения_Key']),
      deleted: deleted(raw) || undefined,
    }),
    deleted: deleted(raw),
  }),
  toOnec: (data) =>
    compact({
      Description: data['name'],
      НаименованиеПолное: data['fullName'] ?? data['name'],
      Артикул: data['article'],
      Описание: data['description'],
      Parent_Key: data['groupId'],
      ЕдиницаИзмерения_Key: data['baseUnitId'],
      IsFolder: false,
    }),
  matchBy: (body) => (body['Артикул'] ? ['Артикул'] : undefined),
};

export const productGroupResource: OnecResource = {
  entity: 'product_group',
  entitySet: 'Catalog_Номенклатура',
  orderBy: 'Ref_Key',
  filter: 'IsFolder eq true',
  externalId: byRefKey,
  toCanonical: (raw) => ({
    data: compact({
      name: text(raw['Description']) ?? '',
      code: text(raw['Code']),
      parentId: ref(raw['Parent_Key']),
      deleted: deleted(raw) || undefined,
    }),
    deleted: deleted(raw),
  }),
  toOnec: (data) => compact({ Description: data['name'], Parent_Key: data['parentId'], IsFolder: true }),
  matchBy: () => ['Description', 'IsFolder'],
};
