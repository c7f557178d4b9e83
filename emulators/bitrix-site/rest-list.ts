import { RestError } from '../bitrix24/errors.ts';
import { asList, asObject, type Params } from '../bitrix24/params.ts';

/**
 * How the sale module's list methods read `select`, `filter` (with the documented prefixes
 * `>=`, `>`, `<=`, `<`, `@`, `!@`, `%`, `=%`, `%=`, `!%`, `=`, `!=`, `!`), `order` and `start`
 * (pages of 50, `total`, `next`), over rows already in their REST shape. Dates compare by the
 * second, as the database stores them; an unknown field is refused as the ORM refuses it.
 */

type Row = Record<string, unknown>;

const PAGE = 50;

const FILTER_KEY = /^(>=|<=|!@|!=|=%|%=|!%|>|<|@|=|!|%)?([A-Za-z][A-Za-z0-9]*)$/;

function comparable(field: string, value: unknown): number | string | null {
  if (value === null || value === undefined) return null;
  if (/^date[A-Z]/.test(field)) {
    const ms = Date.parse(String(value));
    if (Number.isNaN(ms))
      throw new RestError(400, 0, `Incorrect date value "${String(value)}" for field ${field}`);
    return Math.floor(ms / 1000);
  }
  if (typeof value === 'number') return value;
  return String(value);
}

function matches(op: string, field: string, actual: unknown, wanted: unknown): boolean {
  const a = comparable(field, actual);
  const list = () => asList(wanted).map((w) => comparable(field, typeof a === 'number' ? Number(w) : w));
  const b = () => {
    const w = comparable(field, wanted);
    return typeof a === 'number' && typeof w === 'string' && /^-?\d+(\.\d+)?$/.test(w) ? Number(w) : w;
  };
  const like = (pattern: string) =>
    new RegExp(`^${pattern.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/%/g, '.*')}$`, 'i').test(
      String(a ?? ''),
    );
  switch (op) {
    case '':
    case '=':
      return Array.isArray(wanted) || asObject(wanted) ? list().includes(a) : a === b();
    case '!':
    case '!=':
      return a !== b();
    case '@':
      return list().includes(a);
    case '!@':
      return !list().includes(a);
    case '>':
      return a !== null && b() !== null && a > b()!;
    case '>=':
      return a !== null && b() !== null && a >= b()!;
    case '<':
      return a !== null && b() !== null && a < b()!;
    case '<=':
      return a !== null && b() !== null && a <= b()!;
    case '%':
      return String(a ?? '')
        .toLowerCase()
        .includes(String(wanted).toLowerCase());
    case '!%':
      return !String(a ?? '')
        .toLowerCase()
        .includes(String(wanted).toLowerCase());
    default:
      return like(String(wanted));
  }
}

/** select / filter / order / start over rows of one entity, as the sale controllers page them. */
export function list(
  rows: Row[],
  fields: readonly string[],
  params: Params,
  entity: string,
  key: string,
): { result: unknown; total: number; next?: number } {
  const known = new Set(fields);
  const unknownField = (name: string) =>
    new RestError(400, 0, `Unknown field definition \`${name}\` (${name}) for ${entity} Entity.`);
  const check = (name: string) => {
    if (!known.has(name)) throw unknownField(name);
  };
  let out = rows;
  for (const [rawKey, wanted] of Object.entries(asObject(params['filter']) ?? {})) {
    const match = FILTER_KEY.exec(rawKey);
    if (!match) throw unknownField(rawKey);
    const op = match[1] ?? '';
    const field = match[2]!;
    check(field);
    out = out.filter((row) => matches(op, field, row[field], wanted));
  }
  const order = Object.entries(asObject(params['order']) ?? (known.has('id') ? { id: 'asc' } : {}));
  for (const [field] of order) check(field);
  // Sort keys are computed once per row (dates are parsed, not compared as text).
  const keyed = out.map((row) => ({ row, keys: order.map(([field]) => comparable(field, row[field])) }));
  keyed.sort((x, y) => {
    for (let i = 0; i < order.length; i++) {
      const a = x.keys[i]!;
      const b = y.keys[i]!;
      if (a === b) continue;
      const less = a === null || (b !== null && a < b);
      return (less ? -1 : 1) * (String(order[i]![1]).toLowerCase() === 'desc' ? -1 : 1);
    }
    return 0;
  });
  out = keyed.map((k) => k.row);
  const select = asList(params['select'])
    .map(String)
    .filter((f) => f !== '*');
  for (const field of select) check(field);
  const start = Math.max(0, Number(params['start'] ?? 0) || 0);
  const page = out
    .slice(start, start + PAGE)
    .map((row) => (select.length === 0 ? row : Object.fromEntries(select.map((f) => [f, row[f]]))));
  return {
    result: { [key]: page },
    total: out.length,
    ...(start + PAGE < out.length ? { next: start + PAGE } : {}),
  };
}
