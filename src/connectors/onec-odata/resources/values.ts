import { EMPTY_GUID } from '../query.ts';

/**
 * 1C's "empty" values, read as absent: the all-zero GUID is an empty reference,
 * 0001-01-01T00:00:00 an empty date, fixed-length strings come padded with spaces, and Int64
 * numbers arrive as JSON strings ("LineNumber": "1").
 */

export const EMPTY_DATE = '0001-01-01T00:00:00';

/** A reference (`*_Key`), or undefined when empty. */
export function ref(value: unknown): string | undefined {
  if (typeof value !== 'string' || value === '' || value === EMPTY_GUID) return undefined;
  return value;
}

/** A date, or undefined when empty. */
export function date(value: unknown): string | undefined {
  if (typeof value !== 'string' || value === '' || value.startsWith('0001-01-01')) return undefined;
  return value;
}

/** Trimmed text, or undefined when empty or only padding. */
export function text(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const trimmed = value.trim();
  return trimmed === '' ? undefined : trimmed;
}

/** A number from Edm.Double (number) or Edm.Int64 (string). */
export function num(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value === 'string' && value.trim() !== '') {
    const parsed = Number(value);
    return Number.isFinite(parsed) ? parsed : undefined;
  }
  return undefined;
}

export function bool(value: unknown): boolean | undefined {
  return typeof value === 'boolean' ? value : undefined;
}

/** Drops undefined fields so canonical data hashes the same whatever 1C left empty. */
export function compact<T extends Record<string, unknown>>(data: T): T {
  for (const key of Object.keys(data)) if (data[key] === undefined) delete data[key];
  return data;
}

/**
 * The 1C object without transport annotations and with empty values removed: the generic
 * conversion for sets obmen has no canonical mapping for (custom entities).
 */
export function cleanObject(raw: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(raw)) {
    if (key.includes('@') || key.startsWith('odata.')) continue;
    const cleaned = cleanValue(value);
    if (cleaned !== undefined) out[key] = cleaned;
  }
  return out;
}

function cleanValue(value: unknown): unknown {
  if (typeof value === 'string') {
    if (value === EMPTY_GUID || value.startsWith('0001-01-01T')) return undefined;
    const trimmed = value.trimEnd();
    return trimmed === '' ? undefined : trimmed;
  }
  if (Array.isArray(value)) {
    return value.map((row) =>
      row && typeof row === 'object' && !Array.isArray(row)
        ? cleanObject(row as Record<string, unknown>)
        : row,
    );
  }
  if (value === null) return undefined;
  return value;
}
