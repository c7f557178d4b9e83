import { type Expr, FilterError, parseFilter } from './filter.ts';
import {
  EMPTY_DATE,
  EMPTY_GUID,
  type FieldDef,
  GROUP_COUNT,
  guidOf,
  indexOf,
  ORDER_STATES_SET,
  PRICE_TYPE_COUNT,
  type SetDef,
  TAGS,
  WAREHOUSE_COUNT,
} from './model.ts';
import { createOrderDesk, ORDERS_SET, type OrderDesk } from './order-states.ts';
import { SetStore } from './store.ts';
import { OdataRequestError } from './wire.ts';

/**
 * The emulated base: every set's store, reads with 1C's projections and virtual tables, and
 * writes with the checks a УТ 11 base makes (ПередЗаписью, posting).
 */
export interface Catalog {
  set(name: string): SetStore | undefined;
  fieldNames(name: string): ReadonlySet<string>;
  /** `SliceLast(Period=…,Condition='…')` / `Balance()` on a register set. */
  virtual(setName: string, call: string, query: Map<string, string>): VirtualSource;
  orderOf(name: string, orderBy: string | undefined): Array<{ field: string; desc: boolean }> | null;
  project(name: string, row: Record<string, unknown>, select: string[] | undefined): Record<string, unknown>;
  create(name: string, body: Record<string, unknown>): Record<string, unknown>;
  update(name: string, ref: string, body: Record<string, unknown>, replace: boolean): Record<string, unknown>;
  remove(name: string, ref: string): boolean;
  post(name: string, ref: string, posted: boolean): void;
  /** Test helpers: read, edit as a 1C user would (DataVersion moves), change a price. */
  get(name: string, ref: string): Record<string, unknown> | undefined;
  edit(name: string, ref: string, patch: Record<string, unknown>): Record<string, unknown>;
  setPrice(product: number, priceType: number, value: number): void;
  /** Sets a balance; 0 removes the row from the Balance table, as 1C's virtual table has no zero rows. */
  setStock(product: number, warehouse: number, quantity: number): void;
  created(name: string): Array<Record<string, unknown>>;
  /** What a 1C user does to customer orders: status, payment, shipment, cancellation. */
  orders: OrderDesk;
  refs: {
    product(n: number): string;
    group(n: number): string;
    unit(n: number): string;
    priceType(n: number): string;
    warehouse(n: number): string;
    counterparty(n: number): string;
  };
}

export interface VirtualSource {
  name: string;
  store: SetStore;
  extra: Expr | undefined;
}

const SET_TAGS: Record<string, number> = {
  Catalog_Номенклатура: TAGS.product,
  Catalog_УпаковкиЕдиницыИзмерения: TAGS.unit,
  Catalog_ЕдиницыИзмерения: TAGS.unit,
  Catalog_ВидыЦен: TAGS.priceType,
  Catalog_Склады: TAGS.warehouse,
  Catalog_Контрагенты: TAGS.counterparty,
  Document_ЗаказКлиента: TAGS.order,
};

/** Orders that follow generation order, so the store answers them without sorting. */
const NATURAL: Record<string, string[]> = {
  InformationRegister_ЦеныНоменклатуры_RecordType: ['Номенклатура_Key', 'ВидЦены_Key'],
  AccumulationRegister_ТоварыНаСкладах_Balance: ['Номенклатура_Key', 'Склад_Key'],
};

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DATETIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$/;

function emptyOf(field: FieldDef): unknown {
  switch (field.type) {
    case 'Edm.Guid':
      return EMPTY_GUID;
    case 'Edm.Boolean':
      return false;
    case 'Edm.DateTime':
      return EMPTY_DATE;
    case 'Edm.Double':
    case 'Edm.Int16':
      return 0;
    case 'Edm.Int64':
      return '0';
    default:
      return '';
  }
}

/** Checks and normalises one written value the way 1C reads JSON (Int64 kept as a string). */
function coerce(field: FieldDef, value: unknown): unknown {
  const bad = () => new OdataRequestError(400, '4', `Неверное значение свойства "${field.name}"`);
  if (value === null) return emptyOf(field);
  switch (field.type) {
    case 'Edm.Guid':
      if (typeof value !== 'string' || !GUID.test(value)) throw bad();
      return value.toLowerCase();
    case 'Edm.Boolean':
      if (typeof value !== 'boolean') throw bad();
      return value;
    case 'Edm.DateTime':
      if (typeof value !== 'string' || !DATETIME.test(value.slice(0, 19))) throw bad();
      return value.slice(0, 19);
    case 'Edm.Double':
    case 'Edm.Int16': {
      const n = typeof value === 'string' ? Number(value) : value;
      if (typeof n !== 'number' || !Number.isFinite(n)) throw bad();
      return n;
    }
    case 'Edm.Int64': {
      const n = typeof value === 'string' ? Number(value) : value;
      if (typeof n !== 'number' || !Number.isInteger(n)) throw bad();
      return String(n);
    }
    default:
      if (typeof value !== 'string') throw bad();
      return value;
  }
}

