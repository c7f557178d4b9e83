/**
 * The emulated УТ 11 publication: entity sets with their real field names and Edm types
 * (from the real $metadata excerpts in ../shared/fixtures/onec-odata), and deterministic data:
 * object k of a set is computed from k, so a catalog of a million items costs no memory until
 * someone edits it.
 */

export type EdmType =
  | 'Edm.Guid'
  | 'Edm.String'
  | 'Edm.Boolean'
  | 'Edm.DateTime'
  | 'Edm.Double'
  | 'Edm.Int16'
  | 'Edm.Int64';

export interface FieldDef {
  name: string;
  type: EdmType;
  /** Entity set a `*_Key` field refers to (for navigation links). */
  ref?: string;
}

export interface SetDef {
  name: string;
  kind: 'catalog' | 'document' | 'register' | 'virtual';
  fields: FieldDef[];
  tabular?: Record<string, FieldDef[]>;
  /** Key fields; catalogs and documents: Ref_Key. */
  key: string[];
  /** Objects computed from their index; created ones come after them. */
  count(): number;
  generate(k: number): Record<string, unknown>;
  writable: boolean;
  /** Virtual tables bound to this set: function name → the set whose rows they return. */
  functions?: Record<string, string>;
}

export const EMPTY_GUID = '00000000-0000-0000-0000-000000000000';
/** РегистрСведений.СостоянияЗаказовКлиентов: the state УТ keeps for every posted customer order. */
export const ORDER_STATES_SET = 'InformationRegister_СостоянияЗаказовКлиентов';
export const EMPTY_DATE = '0001-01-01T00:00:00';
const NODE = '11e6-aede-5404a6b4b8ed';
const GENERATED_BASE = 0x1a2b0000;

/**
 * Ref_Key of generated object k: the first group grows with k, so Ref_Key order is generation
 * order; created objects start with "f", after every generated one. The tail mimics the
 * time-based GUIDs 1C makes (same clock sequence and node for one base).
 */
export function guidOf(setTag: number, k: number): string {
  return `${(GENERATED_BASE + k).toString(16).padStart(8, '0')}-${setTag.toString(16).padStart(4, '0')}-${NODE}`;
}

/** The index of a generated object from its Ref_Key, or undefined for created/foreign refs. */
export function indexOf(setTag: number, ref: string): number | undefined {
  const match = /^([0-9a-f]{8})-([0-9a-f]{4})-11e6-aede-5404a6b4b8ed$/.exec(ref);
  if (!match || Number.parseInt(match[2]!, 16) !== setTag) return undefined;
  const k = Number.parseInt(match[1]!, 16) - GENERATED_BASE;
  return k >= 0 ? k : undefined;
}

/** DataVersion as 1C shows it: base64 of 8 bytes, changing on every write. */
export function dataVersion(n: number): string {
  let cached = VERSIONS[n];
  if (cached === undefined) {
    const bytes = Buffer.alloc(8);
    bytes.writeUInt32BE(n, 0);
    cached = bytes.toString('base64');
    if (n < 64) VERSIONS[n] = cached;
  }
  return cached;
}
const VERSIONS: string[] = [];

const f = (name: string, type: EdmType, ref?: string): FieldDef =>
  ref ? { name, type, ref } : { name, type };
const key = (name: string, ref: string) => f(name, 'Edm.Guid', ref);

const CATALOG_HEAD: FieldDef[] = [
  f('Ref_Key', 'Edm.Guid'),
  f('Predefined', 'Edm.Boolean'),
  f('PredefinedDataName', 'Edm.String'),
  f('DataVersion', 'Edm.String'),
  f('Description', 'Edm.String'),
  f('DeletionMark', 'Edm.Boolean'),
];

const catalogHead = (ref: string, description: string, deleted = false) => ({
  Ref_Key: ref,
  Predefined: false,
  PredefinedDataName: '',
  DataVersion: dataVersion(1),
  Description: description,
  DeletionMark: deleted,
});

/** Set tags keep generated GUIDs of different sets apart. */
export const TAGS = {
  product: 0x11a1,
  unit: 0x11a2,
  priceType: 0x11a3,
  warehouse: 0x11a4,
  counterparty: 0x11a5,
  kind: 0x11a6,
  vat: 0x11a7,
  currency: 0x11a8,
  order: 0x11a9,
} as const;

