import type { Price, Product, ProductGroup, Property, Stock } from '../../core/entities/index.ts';
import type { CatalogXmlInput, CatalogXmlOptions, CmlRecord } from './types.ts';
import { bool, type El, formatTimestamp, leaf, list, num, renderXml } from './xml.ts';

/**
 * import.xml + offers.xml as 1C writes them for a 1C-Bitrix site's catalog.import.1c, so obmen
 * can feed sites "as 1C does". 2.05/2.08: price types and warehouses in the offers package,
 * stock as `Количество` + `<Склад ИдСклада КоличествоНаСкладе/>`; 3.1: price types, warehouses
 * and units in the classifier, stock as `Остатки/Остаток`, deletion as `ПометкаУдаления`.
 */

const NAMESPACES: Record<CatalogXmlOptions['version'], string | undefined> = {
  '2.05': undefined,
  '2.08': 'urn:1C.ru:commerceml_2',
  '3.1': 'urn:1C.ru:commerceml_3',
};

const PROPERTY_TYPES: Record<string, string> = {
  dictionary: 'Справочник',
  string: 'Строка',
  number: 'Число',
  boolean: 'Булево',
  date: 'Дата',
};

function requisite(name: string, value: string): El {
  return { n: 'ЗначениеРеквизита', c: [leaf('Наименование', name), leaf('Значение', value)] };
}

/** Deletion: 3.1 has the ПометкаУдаления element, 2.x the Статус="Удален" attribute. */
function deletionMark(deleted: boolean | undefined, v31: boolean): El | undefined {
  return v31 && deleted ? leaf('ПометкаУдаления', 'true') : undefined;
}

function groupTree(groups: CmlRecord<ProductGroup>[], v31: boolean): El | undefined {
  const known = new Set(groups.map((g) => g.id));
  const byParent = new Map<string | undefined, CmlRecord<ProductGroup>[]>();
  for (const group of groups) {
    const parent =
      group.data.parentId !== undefined && known.has(group.data.parentId) ? group.data.parentId : undefined;
    const siblings = byParent.get(parent) ?? [];
    siblings.push(group);
    byParent.set(parent, siblings);
  }
  const build = (parent: string | undefined, seen: Set<string>): El | undefined =>
    list(
      'Группы',
      (byParent.get(parent) ?? []).map((group) => {
        if (seen.has(group.id)) return undefined; // a cycle in the hierarchy: write each group once
        seen.add(group.id);
        return {
          n: 'Группа',
          a: !v31 && group.data.deleted ? { Статус: 'Удален' } : undefined,
          c: [
            leaf('Ид', group.id),
            deletionMark(group.data.deleted, v31),
            leaf('Наименование', group.data.name),
            build(group.id, seen),
          ],
        };
      }),
    );
  return build(undefined, new Set());
}

function property(record: CmlRecord<Property>, v31: boolean): El {
  const { data } = record;
  return {
    n: 'Свойство',
    c: [
      leaf('Ид', record.id),
      deletionMark(data.deleted, v31),
      leaf('Наименование', data.name),
      leaf('ТипЗначений', data.type === undefined ? undefined : PROPERTY_TYPES[data.type]),
      list(
        'ВариантыЗначений',
        (data.values ?? []).map((v) => ({
          n: 'Справочник',
          c: [leaf('ИдЗначения', v.id), leaf('Значение', v.value)],
        })),
      ),
      leaf('ДляТоваров', data.forProducts === undefined ? undefined : bool(data.forProducts)),
      leaf('ДляПредложений', data.forOffers === undefined ? undefined : bool(data.forOffers)),
    ],
  };
}

function baseUnit(product: Product, v31: boolean): El | undefined {
  if (v31 && product.baseUnitId !== undefined) return leaf('БазоваяЕдиница', product.baseUnitId);
  const unit = product.baseUnit;
  if (unit !== undefined) {
    return {
      n: 'БазоваяЕдиница',
      a: { Код: unit.code, НаименованиеПолное: unit.name },
      t: unit.shortName ?? '',
    };
  }
  return product.baseUnitId === undefined ? undefined : leaf('БазоваяЕдиница', product.baseUnitId);
}

/** Fields a Товар and a variant's Предложение share. */
function sharedFields(product: Product): Array<El | undefined> {
  return [
    ...(product.barcodes ?? []).map((code) => leaf('Штрихкод', code)),
    leaf('Артикул', product.article),
    leaf('Наименование', product.name),
  ];
}

