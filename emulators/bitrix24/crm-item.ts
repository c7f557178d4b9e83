import { RestError } from './errors.ts';
import type { MethodTable } from './methods.ts';
import { asObject, type Params } from './params.ts';
import { listRows, type Row } from './state.ts';

/**
 * The universal crm.item.* API over the same objects as the legacy methods: camelCase keys
 * (STAGE_ID → stageId, UF_CRM_X → ufCrmX), real numbers for ids and amounts, an `entityTypeId`
 * (2 deal, 3 contact, 4 company) on every call, and multi-fields only as `fm` with select ['*'].
 */
const TYPES: Record<number, string> = { 2: 'deal', 3: 'contact', 4: 'company' };
const MULTI = new Set(['PHONE', 'EMAIL', 'WEB', 'IM']);
const NUMERIC = /(^id$|Id$|^opportunity$|^taxValue$|^probability$)/;

export function camel(key: string): string {
  return key.toLowerCase().replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
}

export function snake(key: string): string {
  return key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();
}

function toItem(row: Row, withFm: boolean): Row {
  const item: Row = {};
  const fm: Row[] = [];
  for (const [key, value] of Object.entries(row)) {
    if (MULTI.has(key)) {
      if (Array.isArray(value))
        for (const m of value as Row[])
          fm.push({ id: Number(m['ID']), typeId: key, valueType: m['VALUE_TYPE'], value: m['VALUE'] });
      continue;
    }
    const name = camel(key);
    item[name] =
      NUMERIC.test(name) && value !== null && value !== '' && !Number.isNaN(Number(value))
        ? Number(value)
        : value;
  }
  if (withFm) item['fm'] = fm;
  return item;
}

function fromItem(fields: Params): Params {
  const out: Params = {};
  for (const [key, value] of Object.entries(fields)) out[snake(key)] = value;
  return out;
}

function typeOf(params: Params): string {
  const type = TYPES[Number(params['entityTypeId'])];
  if (!type) throw new RestError(400, 'NOT_FOUND', 'Smart process not found');
  return type;
}

/** Builds crm.item.* on top of the legacy methods (so validation and events are the same). */
export function crmItemMethods(legacy: MethodTable): MethodTable {
  const call = (method: string, params: Params, ctx: Parameters<MethodTable[string]>[1]) => {
    const impl = legacy[method];
    if (!impl) throw new RestError(404, 'ERROR_METHOD_NOT_FOUND', `Method not found! (${method})`);
    return impl(params, ctx);
  };
  return {
    'crm.item.add': (params, ctx) => {
      const type = typeOf(params);
      const id = call(`crm.${type}.add`, { fields: fromItem(asObject(params['fields']) ?? {}) }, ctx)
        .result as number;
      return { result: { item: toItem(ctx.state.table(type).get(id)!, false) } };
    },
    'crm.item.update': (params, ctx) => {
      const type = typeOf(params);
      call(
        `crm.${type}.update`,
        { id: params['id'], fields: fromItem(asObject(params['fields']) ?? {}) },
        ctx,
      );
      return { result: { item: toItem(ctx.state.table(type).get(Number(params['id']))!, false) } };
    },
    'crm.item.get': (params, ctx) => {
      const type = typeOf(params);
      const row = ctx.state.table(type).get(Number(params['id']));
      if (!row) throw new RestError(400, 'NOT_FOUND', 'Element not found');
      return { result: { item: toItem(row, true) } };
    },
    'crm.item.list': (params, ctx) => {
      const type = typeOf(params);
      const filter = asObject(params['filter']) ?? {};
      const legacyFilter: Params = {};
      for (const [key, value] of Object.entries(filter)) {
        const m = /^(>=|<=|!=|!@|>|<|=|!|%|@)?(.+)$/.exec(key)!;
        const field = snake(m[2]!);
        if (!/^[A-Z0-9_]+$/.test(field))
          throw new RestError(
            400,
            'INVALID_ARG_VALUE',
            `Invalid filter: field '${m[2]}' is not allowed in filter`,
          );
        legacyFilter[`${m[1] ?? ''}${field}`] = value;
      }
      const order = Object.fromEntries(
        Object.entries(asObject(params['order']) ?? { id: 'ASC' }).map(([k, v]) => [snake(k), v]),
      );
      const select = Array.isArray(params['select'])
        ? params['select']
        : Object.values(asObject(params['select']) ?? {});
      const page = listRows(ctx.state.table(type).values(), {
        filter: legacyFilter,
        order,
        start: params['start'],
      });
      return {
        result: { items: page.result.map((r) => toItem(r, select.includes('*'))) },
        total: page.total,
        ...(page.next === undefined ? {} : { next: page.next }),
      };
    },
  };
}
