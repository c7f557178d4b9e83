import type { OnecResource } from './types.ts';
import { compact, num, ref } from './values.ts';

/** Register virtual tables: prices (SliceLast) and stock (Balance). Records have no Ref_Key. */

const joinKey = (...parts: Array<string | undefined>) =>
  parts.some((part, i) => i < 2 && part === undefined) ? undefined : parts.filter(Boolean).join('#');

export const priceResource: OnecResource = {
  entity: 'price',
  entitySet: 'InformationRegister_ЦеныНоменклатуры_RecordType/SliceLast',
  orderBy: 'Номенклатура_Key,ВидЦены_Key',
  externalId: (raw) =>
    joinKey(ref(raw['Номенклатура_Key']), ref(raw['ВидЦены_Key']), ref(raw['Характеристика_Key'])),
  toCanonical: (raw) => ({
    data: compact({
      productId: ref(raw['Номенклатура_Key']),
      priceTypeId: ref(raw['ВидЦены_Key']),
      value: num(raw['Цена']),
      unitId: ref(raw['Упаковка_Key']),
    }),
    deleted: false,
  }),
};

export const stockResource: OnecResource = {
  entity: 'stock',
  entitySet: 'AccumulationRegister_ТоварыНаСкладах/Balance',
  orderBy: 'Номенклатура_Key,Склад_Key',
  externalId: (raw) =>
    joinKey(ref(raw['Номенклатура_Key']), ref(raw['Склад_Key']), ref(raw['Характеристика_Key'])),
  toCanonical: (raw) => ({
    data: compact({
      productId: ref(raw['Номенклатура_Key']),
      warehouseId: ref(raw['Склад_Key']),
      quantity: num(raw['ВНаличииBalance']) ?? 0,
      reserved: num(raw['ВРезервеСоСкладаBalance']),
    }),
    deleted: false,
  }),
  // A Balance table has no zero rows: a row that left it means the balance is now zero.
  vanished: (externalId) => {
    const [productId, warehouseId] = externalId.split('#');
    return productId && warehouseId ? { productId, warehouseId, quantity: 0 } : undefined;
  },
};
