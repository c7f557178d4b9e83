import { crmError, RestError } from './errors.ts';
import type { MethodOutput, MethodTable } from './methods.ts';
import { asList, asObject, type Params } from './params.ts';
import { listRows, type PortalState, type Row } from './state.ts';

/** Legacy CRM entities (crm.contact.*, crm.company.*, crm.deal.*): UPPER_CASE, numbers as strings. */
const ENTITIES = {
  contact: { event: 'CONTACT', typeId: 3 },
  company: { event: 'COMPANY', typeId: 4 },
  deal: { event: 'DEAL', typeId: 2 },
} as const;
type Entity = keyof typeof ENTITIES;

const MULTI_FIELDS = ['PHONE', 'EMAIL', 'WEB', 'IM'] as const;
const EMAIL_KIND: Record<string, string> = { WORK: 'Work', HOME: 'Home', MAILING: 'Mailing', OTHER: 'Other' };
const UF_NAME = /^UF_CRM_[A-Z0-9_]{1,43}$/;

/** Legacy CRM stores scalars as strings: 1000 → "1000", true → "Y". */
function legacyScalar(value: unknown): unknown {
  if (typeof value === 'number') return String(value);
  if (typeof value === 'boolean') return value ? 'Y' : 'N';
  if (Array.isArray(value)) return value.map(legacyScalar);
  return value;
}

function requireId(params: Params): number {
  const raw = params['id'] ?? params['ID'];
  const id = Number(raw);
  if (!Number.isInteger(id) || id <= 0) throw crmError('ID is not defined or invalid.');
  return id;
}

function requireFields(params: Params): Params {
  const fields = asObject(params['fields'] ?? params['FIELDS']);
  if (!fields) throw crmError("Parameter 'fields' must be array.");
  return fields;
}

/**
 * crm_multifield as crm.*.update documents it: a value without an ID is APPENDED; one with the ID
 * of a held value replaces it; DELETE=Y, an empty VALUE or no VALUE at all removes it. An ID the
 * object does not hold is ignored.
 */
function applyMultiFields(state: PortalState, row: Row, type: string, input: unknown): void {
  const current = (row[type] as Row[] | undefined) ?? [];
  for (const raw of asList(input)) {
    const item = asObject(raw);
    if (!item) continue;
    const id = item['ID'] === undefined || item['ID'] === '' ? undefined : String(item['ID']);
    if (id !== undefined) {
      const existing = current.find((m) => m['ID'] === id);
      if (!existing) continue;
      const value = item['VALUE'] === undefined ? '' : String(item['VALUE']);
      if (item['DELETE'] === 'Y' || value === '') current.splice(current.indexOf(existing), 1);
      else {
        existing['VALUE'] = value;
        if (item['VALUE_TYPE'] !== undefined) existing['VALUE_TYPE'] = String(item['VALUE_TYPE']);
      }
      continue;
    }
    if (item['VALUE'] === undefined || item['VALUE'] === '') continue;
    current.push({
      ID: String(state.nextId('multifield')),
      VALUE_TYPE: String(item['VALUE_TYPE'] ?? 'WORK'),
      VALUE: String(item['VALUE']),
      TYPE_ID: type,
    });
  }
  row[type] = current;
}

/** Unknown fields are ignored, as Bitrix24 does: a UF_CRM_ field must exist before it is stored. */
function applyFields(state: PortalState, entity: Entity, row: Row, fields: Params): void {
  const known = new Set((state.userFields.get(entity) ?? []).map((f) => f['FIELD_NAME']));
  for (const [key, value] of Object.entries(fields)) {
    if ((MULTI_FIELDS as readonly string[]).includes(key)) {
      applyMultiFields(state, row, key, value);
      continue;
    }
    if (key.startsWith('UF_') && !known.has(key)) continue;
    if (key === 'ID' || key === 'DATE_CREATE' || key === 'DATE_MODIFY') continue;
    row[key] = legacyScalar(value);
  }
}

