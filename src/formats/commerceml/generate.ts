import { once } from 'node:events';
import type { Writable } from 'node:stream';

/**
 * Deterministic CommerceML 2.08 catalogs of any size, written as a stream (constant memory):
 * for benchmarks and the 1C exchange-client emulator. The same options always give the same
 * bytes; ids are derived from (seed, kind, index), so offers can be generated separately and
 * still point at the goods of the import.
 */
export interface GenerateCatalogOptions {
  goods: number;
  propertiesPerGood: number;
  seed: number;
  /** Price types in the offers file (generateOffers); default 2. */
  priceTypes?: number;
  /** Warehouses in the offers file (generateOffers); default 3. */
  warehouses?: number;
}

export interface GeneratedFile {
  bytes: number;
  goods: number;
}

const GROUPS_TOP = 20;
const GROUPS_CHILDREN = 5;
const DICTIONARY_VALUES = 20;
const WORDS = [
  'надёжный',
  'лёгкий',
  'прочный',
  'компактный',
  'стальной',
  'синий',
  'красный',
  'универсальный',
  'профессиональный',
  'бытовой',
  'садовый',
  'кухонный',
  'офисный',
  'дорожный',
  'детский',
  'зимний',
];
const NOUNS = ['Стол', 'Стул', 'Шкаф', 'Лампа', 'Чайник', 'Насос', 'Ключ', 'Молоток', 'Кабель', 'Фильтр'];