const pad = (n: number, width: number) => String(n).padStart(width, '0');

/** 22.11.2026 10:00:00 — how 1C prints a document date in its messages. */
function printDate(value: unknown): string {
  const text = String(value ?? '');
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})/.exec(text);
  return m ? `${m[3]}.${m[2]}.${m[1]} ${Number(m[4])}:${m[5]}:${m[6]}` : text;
}

function localNow(): string {
  const now = new Date();
  return `${now.getFullYear()}-${pad(now.getMonth() + 1, 2)}-${pad(now.getDate(), 2)}T${pad(now.getHours(), 2)}:${pad(now.getMinutes(), 2)}:${pad(now.getSeconds(), 2)}`;
}

export function createCatalog(model: readonly SetDef[], serviceUrl: () => string): Catalog {
  const defs = new Map(model.map((def) => [def.name, def]));
  const stores = new Map<string, SetStore>();
  for (const def of model) {
    const tag = SET_TAGS[def.name];
    stores.set(def.name, new SetStore(def, (ref) => (tag === undefined ? undefined : indexOf(tag, ref))));
  }
  const fieldCache = new Map<string, Set<string>>();
  let documentCounter = 0;
  void serviceUrl;
  const orderDesk = createOrderDesk({
    orders: stores.get(ORDERS_SET)!,
    states: stores.get(ORDER_STATES_SET)!,
    now: localNow,
  });

  const defOf = (name: string): SetDef => {
    const def = defs.get(name);
    if (!def) throw new OdataRequestError(404, '8', `"${name}" entity is not found`);
    return def;
  };
  const storeOf = (name: string): SetStore => stores.get(name) ?? (defOf(name) as never);

  function fieldNames(name: string): ReadonlySet<string> {
    let names = fieldCache.get(name);
    if (!names) {
      const def = defOf(name);
      names = new Set([...def.fields.map((f) => f.name), ...Object.keys(def.tabular ?? {})]);
      fieldCache.set(name, names);
    }
    return names;
  }

  /** Applies written fields: unknown ones are ignored (DOC 17.4.13.1.2), tabular sections replaced whole. */
  function apply(def: SetDef, target: Record<string, unknown>, body: Record<string, unknown>): void {
    const byName = new Map(def.fields.map((f) => [f.name, f]));
    for (const [key, value] of Object.entries(body)) {
      if (key.includes('@') || key === 'Ref_Key' || key === 'DataVersion' || key === 'Posted') continue;
      const field = byName.get(key);
      if (field) {
        target[key] = coerce(field, value);
        continue;
      }
      const rowFields = def.tabular?.[key];
      if (!rowFields) continue;
      if (!Array.isArray(value)) throw new OdataRequestError(400, '4', `Неверное значение свойства "${key}"`);
      target[key] = value.map((row, i) => {
        const out: Record<string, unknown> = {};
        for (const rowField of rowFields) out[rowField.name] = emptyOf(rowField);
        const given = (row ?? {}) as Record<string, unknown>;
        for (const rowField of rowFields) {
          if (rowField.name in given) out[rowField.name] = coerce(rowField, given[rowField.name]);
        }
        out['Ref_Key'] = target['Ref_Key'];
        out['LineNumber'] = String(i + 1);
        return out;
      });
    }
  }

  /** What УТ's ПередЗаписью handlers refuse (the emulator's stand-in for them). */
  function beforeWrite(def: SetDef, object: Record<string, unknown>): void {
    if (
      def.kind === 'catalog' &&
      String(object['Description'] ?? '').trim() === '' &&
      object['IsFolder'] !== true
    ) {
      throw new OdataRequestError(
        500,
        '-1',
        'Ошибка при вызове метода контекста (Записать): Поле "Наименование" не заполнено',
      );
    }
  }

  /** The checks of posting a Заказ клиента: customer, lines, goods, quantities. */
  function postingProblems(def: SetDef, object: Record<string, unknown>): string[] {
    const problems: string[] = [];
    const customer = String(object['Контрагент_Key'] ?? EMPTY_GUID);
    if (customer === EMPTY_GUID) problems.push('Поле "Контрагент" не заполнено');
    else if (!storeOf('Catalog_Контрагенты').get(customer))
      problems.push('Поле "Контрагент": объект не найден');
    const rows = (object['Товары'] ?? []) as Array<Record<string, unknown>>;
    if (def.tabular?.['Товары'] && rows.length === 0)
      problems.push('Не введено ни одной строки в список "Товары"');
    rows.forEach((row, i) => {
      const product = String(row['Номенклатура_Key'] ?? EMPTY_GUID);
      const found = product === EMPTY_GUID ? undefined : storeOf('Catalog_Номенклатура').get(product);
      if (!found || found['IsFolder'] === true) {
        problems.push(`В строке ${i + 1} списка "Товары" не заполнена колонка "Номенклатура"`);
      }
      if (!(Number(row['Количество']) > 0)) {
        problems.push(`В строке ${i + 1} списка "Товары" не заполнена колонка "Количество"`);
      }
    });
    return problems;
  }

  const catalog: Catalog = {
    set: (name) => stores.get(name),
    fieldNames,
    virtual(setName, call, query) {
      const def = defOf(setName);
      const match = /^(\w+)(?:\((.*)\))?$/s.exec(call);
      const fn = match?.[1];
      const target = fn ? def.functions?.[fn] : undefined;
      if (!match || !fn || !target || fn === 'Post' || fn === 'Unpost') {
        throw new OdataRequestError(400, '6', 'Метод не найден');
      }
      const params = parseParams(match[2] ?? '');
      const condition = params.get('Condition') ?? query.get('Condition');
      return {
        name: target,
        store: storeOf(target),
        extra: condition ? parseFilter(condition, fieldNames(target)) : undefined,
      };
    },
    orderOf(name, text) {
      if (!text) return null;
      const names = fieldNames(name);
      const terms = text.split(',').map((term) => {
        const [field = '', direction = 'asc'] = term.trim().split(/\s+/);
        if (!names.has(field)) throw new OdataRequestError(400, '6', `Сегмент пути ${field} не найден!`);
        return { field, desc: direction.toLowerCase() === 'desc' };
      });
      const natural = NATURAL[name] ?? (defOf(name).key.includes('Ref_Key') ? ['Ref_Key'] : []);
      const isNatural = terms.every((term, i) => !term.desc && natural[i] === term.field);
      return isNatural ? null : terms;
    },
    project(name, row, select) {
      const def = defOf(name);
      const all = !select || select.includes('*');
      const names = fieldNames(name);
      const out: Record<string, unknown> = {};
      if (all) Object.assign(out, row);
      else {
        for (const field of select) {
          if (field === '**') {
            for (const f of def.fields) out[f.name] = row[f.name];
            continue;
          }
          if (!names.has(field)) throw new OdataRequestError(400, '6', `Сегмент пути ${field} не найден!`);
          out[field] = row[field];
        }
      }
      const ref = row['Ref_Key'];
      if (typeof ref === 'string') {
        for (const field of def.fields) {
          if (!field.ref || !(field.name in out) || out[field.name] === EMPTY_GUID) continue;
          const nav = field.name.replace(/_Key$/, '');
          out[`${nav}@navigationLinkUrl`] = `${name}(guid'${ref}')/${nav}`;
        }
      }
      return out;
    },
    create(name, body) {
      const def = defOf(name);
      if (!def.writable) throw new OdataRequestError(405, '19', 'HTTP-метод не разрешён');
      const store = storeOf(name);
      const given =
        typeof body['Ref_Key'] === 'string' && GUID.test(body['Ref_Key'])
          ? body['Ref_Key'].toLowerCase()
          : undefined;
      if (given && store.get(given)) throw new OdataRequestError(400, '15', 'Дублирование ключа');
      const ref = given ?? store.newRef();
      const object: Record<string, unknown> = {};
      for (const field of def.fields) object[field.name] = emptyOf(field);
      for (const section of Object.keys(def.tabular ?? {})) object[section] = [];
      object['Ref_Key'] = ref;
      object['Predefined'] = false;
      if (def.kind === 'document') {
        object['Date'] = localNow();
        object['Posted'] = false;
      }
      apply(def, object, body);
      if (def.kind === 'document' && object['Number'] === '')
        object['Number'] = `УТ-${pad(++documentCounter, 6)}`;
      beforeWrite(def, object);
      return store.put(ref, object);
    },
    update(name, ref, body, replace) {
      const def = defOf(name);
      if (!def.writable) throw new OdataRequestError(405, '19', 'HTTP-метод не разрешён');
      const store = storeOf(name);
      const existing = store.get(ref);
      if (!existing)
        throw new OdataRequestError(
          404,
          '9',
          `Экземпляр сущности "${name.replace(/^[A-Za-z]+_/, '')}" не найден по переданному ключу.`,
        );
      const object: Record<string, unknown> = { ...existing };
      if (replace)
        for (const field of def.fields)
          if (!def.key.includes(field.name)) object[field.name] = emptyOf(field);
      apply(def, object, body);
      beforeWrite(def, object);
      const stored = store.put(ref, object);
      if (name === ORDERS_SET) orderDesk.refresh(ref);
      return stored;
    },
    remove: (name, ref) => {
      const removed = storeOf(name).remove(ref);
      if (name === ORDERS_SET) orderDesk.refresh(ref);
      return removed;
    },
    post(name, ref, posted) {
      const def = defOf(name);
      if (def.kind !== 'document') throw new OdataRequestError(400, '6', 'Метод не найден');
      const store = storeOf(name);
      const existing = store.get(ref);
      if (!existing)
        throw new OdataRequestError(
          404,
          '9',
          `Экземпляр сущности "${name.replace(/^[A-Za-z]+_/, '')}" не найден по переданному ключу.`,
        );
      if (posted) {
        const problems = postingProblems(def, existing);
        if (problems.length > 0) {
          throw new OdataRequestError(
            500,
            '-1',
            `Не удалось провести "Заказ клиента ${existing['Number']} от ${printDate(existing['Date'])}"!\n${problems.join('\n')}`,
          );
        }
      }
      store.put(ref, { ...existing, Posted: posted });
      if (name === ORDERS_SET) orderDesk.refresh(ref);
    },
    get: (name, ref) => storeOf(name).get(ref),
    edit(name, ref, patch) {
      const store = storeOf(name);
      const existing = store.get(ref);
      if (!existing) throw new Error(`${name}: no object ${ref}`);
      return store.put(ref, { ...existing, ...patch });
    },
    setPrice(product, priceType, value) {
      const store = storeOf('InformationRegister_ЦеныНоменклатуры_RecordType');
      const k = product * PRICE_TYPE_COUNT + priceType;
      const current = store.generated(k);
      if (!current) throw new Error(`no price record for product ${product}, price type ${priceType}`);
      store.putIndex(k, { ...current, Цена: value });
    },
    setStock(product, warehouse, quantity) {
      const store = storeOf('AccumulationRegister_ТоварыНаСкладах_Balance');
      const k = product * WAREHOUSE_COUNT + warehouse;
      if (quantity === 0) {
        store.removeIndex(k);
        return;
      }
      const current = store.generated(k) ?? store.def.generate(k);
      store.putIndex(k, { ...current, ВНаличииBalance: quantity });
    },
    created: (name) => storeOf(name).createdObjects(),
    orders: orderDesk,
    refs: {
      product: (n) => guidOf(TAGS.product, GROUP_COUNT + n),
      group: (n) => guidOf(TAGS.product, n),
      unit: (n) => guidOf(TAGS.unit, n),
      priceType: (n) => guidOf(TAGS.priceType, n),
      warehouse: (n) => guidOf(TAGS.warehouse, n),
      counterparty: (n) => guidOf(TAGS.counterparty, n),
    },
  };
  return catalog;
}

/** `Period=datetime'…',Condition='Склад_Key eq guid''…'''` → parameters (quotes respected). */
function parseParams(text: string): Map<string, string> {
  const params = new Map<string, string>();
  let i = 0;
  while (i < text.length) {
    const eq = text.indexOf('=', i);
    if (eq < 0) break;
    const name = text.slice(i, eq).trim();
    let j = eq + 1;
    let value = '';
    if (text[j] === "'") {
      j++;
      for (;;) {
        if (j >= text.length) throw new FilterError('Error parsing query option', '14');
        if (text[j] === "'") {
          if (text[j + 1] === "'") {
            value += "'";
            j += 2;
            continue;
          }
          j++;
          break;
        }
        value += text[j++];
      }
    } else {
      const comma = text.indexOf(',', j);
      value = text.slice(j, comma < 0 ? text.length : comma);
      j = comma < 0 ? text.length : comma;
    }
    params.set(name, value.trim());
    while (text[j] === ',' || text[j] === ' ') j++;
    i = j;
  }
  return params;
}