function propertyValues(product: Product): El | undefined {
  return list(
    'ЗначенияСвойств',
    (product.properties ?? []).map((p) => ({
      n: 'ЗначенияСвойства',
      c: [
        leaf('Ид', p.propertyId),
        leaf('Значение', p.valueId ?? (p.value === undefined ? '' : String(p.value))),
      ],
    })),
  );
}

function characteristicList(product: Product): El | undefined {
  return list(
    'ХарактеристикиТовара',
    (product.characteristics ?? []).map((c) => ({
      n: 'ХарактеристикаТовара',
      c: [leaf('Наименование', c.name), leaf('Значение', c.value)],
    })),
  );
}

function goods(record: CmlRecord<Product>, v31: boolean): El {
  const product = record.data;
  const vat =
    product.vatRate === undefined
      ? undefined
      : product.vatRate === null
        ? 'Без налога'
        : num(product.vatRate);
  const requisites: El[] = Object.entries(product.attributes ?? {}).map(([name, value]) =>
    requisite(name, value),
  );
  if (product.fullName !== undefined && product.attributes?.['Полное наименование'] === undefined)
    requisites.push(requisite('Полное наименование', product.fullName));
  return {
    n: 'Товар',
    a: !v31 && product.deleted ? { Статус: 'Удален' } : undefined,
    c: [
      leaf('Ид', record.id),
      deletionMark(product.deleted, v31),
      ...sharedFields(product),
      baseUnit(product, v31),
      product.groupId !== undefined && { n: 'Группы', c: [leaf('Ид', product.groupId)] },
      leaf('Описание', product.description),
      ...(product.images ?? []).map((image) => leaf('Картинка', image)),
      product.manufacturer !== undefined && {
        n: 'Изготовитель',
        c: [leaf('Ид', product.manufacturer), leaf('Наименование', product.manufacturer)],
      },
      characteristicList(product),
      propertyValues(product),
      vat !== undefined && {
        n: 'СтавкиНалогов',
        c: [{ n: 'СтавкаНалога', c: [leaf('Наименование', 'НДС'), leaf('Ставка', vat)] }],
      },
      list('ЗначенияРеквизитов', requisites),
      product.weight !== undefined && leaf('Вес', num(product.weight.value)),
    ],
  };
}

/** One Предложение: the variant's own fields (if it is one), its prices and its stock. */
function offer(
  id: string,
  variant: Product | undefined,
  name: string | undefined,
  prices: Price[],
  stock: Stock[],
  v31: boolean,
): El {
  const total = stock.find((s) => s.warehouseId === undefined);
  const perWarehouse = stock.filter((s) => s.warehouseId !== undefined);
  return {
    n: 'Предложение',
    a: !v31 && variant?.deleted ? { Статус: 'Удален' } : undefined,
    c: [
      leaf('Ид', id),
      variant && deletionMark(variant.deleted, v31),
      // A product's own offer repeats its name: Bitrix shows it in the offers iblock.
      ...(variant ? sharedFields(variant) : [leaf('Наименование', name)]),
      variant && baseUnit(variant, v31),
      variant && characteristicList(variant),
      variant && propertyValues(variant),
      list(
        'Цены',
        prices.map((p) => ({
          n: 'Цена',
          c: [
            leaf('Представление', `${num(p.value)} ${p.currency ?? ''}`.trim()),
            leaf('ИдТипаЦены', p.priceTypeId),
            leaf('ЦенаЗаЕдиницу', num(p.value)),
            leaf('Валюта', p.currency),
            leaf('Коэффициент', p.coefficient === undefined ? undefined : num(p.coefficient)),
          ],
        })),
      ),
      ...(v31
        ? [
            list('Остатки', [
              total && { n: 'Остаток', c: [leaf('Количество', num(total.quantity))] },
              ...perWarehouse.map((s) => ({
                n: 'Остаток',
                c: [{ n: 'Склад', c: [leaf('Ид', s.warehouseId), leaf('Количество', num(s.quantity))] }],
              })),
            ]),
          ]
        : [
            total && leaf('Количество', num(total.quantity)),
            ...perWarehouse.map((s) => ({
              n: 'Склад',
              a: { ИдСклада: s.warehouseId, КоличествоНаСкладе: num(s.quantity) },
            })),
          ]),
    ],
  };
}

/** A variant's Ид must be `product#characteristic`, which is how 1C and Bitrix tie it to its product. */
function variantId(record: CmlRecord<Product>): string {
  return record.id.includes('#') ? record.id : `${record.data.parentProductId}#${record.id}`;
}

function groupBy<T>(records: CmlRecord<T>[], key: (data: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const record of records) {
    const k = key(record.data);
    const bucket = out.get(k);
    if (bucket === undefined) out.set(k, [record.data]);
    else bucket.push(record.data);
  }
  return out;
}