/** A 32-bit mix (splitmix-like): the same inputs always give the same output. */
function mix(a: number, b: number, c: number): number {
  let h =
    (Math.imul(a ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(b + 0x632be5ab, 0xc2b2ae35) ^ (c * 0x27d4eb2f)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d) >>> 0;
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

const hex = (n: number) => n.toString(16).padStart(8, '0');

/** A GUID-shaped 1C Ид for object `index` of `kind` (1 = good, 2 = group, 3 = property, …). */
export function generatedId(seed: number, kind: number, index: number): string {
  const a = hex(mix(seed, kind, index));
  const b = hex(mix(seed, kind, index + 0x10000000));
  const c = hex(mix(seed, kind + 100, index));
  const d = hex(mix(seed, kind + 200, index));
  return `${a}-${b.slice(0, 4)}-${b.slice(4)}-${c.slice(0, 4)}-${c.slice(4)}${d}`;
}

const KIND = { good: 1, group: 2, property: 3, value: 4, priceType: 5, warehouse: 6, catalog: 7 } as const;

/** Buffers text into ~64 KB writes and waits for the writable to drain (backpressure). */
class Output {
  private parts: string[] = [];
  private size = 0;
  bytes = 0;
  constructor(private readonly writable: Writable) {}

  async push(text: string): Promise<void> {
    this.parts.push(text);
    this.size += text.length;
    if (this.size >= 32 * 1024) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.parts.length === 0) return;
    const chunk = Buffer.from(this.parts.join(''), 'utf8');
    this.parts = [];
    this.size = 0;
    this.bytes += chunk.length;
    if (!this.writable.write(chunk)) await once(this.writable, 'drain');
  }
}

const HEAD = (stamp: string) =>
  `\ufeff<?xml version="1.0" encoding="UTF-8"?>\n<КоммерческаяИнформация xmlns="urn:1C.ru:commerceml_2" ВерсияСхемы="2.08" ДатаФормирования="${stamp}">\n`;
const STAMP = '2024-01-15T10:00:00';

function groupIndex(good: number): number {
  const top = good % GROUPS_TOP;
  return GROUPS_TOP + top * GROUPS_CHILDREN + (Math.floor(good / GROUPS_TOP) % GROUPS_CHILDREN);
}

function isDictionary(property: number): boolean {
  return property % 3 === 0;
}

/** import.xml: classifier (groups, properties with dictionary values) and `goods` goods. */
export async function generateCatalog(
  options: GenerateCatalogOptions,
  writable: Writable,
): Promise<GeneratedFile> {
  const { goods, propertiesPerGood, seed } = options;
  const out = new Output(writable);
  const catalogId = generatedId(seed, KIND.catalog, 0);
  await out.push(HEAD(STAMP));
  await out.push(
    `\t<Классификатор>\n\t\t<Ид>${catalogId}</Ид>\n\t\t<Наименование>Классификатор (Каталог товаров)</Наименование>\n\t\t<Группы>\n`,
  );
  for (let top = 0; top < GROUPS_TOP; top++) {
    let text = `\t\t\t<Группа>\n\t\t\t\t<Ид>${generatedId(seed, KIND.group, top)}</Ид>\n\t\t\t\t<Наименование>Раздел ${top + 1}</Наименование>\n\t\t\t\t<Группы>\n`;
    for (let c = 0; c < GROUPS_CHILDREN; c++) {
      const index = GROUPS_TOP + top * GROUPS_CHILDREN + c;
      text += `\t\t\t\t\t<Группа>\n\t\t\t\t\t\t<Ид>${generatedId(seed, KIND.group, index)}</Ид>\n\t\t\t\t\t\t<Наименование>Подраздел ${top + 1}.${c + 1}</Наименование>\n\t\t\t\t\t</Группа>\n`;
    }
    await out.push(`${text}\t\t\t\t</Группы>\n\t\t\t</Группа>\n`);
  }
  await out.push('\t\t</Группы>\n\t\t<Свойства>\n');
  for (let p = 0; p < propertiesPerGood; p++) {
    let text = `\t\t\t<Свойство>\n\t\t\t\t<Ид>${generatedId(seed, KIND.property, p)}</Ид>\n\t\t\t\t<Наименование>Свойство ${p + 1}</Наименование>\n`;
    if (isDictionary(p)) {
      text += '\t\t\t\t<ТипЗначений>Справочник</ТипЗначений>\n\t\t\t\t<ВариантыЗначений>\n';
      for (let v = 0; v < DICTIONARY_VALUES; v++) {
        text += `\t\t\t\t\t<Справочник>\n\t\t\t\t\t\t<ИдЗначения>${generatedId(seed, KIND.value, p * DICTIONARY_VALUES + v)}</ИдЗначения>\n\t\t\t\t\t\t<Значение>Вариант ${v + 1}</Значение>\n\t\t\t\t\t</Справочник>\n`;
      }
      text += '\t\t\t\t</ВариантыЗначений>\n';
    } else {
      text += '\t\t\t\t<ТипЗначений>Строка</ТипЗначений>\n';
    }
    await out.push(`${text}\t\t\t</Свойство>\n`);
  }
  await out.push(
    `\t\t</Свойства>\n\t</Классификатор>\n\t<Каталог СодержитТолькоИзменения="false">\n\t\t<Ид>${catalogId}</Ид>\n\t\t<ИдКлассификатора>${catalogId}</ИдКлассификатора>\n\t\t<Наименование>Каталог товаров</Наименование>\n\t\t<Товары>\n`,
  );
  for (let g = 0; g < goods; g++) {
    const r = mix(seed, 99, g);
    const noun = NOUNS[r % NOUNS.length]!;
    const adjective = WORDS[(r >>> 8) % WORDS.length]!;
    const name = `${noun} ${adjective} ${g + 1}`;
    let description = '';
    for (let w = 0; w < 24; w++) description += `${WORDS[mix(seed, g, w) % WORDS.length]} `;
    let text = `\t\t\t<Товар>\n\t\t\t\t<Ид>${generatedId(seed, KIND.good, g)}</Ид>\n\t\t\t\t<Штрихкод>${String(4600000000000 + g)}</Штрихкод>\n\t\t\t\t<Артикул>ART-${g + 1}</Артикул>\n\t\t\t\t<Наименование>${name}</Наименование>\n\t\t\t\t<БазоваяЕдиница Код="796" НаименованиеПолное="Штука" МеждународноеСокращение="PCE">шт</БазоваяЕдиница>\n\t\t\t\t<Группы>\n\t\t\t\t\t<Ид>${generatedId(seed, KIND.group, groupIndex(g))}</Ид>\n\t\t\t\t</Группы>\n\t\t\t\t<Описание>${description.trim()}</Описание>\n\t\t\t\t<ЗначенияСвойств>\n`;
    for (let p = 0; p < propertiesPerGood; p++) {
      const value = isDictionary(p)
        ? generatedId(seed, KIND.value, p * DICTIONARY_VALUES + (mix(seed, g, p + 1000) % DICTIONARY_VALUES))
        : `Значение ${(mix(seed, g, p) % 1000) + 1}`;
      text += `\t\t\t\t\t<ЗначенияСвойства>\n\t\t\t\t\t\t<Ид>${generatedId(seed, KIND.property, p)}</Ид>\n\t\t\t\t\t\t<Значение>${value}</Значение>\n\t\t\t\t\t</ЗначенияСвойства>\n`;
    }
    text += `\t\t\t\t</ЗначенияСвойств>\n\t\t\t\t<СтавкиНалогов>\n\t\t\t\t\t<СтавкаНалога>\n\t\t\t\t\t\t<Наименование>НДС</Наименование>\n\t\t\t\t\t\t<Ставка>20</Ставка>\n\t\t\t\t\t</СтавкаНалога>\n\t\t\t\t</СтавкиНалогов>\n\t\t\t\t<ЗначенияРеквизитов>\n\t\t\t\t\t<ЗначениеРеквизита>\n\t\t\t\t\t\t<Наименование>ВидНоменклатуры</Наименование>\n\t\t\t\t\t\t<Значение>Товар</Значение>\n\t\t\t\t\t</ЗначениеРеквизита>\n\t\t\t\t\t<ЗначениеРеквизита>\n\t\t\t\t\t\t<Наименование>ТипНоменклатуры</Наименование>\n\t\t\t\t\t\t<Значение>Товар</Значение>\n\t\t\t\t\t</ЗначениеРеквизита>\n\t\t\t\t\t<ЗначениеРеквизита>\n\t\t\t\t\t\t<Наименование>Полное наименование</Наименование>\n\t\t\t\t\t\t<Значение>${name} (полное)</Значение>\n\t\t\t\t\t</ЗначениеРеквизита>\n\t\t\t\t</ЗначенияРеквизитов>\n\t\t\t</Товар>\n`;
    await out.push(text);
  }
  await out.push('\t\t</Товары>\n\t</Каталог>\n</КоммерческаяИнформация>\n');
  await out.flush();
  return { bytes: out.bytes, goods };
}

/** offers.xml for the goods of generateCatalog with the same seed: prices per type and stock per warehouse. */
export async function generateOffers(
  options: GenerateCatalogOptions,
  writable: Writable,
): Promise<GeneratedFile> {
  const { goods, seed } = options;
  const priceTypes = options.priceTypes ?? 2;
  const warehouses = options.warehouses ?? 3;
  const out = new Output(writable);
  const catalogId = generatedId(seed, KIND.catalog, 0);
  await out.push(HEAD(STAMP));
  let text = `\t<ПакетПредложений СодержитТолькоИзменения="false">\n\t\t<Ид>${catalogId}#</Ид>\n\t\t<Наименование>Пакет предложений (Каталог товаров)</Наименование>\n\t\t<ИдКаталога>${catalogId}</ИдКаталога>\n\t\t<ИдКлассификатора>${catalogId}</ИдКлассификатора>\n\t\t<ТипыЦен>\n`;
  for (let t = 0; t < priceTypes; t++) {
    text += `\t\t\t<ТипЦены>\n\t\t\t\t<Ид>${generatedId(seed, KIND.priceType, t)}</Ид>\n\t\t\t\t<Наименование>Цена ${t + 1}</Наименование>\n\t\t\t\t<Валюта>RUB</Валюта>\n\t\t\t</ТипЦены>\n`;
  }
  text += '\t\t</ТипыЦен>\n\t\t<Склады>\n';
  for (let w = 0; w < warehouses; w++) {
    text += `\t\t\t<Склад>\n\t\t\t\t<Ид>${generatedId(seed, KIND.warehouse, w)}</Ид>\n\t\t\t\t<Наименование>Склад ${w + 1}</Наименование>\n\t\t\t</Склад>\n`;
  }
  await out.push(`${text}\t\t</Склады>\n\t\t<Предложения>\n`);
  for (let g = 0; g < goods; g++) {
    const id = generatedId(seed, KIND.good, g);
    let offer = `\t\t\t<Предложение>\n\t\t\t\t<Ид>${id}</Ид>\n\t\t\t\t<Наименование>Товар ${g + 1}</Наименование>\n\t\t\t\t<Цены>\n`;
    for (let t = 0; t < priceTypes; t++) {
      const price = ((mix(seed, g, t + 500) % 1000000) / 100 + 1).toFixed(2);
      offer += `\t\t\t\t\t<Цена>\n\t\t\t\t\t\t<Представление>${price} RUB за шт</Представление>\n\t\t\t\t\t\t<ИдТипаЦены>${generatedId(seed, KIND.priceType, t)}</ИдТипаЦены>\n\t\t\t\t\t\t<ЦенаЗаЕдиницу>${price}</ЦенаЗаЕдиницу>\n\t\t\t\t\t\t<Валюта>RUB</Валюта>\n\t\t\t\t\t\t<Единица>шт</Единица>\n\t\t\t\t\t\t<Коэффициент>1</Коэффициент>\n\t\t\t\t\t</Цена>\n`;
    }
    let total = 0;
    let stores = '';
    for (let w = 0; w < warehouses; w++) {
      const quantity = mix(seed, g, w + 900) % 50;
      total += quantity;
      stores += `\t\t\t\t<Склад ИдСклада="${generatedId(seed, KIND.warehouse, w)}" КоличествоНаСкладе="${quantity}"/>\n`;
    }
    await out.push(
      `${offer}\t\t\t\t</Цены>\n\t\t\t\t<Количество>${total}</Количество>\n${stores}\t\t\t</Предложение>\n`,
    );
  }
  await out.push('\t\t</Предложения>\n\t</ПакетПредложений>\n</КоммерческаяИнформация>\n');
  await out.flush();
  return { bytes: out.bytes, goods };
}
