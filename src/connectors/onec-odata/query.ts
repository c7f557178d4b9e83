import { configError } from '../../core/errors.ts';

/**
 * Query strings for 1C's OData. Built by hand, not with URLSearchParams: that encodes a space
 * as "+", and 1C does not decode "+" inside $filter (it answers 400). Values are
 * percent-encoded with %20; Cyrillic names become UTF-8 percent escapes.
 */

export const EMPTY_GUID = '00000000-0000-0000-0000-000000000000';
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DATETIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$/;

export const isGuid = (value: unknown): value is string => typeof value === 'string' && GUID.test(value);

/** `guid'…'`; anything that is not a GUID is refused, so no text reaches the filter unquoted. */
export function guidLiteral(value: string): string {
  if (!GUID.test(value))
    throw configError(`"${value}" is not a GUID (expected like 8d04ce3c-…-5404a6b4b8ed)`);
  return `guid'${value.toLowerCase()}'`;
}

/** `datetime'YYYY-MM-DDTHH:MM:SS'`: 1C keeps wall-clock time of its server, without a zone. */
export function datetimeLiteral(value: string): string {
  const trimmed = value.slice(0, 19);
  if (!DATETIME.test(trimmed)) {
    throw configError(`"${value}" is not a 1C date-time (expected YYYY-MM-DDTHH:MM:SS)`);
  }
  return `datetime'${trimmed}'`;
}

/** A string literal: quotes doubled, as OData requires ("О'Брайен" → 'О''Брайен'). */
export function stringLiteral(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

/** The literal for a value compared with `field` (GUIDs of *_Key fields, dates, numbers, text). */
export function literalFor(field: string, value: unknown): string {
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  const text = String(value);
  if ((field.endsWith('_Key') || field === 'Ref_Key') && isGuid(text)) return guidLiteral(text);
  if (DATETIME.test(text) && (field === 'Date' || field === 'Period' || field.startsWith('Дата')))
    return datetimeLiteral(text);
  return stringLiteral(text);
}

/** `a eq x and b eq y` for a set of field values. */
export function equalsAll(values: ReadonlyArray<[string, unknown]>): string {
  return values.map(([field, value]) => `${field} eq ${literalFor(field, value)}`).join(' and ');
}

/** Joins filters with `and`, each parenthesised so an `or` inside keeps its meaning. */
export function andFilters(...filters: Array<string | undefined>): string | undefined {
  const present = filters.filter((f): f is string => Boolean(f?.trim()));
  if (present.length === 0) return undefined;
  if (present.length === 1) return present[0];
  return present.map((f) => `(${f})`).join(' and ');
}

/** Percent-encodes a query value, keeping the characters 1C reads literally readable. */
export function encodeValue(value: string): string {
  return encodeURIComponent(value).replace(/%2C/g, ',').replace(/%3A/g, ':').replace(/%2F/g, '/');
}

/** Percent-encodes a path (entity set, key, function call) segment by segment. */
export function encodePath(path: string): string {
  return path
    .split('/')
    .map((segment) =>
      encodeURIComponent(segment)
        .replace(/%3D/g, '=')
        .replace(/%2C/g, ',')
        .replace(/%3A/g, ':')
        .replace(/%24/g, '$'),
    )
    .join('/');
}

export interface QueryOptions {
  select?: readonly string[];
  filter?: string;
  orderBy?: string;
  top?: number;
  skip?: number;
  /** Extra parameters, e.g. PostingModeOperational. */
  extra?: Record<string, string>;
}

/** `?$format=json&$select=…&$filter=…` — always JSON: without $format 1C answers Atom XML. */
export function buildQuery(options: QueryOptions = {}): string {
  const parts = ['$format=json'];
  if (options.select && options.select.length > 0)
    parts.push(`$select=${encodeValue(options.select.join(','))}`);
  if (options.filter) parts.push(`$filter=${encodeValue(options.filter)}`);
  if (options.orderBy) parts.push(`$orderby=${encodeValue(options.orderBy)}`);
  if (options.top !== undefined) parts.push(`$top=${options.top}`);
  if (options.skip !== undefined && options.skip > 0) parts.push(`$skip=${options.skip}`);
  for (const [key, value] of Object.entries(options.extra ?? {})) parts.push(`${key}=${encodeValue(value)}`);
  return `?${parts.join('&')}`;
}

/** `Document_ЗаказКлиента(guid'…')`: the canonical URL of one object. */
export function entityPath(entitySet: string, refKey: string): string {
  return `${entitySet}(${guidLiteral(refKey)})`;
}