const UNITS = [
  ['шт', '796', 'Штука', 'PCE'],
  ['кг', '166', 'Килограмм', 'KGM'],
  ['упак', '778', 'Упаковка', 'NMP'],
  ['л', '112', 'Литр', 'LTR'],
] as const;
const PRICE_TYPES = [
  ['Розничная', true],
  ['Оптовая', false],
] as const;
const WAREHOUSES = ['Основной склад', 'Склад на Складской, 5', 'Магазин на Тверской'] as const;
const GROUPS = [
  'Бытовая техника',
  'Электроника',
  'Инструменты',
  'Сантехника',
  'Электротовары',
  'Садовый инвентарь',
  'Крепёж',
  'Лакокрасочные материалы',
  'Отделочные материалы',
  'Хозтовары',
] as const;
const NOUNS = [
  'Дрель',
  'Перфоратор',
  'Смеситель',
  'Чайник',
  'Удлинитель',
  'Лопата',
  'Саморез',
  'Краска',
  'Плитка',
  'Ведро',
];

export const GROUP_COUNT = GROUPS.length;
export const PRICE_TYPE_COUNT = PRICE_TYPES.length;
export const WAREHOUSE_COUNT = WAREHOUSES.length;

const pad = (n: number, width: number) => String(n).padStart(width, '0');

/** ИНН with its check digits (10 for a company from 9 digits, 12 for a person from 10), as 1C checks them. */
export function innOf(base: string): string {
  const digit = (digits: string, weights: number[]) =>
    (weights.reduce((sum, w, i) => sum + w * Number(digits[i]), 0) % 11) % 10;
  const w10 = [2, 4, 10, 3, 5, 9, 4, 6, 8];
  const w11 = [7, 2, 4, 10, 3, 5, 9, 4, 6, 8];
  const w12 = [3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8];
  if (base.length === 9) return base + digit(base, w10);
  const eleven = base + digit(base, w11);
  return eleven + digit(eleven, w12);
}

export interface ModelOptions {
  /** Products in Catalog_Номенклатура (besides its 10 folders). */
  items: number;
  counterparties: number;
}