/**
 * What a deal's stage means, as Bitrix24 keeps it beside STAGE_ID: STAGE_SEMANTIC_ID P (in
 * progress), S (won), F (lost), and CLOSED Y for the last two. A deal moved out of a final stage
 * is open again.
 */
function stageSemantics(row: Row): void {
  const code = String(row['STAGE_ID'] ?? 'NEW').replace(/^C\d+:/, '');
  const semantic = code === 'WON' ? 'S' : code === 'LOSE' || code === 'APOLOGY' ? 'F' : 'P';
  row['STAGE_SEMANTIC_ID'] = semantic;
  row['CLOSED'] = semantic === 'P' ? 'N' : 'Y';
}

function validate(entity: Entity, row: Row): void {
  if (entity === 'deal' && row['STAGE_ID'] !== undefined) {
    const stage = String(row['STAGE_ID']);
    if (!/^(C\d+:)?[A-Z0-9_]+$/.test(stage)) throw crmError(`Stage "${stage}" is not found.`);
  }
  if (entity === 'company' && !String(row['TITLE'] ?? '').trim()) {
    throw crmError('The field "Company name" is required.');
  }
  if (entity === 'contact') {
    const named = ['NAME', 'LAST_NAME', 'SECOND_NAME'].some((k) => String(row[k] ?? '').trim());
    if (!named) throw crmError('The field "First name" or "Last name" is required.');
  }
  for (const m of (row['EMAIL'] as Row[] | undefined) ?? []) {
    if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(String(m['VALUE']))) {
      const kind = EMAIL_KIND[String(m['VALUE_TYPE'])] ?? 'Other';
      throw new RestError(400, 'ERROR_CORE', `The field "${kind} e-mail" contains an invalid address`);
    }
  }
}

function entityMethods(entity: Entity): MethodTable {
  const prefix = `crm.${entity}`;
  const { event } = ENTITIES[entity];
  const get = (state: PortalState, id: number): Row => {
    const row = state.table(entity).get(id);
    if (!row) throw crmError('Not found');
    return row;
  };
  return {
    [`${prefix}.fields`]: (_p, { state }) => ({
      result: Object.fromEntries(
        ['ID', 'TITLE', 'NAME', 'LAST_NAME', 'PHONE', 'EMAIL', 'ORIGINATOR_ID', 'ORIGIN_ID', 'DATE_MODIFY']
          .concat((state.userFields.get(entity) ?? []).map((f) => String(f['FIELD_NAME'])))
          .map((name) => [name, { type: 'string', isRequired: false, title: name }]),
      ),
    }),
    [`${prefix}.add`]: (params, { state }) => {
      const fields = requireFields(params);
      const id = state.nextId(entity);
      const now = state.date();
      const row: Row = { ID: String(id), DATE_CREATE: now, DATE_MODIFY: now };
      if (entity === 'deal')
        Object.assign(row, { STAGE_ID: 'NEW', CATEGORY_ID: '0', OPPORTUNITY: '0.00', CURRENCY_ID: 'RUB' });
      applyFields(state, entity, row, fields);
      validate(entity, row);
      if (entity === 'deal') stageSemantics(row);
      state.table(entity).set(id, row);
      state.emit(`ONCRM${event}ADD`, id);
      return { result: id };
    },
    [`${prefix}.update`]: (params, { state }) => {
      const id = requireId(params);
      const fields = requireFields(params);
      const row = get(state, id);
      const next: Row = structuredClone(row);
      applyFields(state, entity, next, fields);
      validate(entity, next);
      if (entity === 'deal') stageSemantics(next);
      next['DATE_MODIFY'] = state.date();
      state.table(entity).set(id, next);
      state.emit(`ONCRM${event}UPDATE`, id);
      return { result: true };
    },
    [`${prefix}.get`]: (params, { state }) => ({ result: get(state, requireId(params)) }),
    [`${prefix}.delete`]: (params, { state }) => {
      const id = requireId(params);
      get(state, id);
      state.table(entity).delete(id);
      state.productRows.delete(id);
      state.emit(`ONCRM${event}DELETE`, id);
      return { result: true };
    },
    [`${prefix}.list`]: (params, { state }) => listRows(state.table(entity).values(), params),
    [`${prefix}.userfield.add`]: (params, { state }) => {
      const fields = requireFields(params);
      const own = String(fields['FIELD_NAME'] ?? '')
        .replace(/^UF_CRM_/, '')
        .replace(/^UF_/, '');
      const name = `UF_CRM_${own}`;
      if (!own || !UF_NAME.test(name)) {
        throw new RestError(400, 'ERROR_CORE', `Invalid field name "${String(fields['FIELD_NAME'])}"`);
      }
      if (!fields['USER_TYPE_ID']) throw new RestError(400, 'ERROR_CORE', 'USER_TYPE_ID is required');
      const list = state.userFields.get(entity) ?? [];
      if (list.some((f) => f['FIELD_NAME'] === name)) {
        throw new RestError(400, 'ERROR_CORE', `Field ${name} already exists`);
      }
      const id = state.nextId('userfield');
      list.push({ ID: String(id), ENTITY_ID: `CRM_${event}`, ...fields, FIELD_NAME: name });
      state.userFields.set(entity, list);
      return { result: id };
    },
    [`${prefix}.userfield.list`]: (params, { state }) => listRows(state.userFields.get(entity) ?? [], params),
  };
}

