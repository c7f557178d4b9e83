import { z } from 'zod';

/**
 * Field builders shared by the canonical entities. They normalise what sources really send
 * (numbers as strings, nulls for "no value", padded codes) so that the same content always
 * gives the same record and therefore the same content hash.
 */

// Spaces (also no-break and narrow no-break, as 1C prints them) group thousands; a comma may be
// the decimal separator, as in Russian locales. "1,234.5" has both and is rejected as ambiguous.
const GROUPING = /[\s\u00a0\u202f]/g;
const NUMERIC = /^[+-]?(?:\d+(?:[.,]\d*)?|[.,]\d+)(?:e[+-]?\d+)?$/i;

/** Parses a numeric string the way sources write them; undefined when it is not one. */
export function parseNumeric(text: string): number | undefined {
  const compact = text.replace(GROUPING, '');
  if (!NUMERIC.test(compact)) return undefined;
  const value = Number(compact.replace(',', '.'));
  return Number.isFinite(value) ? value : undefined;
}

/**
 * A number, or a numeric string turned into one. Unlike z.coerce it rejects "" (which would
 * silently become 0) and anything that is not a number, with a message quoting the value.
 */
export function numeric(refine: (n: z.ZodNumber) => z.ZodNumber = (n) => n) {
  return z.preprocess((value, ctx) => {
    if (typeof value !== 'string') return value;
    if (value.trim() === '') {
      ctx.addIssue({ code: 'custom', message: 'expected a number, got an empty string' });
      return z.NEVER;
    }
    const parsed = parseNumeric(value);
    if (parsed === undefined) {
      ctx.addIssue({ code: 'custom', message: `expected a number, got "${value.slice(0, 40)}"` });
      return z.NEVER;
    }
    return parsed;
  }, refine(z.number()));
}

/** A VAT rate in percent; null means "без НДС" (not subject to VAT), which differs from unknown. */
export const vatRate = () => numeric((n) => n.min(0).max(100)).nullable();

/** A required piece of text, trimmed, not empty. */
export const text = () => z.string().trim().min(1);

/** The hub id of another object. Integer ids are accepted and kept as strings. */
export const refId = () =>
  z.preprocess(
    (value) => (typeof value === 'number' && Number.isSafeInteger(value) ? String(value) : value),
    z.string().trim().min(1),
  );

const ISO_DATE = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/;

// Date.parse would roll 2024-02-30 over to March instead of rejecting it.
function isCalendarDate(value: string): boolean {
  const year = Number(value.slice(0, 4));
  const month = Number(value.slice(5, 7));
  const day = Number(value.slice(8, 10));
  const date = new Date(Date.UTC(year, month - 1, day));
  return date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
}

/** An ISO 8601 date or date-time; kept as given (1C sends local time without a zone). */
export const isoDate = () =>
  z
    .string()
    .trim()
    .refine((value) => ISO_DATE.test(value) && isCalendarDate(value), {
      message: 'expected an ISO date like 2024-05-01 or 2024-05-01T10:30:00',
    });

/** Optional text that must match a format, e.g. INN or KPP. */
export const code = (pattern: RegExp, message: string) => z.string().trim().regex(pattern, { message });

/**
 * A strict object where a null or "" in an optional field counts as absent (1C OData sends ""
 * for every empty field), except where null has a meaning of its own (vatRate: "без НДС").
 * Without this, `{comment: null}`, `{comment: ""}` and `{}` would hash differently.
 */
export function record<Shape extends z.ZodRawShape>(shape: Shape) {
  const absentIfEmpty = new Set<string>();
  const absentIfNull = new Set<string>();
  for (const [key, schema] of Object.entries(shape)) {
    if (!z.safeParse(schema, undefined).success) continue;
    absentIfEmpty.add(key);
    if (!z.safeParse(schema, null).success) absentIfNull.add(key);
  }
  return z.preprocess((value) => {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
    let copy: Record<string, unknown> | undefined;
    const object = value as Record<string, unknown>;
    // for…in, not Object.entries (an array per field): this runs for every object of every
    // import, nested ones included.
    for (const key in object) {
      if (!Object.hasOwn(object, key)) continue;
      const item = object[key];
      const absent = item === null ? absentIfNull.has(key) : item === '' && absentIfEmpty.has(key);
      if (!absent) continue;
      copy ??= { ...object };
      delete copy[key];
    }
    return copy ?? value;
  }, z.object(shape).strict());
}

export const phoneSchema = record({ value: text(), type: z.string().optional() });
export const emailSchema = record({ value: text(), type: z.string().optional() });

export const ADDRESS_TYPES = ['legal', 'actual', 'delivery', 'postal'] as const;

export const addressSchema = record({
  type: z.string().meta({ description: `One of ${ADDRESS_TYPES.join(', ')} or a system-specific kind` }),
  value: text(),
  postalCode: z.string().optional(),
  country: z.string().optional(),
  region: z.string().optional(),
  city: z.string().optional(),
  street: z.string().optional(),
});