/** All sets of the emulated base for the given sizes. */
export function buildModel(options: ModelOptions): SetDef[] {
  const products = options.items;
  const productRef = (n: number) => guidOf(TAGS.product, GROUP_COUNT + n);
  const unitRef = (i: number) => guidOf(TAGS.unit, i);
  const priceTypeRef = (i: number) => guidOf(TAGS.priceType, i);
  const warehouseRef = (i: number) => guidOf(TAGS.warehouse, i);

  const KIND_REF = guidOf(TAGS.kind, 0);
  const VAT_REF = guidOf(TAGS.vat, 0);

  const nomenclature: SetDef = {
    name: 'Catalog_Номенклатура',
    kind: 'catalog',
    key: ['Ref_Key'],
    writable: true,
    fields: [
      ...CATALOG_HEAD,
      f('Code', 'Edm.String'),
      key('Parent_Key', 'Catalog_Номенклатура'),
      f('IsFolder', 'Edm.Boolean'),
      key('ЕдиницаИзмерения_Key', 'Catalog_УпаковкиЕдиницыИзмерения'),
      f('Артикул', 'Edm.String'),
      f('ВариантОформленияПродажи', 'Edm.String'),
      f('ВесЗнаменатель', 'Edm.Double'),
      f('ВесИспользовать', 'Edm.Boolean'),
      f('ВесЧислитель', 'Edm.Double'),
      key('ВидНоменклатуры_Key', 'Catalog_ВидыНоменклатуры'),
      f('НаименованиеПолное', 'Edm.String'),
      f('ИспользованиеХарактеристик', 'Edm.String'),
      f('ИспользоватьУпаковки', 'Edm.Boolean'),
      f('КодДляПоиска', 'Edm.String'),
      f('Описание', 'Edm.String'),
      key('Производитель_Key', 'Catalog_Производители'),
      f('СрокГодности', 'Edm.Int64'),
      key('СтавкаНДС_Key', 'Catalog_СтавкиНДС'),
      f('ТипНоменклатуры', 'Edm.String'),
      key('ФайлКартинки_Key', 'Catalog_НоменклатураПрисоединенныеФайлы'),
      key('ЦеноваяГруппа_Key', 'Catalog_ЦеновыеГруппы'),
      f('Принципал', 'Edm.String'),
      f('Принципал_Type', 'Edm.String'),
    ],
    tabular: {
      ДополнительныеРеквизиты: [
        f('Ref_Key', 'Edm.Guid'),
        f('LineNumber', 'Edm.Int64'),
        key('Свойство_Key', 'ChartOfCharacteristicTypes_ДополнительныеРеквизитыИСведения'),
        f('Значение', 'Edm.String'),
        f('Значение_Type', 'Edm.String'),
        f('ТекстоваяСтрока', 'Edm.String'),
      ],
    },
    count: () => GROUP_COUNT + products,
    generate(k) {
      const ref = guidOf(TAGS.product, k);
      if (k < GROUP_COUNT) {
        return {
          ...catalogHead(ref, GROUPS[k]!),
          Code: `00-${pad(k + 1, 8)}`,
          Parent_Key: EMPTY_GUID,
          IsFolder: true,
          ЕдиницаИзмерения_Key: EMPTY_GUID,
          Артикул: '',
          ВариантОформленияПродажи: '',
          ВесЗнаменатель: 0,
          ВесИспользовать: false,
          ВесЧислитель: 0,
          ВидНоменклатуры_Key: EMPTY_GUID,
          НаименованиеПолное: '',
          ИспользованиеХарактеристик: '',
          ИспользоватьУпаковки: false,
          КодДляПоиска: '',
          Описание: '',
          Производитель_Key: EMPTY_GUID,
          СрокГодности: '0',
          СтавкаНДС_Key: EMPTY_GUID,
          ТипНоменклатуры: '',
          ФайлКартинки_Key: EMPTY_GUID,
          ЦеноваяГруппа_Key: EMPTY_GUID,
          Принципал: '',
          Принципал_Type: 'StandardODATA.Undefined',
          ДополнительныеРеквизиты: [],
        };
      }
      const n = k - GROUP_COUNT;
      const noun = NOUNS[n % NOUNS.length]!;
      const name = `${noun} модель ${pad(n + 1, 6)}`;
      // One literal without spreads: this runs for every item of every page, and a spread
      // sends V8 down its slow object-cloning path (≈10× slower for a 35-field object).
      return {
        Ref_Key: ref,
        Predefined: false,
        PredefinedDataName: '',
        DataVersion: dataVersion(1),
        Description: name,
        DeletionMark: n % 500 === 499,
        Code: `00-${pad(k + 1, 8)}`,
        Parent_Key: guidOf(TAGS.product, n % GROUP_COUNT),
        IsFolder: false,
        ЕдиницаИзмерения_Key: unitRef(n % 7 === 3 ? 1 : 0),
        Артикул: `АРТ-${pad(n + 1, 6)}`,
        ВариантОформленияПродажи: 'РеализацияТоваровУслуг',
        ВесЗнаменатель: 1,
        ВесИспользовать: n % 3 === 0,
        ВесЧислитель: n % 3 === 0 ? Math.round((n % 97) * 10 + 5) / 100 : 0,
        ВидНоменклатуры_Key: KIND_REF,
        НаименованиеПолное: `${name} (${GROUPS[n % GROUP_COUNT]})`,
        ИспользованиеХарактеристик: 'НеИспользовать',
        ИспользоватьУпаковки: false,
        КодДляПоиска: `АРТ${pad(n + 1, 6)}`,
        Описание: n % 4 === 0 ? `Описание товара ${n + 1}` : '',
        Производитель_Key: EMPTY_GUID,
        СрокГодности: '0',
        СтавкаНДС_Key: VAT_REF,
        ТипНоменклатуры: 'Товар',
        ФайлКартинки_Key: EMPTY_GUID,
        ЦеноваяГруппа_Key: EMPTY_GUID,
        Принципал: '',
        Принципал_Type: 'StandardODATA.Undefined',
        ДополнительныеРеквизиты: [],
      };
    },
  };

  const unitFields = [
    ...CATALOG_HEAD,
    f('Code', 'Edm.String'),
    f('НаименованиеПолное', 'Edm.String'),
    f('МеждународноеСокращение', 'Edm.String'),
    f('Числитель', 'Edm.Double'),
    f('Знаменатель', 'Edm.Double'),
  ];
  const unitAt = (k: number) => {
    const [short, code, full, intl] = UNITS[k]!;
    return {
      ...catalogHead(unitRef(k), short),
      // Classifier codes are fixed-width in 1C: "796 " keeps its padding on the wire.
      Code: code.padEnd(4, ' '),
      НаименованиеПолное: full,
      МеждународноеСокращение: intl,
      Числитель: 1,
      Знаменатель: 1,
    };
  };
  const units: SetDef = {
    name: 'Catalog_УпаковкиЕдиницыИзмерения',
    kind: 'catalog',
    key: ['Ref_Key'],
    writable: true,
    fields: unitFields,
    count: () => UNITS.length,
    generate: unitAt,
  };
  const legacyUnits: SetDef = { ...units, name: 'Catalog_ЕдиницыИзмерения' };

  const priceTypes: SetDef = {
    name: 'Catalog_ВидыЦен',
    kind: 'catalog',
    key: ['Ref_Key'],
    writable: true,
    fields: [
      ...CATALOG_HEAD,
      key('ВалютаЦены_Key', 'Catalog_Валюты'),
      f('ЦенаВключаетНДС', 'Edm.Boolean'),
      f('Статус', 'Edm.String'),
    ],
    count: () => PRICE_TYPES.length,
    generate: (k) => ({
      ...catalogHead(priceTypeRef(k), PRICE_TYPES[k]![0]),
      ВалютаЦены_Key: guidOf(TAGS.currency, 0),
      ЦенаВключаетНДС: PRICE_TYPES[k]![1],
      Статус: 'Действует',
    }),
  };

  const warehouses: SetDef = {
    name: 'Catalog_Склады',
    kind: 'catalog',
    key: ['Ref_Key'],
    writable: true,
    fields: [
      ...CATALOG_HEAD,
      f('Code', 'Edm.String'),
      key('Parent_Key', 'Catalog_Склады'),
      f('IsFolder', 'Edm.Boolean'),
      f('ТипСклада', 'Edm.String'),
    ],
    count: () => WAREHOUSES.length,
    generate: (k) => ({
      ...catalogHead(warehouseRef(k), WAREHOUSES[k]!),
      Code: pad(k + 1, 9),
      Parent_Key: EMPTY_GUID,
      IsFolder: false,
      ТипСклада: k === 2 ? 'РозничныйМагазин' : 'ОптовыйСклад',
    }),
  };

  const contactRow = [
    f('Ref_Key', 'Edm.Guid'),
    f('LineNumber', 'Edm.Int64'),
    f('Тип', 'Edm.String'),
    key('Вид_Key', 'Catalog_ВидыКонтактнойИнформации'),
    f('Представление', 'Edm.String'),
    f('ЗначенияПолей', 'Edm.String'),
    f('АдресЭП', 'Edm.String'),
    f('НомерТелефона', 'Edm.String'),
  ];
  const counterparties: SetDef = {
    name: 'Catalog_Контрагенты',
    kind: 'catalog',
    key: ['Ref_Key'],
    writable: true,
    fields: [
      ...CATALOG_HEAD,
      f('НаименованиеПолное', 'Edm.String'),
      f('ЮридическоеФизическоеЛицо', 'Edm.String'),
      f('ИНН', 'Edm.String'),
      f('КПП', 'Edm.String'),
      f('ДополнительнаяИнформация', 'Edm.String'),
      key('Партнер_Key', 'Catalog_Партнеры'),
      f('ЮрФизЛицо', 'Edm.String'),
      f('КодПоОКПО', 'Edm.String'),
    ],
    tabular: { КонтактнаяИнформация: contactRow },
    count: () => options.counterparties,
    generate(k) {
      const ref = guidOf(TAGS.counterparty, k);
      const person = k % 5 === 4;
      const name = person ? `ИП Кузнецов Пётр ${k + 1}` : `ООО "Ромашка ${k + 1}"`;
      return {
        ...catalogHead(ref, name),
        НаименованиеПолное: person
          ? `Индивидуальный предприниматель Кузнецов Пётр ${k + 1}`
          : `Общество с ограниченной ответственностью "Ромашка ${k + 1}"`,
        ЮридическоеФизическоеЛицо: person ? 'ФизическоеЛицо' : 'ЮридическоеЛицо',
        ИНН: person ? innOf(String(7700000000 + k)) : innOf(String(770000000 + k)),
        КПП: person ? '' : '770101001',
        ДополнительнаяИнформация: '',
        Партнер_Key: EMPTY_GUID,
        ЮрФизЛицо: person ? 'ИндивидуальныйПредприниматель' : 'ЮрЛицо',
        КодПоОКПО: '',
        КонтактнаяИнформация: [
          {
            Ref_Key: ref,
            LineNumber: '1',
            Тип: 'Телефон',
            Вид_Key: EMPTY_GUID,
            Представление: `+7 495 ${pad(k % 1000, 3)}-00-00`,
            ЗначенияПолей: '',
            АдресЭП: '',
            НомерТелефона: `+7495${pad(k % 1000, 3)}0000`,
          },
          {
            Ref_Key: ref,
            LineNumber: '2',
            Тип: 'АдресЭлектроннойПочты',
            Вид_Key: EMPTY_GUID,
            Представление: `info${k + 1}@romashka.example`,
            ЗначенияПолей: '',
            АдресЭП: `info${k + 1}@romashka.example`,
            НомерТелефона: '',
          },
        ],
      };
    },
  };

  const orderRow = [
    f('Ref_Key', 'Edm.Guid'),
    f('LineNumber', 'Edm.Int64'),
    key('Номенклатура_Key', 'Catalog_Номенклатура'),
    key('Характеристика_Key', 'Catalog_ХарактеристикиНоменклатуры'),
    key('Упаковка_Key', 'Catalog_УпаковкиЕдиницыИзмерения'),
    f('КоличествоУпаковок', 'Edm.Double'),
    f('Количество', 'Edm.Double'),
    key('ВидЦены_Key', 'Catalog_ВидыЦен'),
    f('Цена', 'Edm.Double'),
    f('Сумма', 'Edm.Double'),
    key('СтавкаНДС_Key', 'Catalog_СтавкиНДС'),
    f('СуммаНДС', 'Edm.Double'),
    f('СуммаСНДС', 'Edm.Double'),
    f('ПроцентРучнойСкидки', 'Edm.Double'),
    f('СуммаРучнойСкидки', 'Edm.Double'),
    key('Склад_Key', 'Catalog_Склады'),
    f('ВариантОбеспечения', 'Edm.String'),
    f('Отменено', 'Edm.Boolean'),
    key('ПричинаОтмены_Key', 'Catalog_ПричиныОтменыЗаказовКлиентов'),
  ];
  const orders: SetDef = {
    name: 'Document_ЗаказКлиента',
    kind: 'document',
    key: ['Ref_Key'],
    writable: true,
    fields: [
      f('Ref_Key', 'Edm.Guid'),
      f('DataVersion', 'Edm.String'),
      f('Number', 'Edm.String'),
      f('Date', 'Edm.DateTime'),
      f('DeletionMark', 'Edm.Boolean'),
      f('Posted', 'Edm.Boolean'),
      key('Организация_Key', 'Catalog_Организации'),
      key('Партнер_Key', 'Catalog_Партнеры'),
      key('Контрагент_Key', 'Catalog_Контрагенты'),
      key('Соглашение_Key', 'Catalog_СоглашенияСКлиентами'),
      key('Склад_Key', 'Catalog_Склады'),
      key('Валюта_Key', 'Catalog_Валюты'),
      f('ЦенаВключаетНДС', 'Edm.Boolean'),
      f('СуммаДокумента', 'Edm.Double'),
      f('Статус', 'Edm.String'),
      f('ХозяйственнаяОперация', 'Edm.String'),
      f('ЖелаемаяДатаОтгрузки', 'Edm.DateTime'),
      f('НомерПоДаннымКлиента', 'Edm.String'),
      f('ДатаПоДаннымКлиента', 'Edm.DateTime'),
      f('Согласован', 'Edm.Boolean'),
      f('Комментарий', 'Edm.String'),
      f('ДокументОснование', 'Edm.String'),
      f('ДокументОснование_Type', 'Edm.String'),
    ],
    tabular: { Товары: orderRow },
    count: () => 0,
    generate: () => {
      throw new Error('Document_ЗаказКлиента has no generated documents');
    },
    functions: { Post: 'Document_ЗаказКлиента', Unpost: 'Document_ЗаказКлиента' },
  };

  // Independent register УТ fills from the order and the documents against it (payments,
  // shipments): one row per posted order. Заказ is composite (ОпределяемыйТип), so it comes as
  // Заказ + Заказ_Type, not Заказ_Key.
  const orderStates: SetDef = {
    name: ORDER_STATES_SET,
    kind: 'register',
    key: ['Заказ', 'Заказ_Type'],
    writable: false,
    fields: [
      f('Заказ', 'Edm.String'),
      f('Заказ_Type', 'Edm.String'),
      f('Состояние', 'Edm.String'),
      f('ДатаСобытия', 'Edm.DateTime'),
      f('ПроцентОплаты', 'Edm.Double'),
      f('ПроцентОтгрузки', 'Edm.Double'),
      f('ПроцентДолга', 'Edm.Double'),
    ],
    count: () => 0,
    generate: () => {
      throw new Error(`${ORDER_STATES_SET} has no generated records`);
    },
  };

  const priceRecord: SetDef = {
    name: 'InformationRegister_ЦеныНоменклатуры_RecordType',
    kind: 'register',
    key: ['Period', 'Номенклатура_Key', 'Характеристика_Key', 'ВидЦены_Key'],
    writable: false,
    fields: [
      f('Recorder', 'Edm.String'),
      f('Period', 'Edm.DateTime'),
      f('LineNumber', 'Edm.Int64'),
      f('Active', 'Edm.Boolean'),
      key('Номенклатура_Key', 'Catalog_Номенклатура'),
      key('Характеристика_Key', 'Catalog_ХарактеристикиНоменклатуры'),
      key('ВидЦены_Key', 'Catalog_ВидыЦен'),
      f('Цена', 'Edm.Double'),
      key('Упаковка_Key', 'Catalog_УпаковкиЕдиницыИзмерения'),
      key('Валюта_Key', 'Catalog_Валюты'),
      f('Recorder_Type', 'Edm.String'),
    ],
    count: () => products * PRICE_TYPE_COUNT,
    generate(j) {
      const n = Math.floor(j / PRICE_TYPE_COUNT);
      const t = j % PRICE_TYPE_COUNT;
      const base = 100 + (n % 1000) * 1.5;
      return {
        Recorder: guidOf(0x11b0, n % 1000),
        Period: '2026-01-09T00:00:00',
        LineNumber: String(t + 1),
        Active: true,
        Номенклатура_Key: productRef(n),
        Характеристика_Key: EMPTY_GUID,
        ВидЦены_Key: priceTypeRef(t),
        Цена: t === 0 ? base : Math.round(base * 90) / 100,
        Упаковка_Key: EMPTY_GUID,
        Валюта_Key: guidOf(TAGS.currency, 0),
        Recorder_Type: 'StandardODATA.Document_УстановкаЦенНоменклатуры',
      };
    },
    functions: {
      SliceLast: 'InformationRegister_ЦеныНоменклатуры_RecordType',
      SliceFirst: 'InformationRegister_ЦеныНоменклатуры_RecordType',
    },
  };

  const stockBalance: SetDef = {
    name: 'AccumulationRegister_ТоварыНаСкладах_Balance',
    kind: 'virtual',
    key: ['Номенклатура_Key', 'Характеристика_Key', 'Склад_Key'],
    writable: false,
    fields: [
      key('Номенклатура_Key', 'Catalog_Номенклатура'),
      key('Характеристика_Key', 'Catalog_ХарактеристикиНоменклатуры'),
      key('Склад_Key', 'Catalog_Склады'),
      f('ВНаличииBalance', 'Edm.Double'),
      f('ВРезервеСоСкладаBalance', 'Edm.Double'),
      f('ВРезервеПодЗаказBalance', 'Edm.Double'),
    ],
    count: () => products * WAREHOUSE_COUNT,
    generate(j) {
      const n = Math.floor(j / WAREHOUSE_COUNT);
      const w = j % WAREHOUSE_COUNT;
      return {
        Номенклатура_Key: productRef(n),
        Характеристика_Key: EMPTY_GUID,
        Склад_Key: warehouseRef(w),
        // A Balance table has no zero rows: every generated row holds something.
        ВНаличииBalance: 1 + ((n * 7 + w * 3) % 50),
        ВРезервеСоСкладаBalance: (n + w) % 5 === 0 ? 1 : 0,
        ВРезервеПодЗаказBalance: 0,
      };
    },
  };

  const stockRegister: SetDef = {
    name: 'AccumulationRegister_ТоварыНаСкладах',
    kind: 'register',
    key: ['Recorder_Key'],
    writable: false,
    fields: [f('Recorder', 'Edm.String'), f('Recorder_Type', 'Edm.String')],
    count: () => 0,
    generate: () => ({}),
    functions: { Balance: 'AccumulationRegister_ТоварыНаСкладах_Balance' },
  };

  return [
    nomenclature,
    units,
    legacyUnits,
    priceTypes,
    warehouses,
    counterparties,
    orders,
    orderStates,
    priceRecord,
    stockRegister,
    stockBalance,
  ];
}