function normalizeComm(type: string, value: string): string {
  return type === 'PHONE'
    ? value.replace(/\D/g, '').replace(/^8(\d{10})$/, '7$1')
    : value.trim().toLowerCase();
}

const otherCrm: MethodTable = {
  'crm.duplicate.findbycomm': (params, { state }) => {
    const type = String(params['type'] ?? params['TYPE'] ?? '');
    if (!type) throw crmError('Communication type is not defined.');
    if (type !== 'EMAIL' && type !== 'PHONE') {
      throw crmError(`Communication type '${type}' is not supported in current context.`);
    }
    const values = asList(params['values'] ?? params['VALUES']).map(String);
    if (values.length === 0) throw crmError('Communication values is not defined.');
    const wanted = new Set(values.slice(0, 20).map((v) => normalizeComm(type, v)));
    const only = params['entity_type'] ? String(params['entity_type']) : undefined;
    const result: Record<string, number[]> = {};
    for (const entity of ['contact', 'company'] as const) {
      const key = entity.toUpperCase();
      if (only && only !== key) continue;
      const ids: number[] = [];
      for (const row of state.table(entity).values()) {
        const hits = ((row[type] as Row[] | undefined) ?? []).some((m) =>
          wanted.has(normalizeComm(type, String(m['VALUE']))),
        );
        if (hits) ids.push(Number(row['ID']));
      }
      if (ids.length > 0) result[key] = ids;
    }
    // Bitrix24 serializes an empty PHP array as [] — clients must accept both.
    return { result: Object.keys(result).length === 0 ? [] : result };
  },
  'crm.deal.productrows.set': (params, { state }) => {
    const id = requireId(params);
    if (!state.table('deal').has(id)) throw crmError('Not found');
    const rows = asList(params['rows'] ?? params['ROWS']).map((raw, i) => {
      const r = asObject(raw) ?? {};
      const price = Number(r['PRICE'] ?? 0);
      const quantity = Number(r['QUANTITY'] ?? 1);
      return {
        ID: state.nextId('productrow'),
        OWNER_ID: id,
        OWNER_TYPE: 'D',
        PRODUCT_ID: Number(r['PRODUCT_ID'] ?? 0),
        PRODUCT_NAME: String(r['PRODUCT_NAME'] ?? ''),
        PRICE: price,
        PRICE_ACCOUNT: price.toFixed(2),
        QUANTITY: quantity,
        DISCOUNT_TYPE_ID: Number(r['DISCOUNT_TYPE_ID'] ?? 2),
        DISCOUNT_RATE: Number(r['DISCOUNT_RATE'] ?? 0),
        DISCOUNT_SUM: Number(r['DISCOUNT_SUM'] ?? 0),
        TAX_RATE: r['TAX_RATE'] === undefined ? null : Number(r['TAX_RATE']),
        TAX_INCLUDED: String(r['TAX_INCLUDED'] ?? 'Y'),
        MEASURE_CODE: Number(r['MEASURE_CODE'] ?? 796),
        SORT: Number(r['SORT'] ?? (i + 1) * 10),
      };
    });
    // REPLACES every row of the deal: rows not passed are deleted.
    state.productRows.set(id, rows);
    const deal = state.table('deal').get(id)!;
    if (deal['IS_MANUAL_OPPORTUNITY'] !== 'Y') {
      deal['OPPORTUNITY'] = rows.reduce((s, r) => s + r.PRICE * r.QUANTITY, 0).toFixed(2);
    }
    deal['DATE_MODIFY'] = state.date();
    return { result: true };
  },
  'crm.deal.productrows.get': (params, { state }) => {
    const id = requireId(params);
    if (!state.table('deal').has(id)) throw crmError('Not found');
    return { result: state.productRows.get(id) ?? [] };
  },
  'crm.requisite.add': (params, { state }) => {
    const fields = requireFields(params);
    const typeId = Number(fields['ENTITY_TYPE_ID']);
    const entityId = Number(fields['ENTITY_ID']);
    if (![3, 4].includes(typeId) || !Number.isInteger(entityId) || entityId <= 0) {
      throw crmError('ENTITY_TYPE_ID and ENTITY_ID are required.');
    }
    if (!fields['PRESET_ID']) throw crmError('PRESET_ID is required.');
    const id = state.nextId('requisite');
    const row: Row = { ID: String(id), NAME: 'Реквизит', ACTIVE: 'Y' };
    for (const [k, v] of Object.entries(fields)) row[k] = legacyScalar(v);
    state.table('requisite').set(id, row);
    return { result: id };
  },
  'crm.requisite.update': (params, { state }) => {
    const id = requireId(params);
    const row = state.table('requisite').get(id);
    if (!row) throw crmError('Not found');
    for (const [k, v] of Object.entries(requireFields(params))) row[k] = legacyScalar(v);
    return { result: true };
  },
  'crm.requisite.list': (params, { state }) => listRows(state.table('requisite').values(), params),
  // Legacy product catalogue (deprecated, still served): crm.product.*
  'crm.product.add': (params, { state }) => {
    const fields = requireFields(params);
    if (!String(fields['NAME'] ?? '').trim()) throw crmError('The field "Name" is required.');
    const id = state.nextId('crm_product');
    const row: Row = { ID: String(id), CURRENCY_ID: 'RUB', PRICE: '0.00', ACTIVE: 'Y' };
    for (const [k, v] of Object.entries(fields)) row[k] = legacyScalar(v);
    row['TIMESTAMP_X'] = state.date();
    state.table('crm_product').set(id, row);
    return { result: id };
  },
  'crm.product.update': (params, { state }) => {
    const id = requireId(params);
    const row = state.table('crm_product').get(id);
    if (!row) throw crmError('Not found');
    for (const [k, v] of Object.entries(requireFields(params))) row[k] = legacyScalar(v);
    row['TIMESTAMP_X'] = state.date();
    return { result: true };
  },
  'crm.product.get': (params, { state }) => {
    const row = state.table('crm_product').get(requireId(params));
    if (!row) throw crmError('Not found');
    return { result: row };
  },
  'crm.product.list': (params, { state }) => listRows(state.table('crm_product').values(), params),
};

export function crmMethods(): MethodTable {
  return {
    ...entityMethods('contact'),
    ...entityMethods('company'),
    ...entityMethods('deal'),
    ...otherCrm,
  };
}

export type { MethodOutput };