/** import.xml and offers.xml for a 1C-Bitrix site, in the requested CommerceML version and encoding. */
export function writeCatalogXml(
  input: CatalogXmlInput,
  options: CatalogXmlOptions,
): { importXml: Buffer; offersXml: Buffer } {
  const v31 = options.version === '3.1';
  const rootAttrs = {
    xmlns: NAMESPACES[options.version],
    ВерсияСхемы: options.version,
    ДатаФормирования: formatTimestamp(options.now ?? new Date()),
  };
  const onlyChanges = { СодержитТолькоИзменения: bool(input.onlyChanges) };
  const priceTypes = list(
    'ТипыЦен',
    input.priceTypes.map((t) => ({
      n: 'ТипЦены',
      c: [
        leaf('Ид', t.id),
        deletionMark(t.data.deleted, v31),
        leaf('Наименование', t.data.name),
        leaf('Валюта', t.data.currency),
        t.data.vatIncluded !== undefined && {
          n: 'Налог',
          c: [leaf('Наименование', 'НДС'), leaf('УчтеноВСумме', bool(t.data.vatIncluded))],
        },
      ],
    })),
  );
  const warehouses = list(
    'Склады',
    input.warehouses.map((w) => ({
      n: 'Склад',
      c: [
        leaf('Ид', w.id),
        deletionMark(w.data.deleted, v31),
        leaf('Наименование', w.data.name),
        w.data.address !== undefined && { n: 'Адрес', c: [leaf('Представление', w.data.address)] },
      ],
    })),
  );
  const units = list(
    'ЕдиницыИзмерения',
    (input.units ?? []).map((u) => ({
      n: 'ЕдиницаИзмерения',
      c: [
        leaf('Ид', u.id),
        leaf('Код', u.data.code),
        leaf('НаименованиеКраткое', u.data.shortName),
        leaf('НаименованиеПолное', u.data.name),
        leaf('МеждународноеСокращение', u.data.international),
      ],
    })),
  );
  const classifier: El = {
    n: 'Классификатор',
    a: v31 ? onlyChanges : undefined,
    c: [
      leaf('Ид', input.classifierId),
      leaf('Наименование', `Классификатор (${input.name})`),
      groupTree(input.groups, v31),
      list(
        'Свойства',
        input.properties.map((p) => property(p, v31)),
      ),
      v31 && priceTypes,
      v31 && warehouses,
      units,
    ],
  };
  const standalone = input.products.filter((p) => p.data.parentProductId === undefined);
  const variants = input.products.filter((p) => p.data.parentProductId !== undefined);
  const importRoot: El = {
    n: 'КоммерческаяИнформация',
    a: rootAttrs,
    c: [
      classifier,
      {
        n: 'Каталог',
        a: onlyChanges,
        c: [
          leaf('Ид', input.catalogId),
          leaf('ИдКлассификатора', input.classifierId),
          leaf('Наименование', input.name),
          list(
            'Товары',
            standalone.map((p) => goods(p, v31)),
          ),
        ],
      },
    ],
  };

  const pricesByProduct = groupBy(input.prices, (p) => p.productId);
  const stockByProduct = groupBy(input.stock, (s) => s.productId);
  const nameById = new Map(standalone.map((p) => [p.id, p.data.name]));
  const offerIds: string[] = [];
  const variantById = new Map<string, Product>();
  for (const variant of variants) {
    const id = variantId(variant);
    variantById.set(id, variant.data);
    offerIds.push(id);
  }
  // Products without a characteristic get an offer only to carry their prices and stock.
  for (const id of new Set([...pricesByProduct.keys(), ...stockByProduct.keys()])) {
    if (!variantById.has(id)) offerIds.push(id);
  }
  const offersRoot: El = {
    n: 'КоммерческаяИнформация',
    a: rootAttrs,
    c: [
      {
        n: 'ПакетПредложений',
        a: onlyChanges,
        c: [
          leaf('Ид', `${input.catalogId}#`),
          leaf('Наименование', `Пакет предложений (${input.name})`),
          leaf('ИдКаталога', input.catalogId),
          leaf('ИдКлассификатора', input.classifierId),
          !v31 && priceTypes,
          !v31 && warehouses,
          list(
            'Предложения',
            offerIds.map((id) =>
              offer(
                id,
                variantById.get(id),
                nameById.get(id),
                pricesByProduct.get(id) ?? [],
                stockByProduct.get(id) ?? [],
                v31,
              ),
            ),
          ),
        ],
      },
    ],
  };
  return {
    importXml: renderXml(importRoot, options.encoding),
    offersXml: renderXml(offersRoot, options.encoding),
  };
}
