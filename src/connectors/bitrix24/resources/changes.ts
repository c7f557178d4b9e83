import { MULTI_FIELDS, multiFieldUpdate } from './multifield.ts';

/**
 * Legacy CRM answers every scalar as a string ("1000", "Y"): a value is unchanged when the
 * portal holds the same thing in that spelling.
 */
function sameValue(held: unknown, sent: unknown): boolean {
  if (typeof sent === 'boolean') return String(held ?? '') === (sent ? 'Y' : 'N');
  if (Array.isArray(sent)) {
    if (!Array.isArray(held))
      return sent.length === 0 && (held === undefined || held === null || held === '');
    const a = sent.map((v) => String(v)).sort();
    const b = held.map((v) => String(v)).sort();
    return a.length === b.length && a.every((v, i) => v === b[i]);
  }
  if (sent !== null && typeof sent === 'object') return JSON.stringify(sent) === JSON.stringify(held);
  const s = String(sent ?? '');
  const h = String(held ?? '');
  if (s === h) return true;
  const numeric = /^-?\d+(\.\d+)?$/;
  return numeric.test(s) && numeric.test(h) && Number(s) === Number(h);
}

/**
 * What a crm.contact.update / crm.company.update must send, given the object as the portal holds
 * it (`row`, listed with its multi-fields) and the fields obmen wants it to have: only the fields
 * that differ ("only the fields that need to be changed should be passed" — the method's docs),
 * multi-fields as their by-ID changes (see multifield.ts). An empty result means the portal
 * already holds it all: no write at all. Without a row (not listed) every field is sent.
 */
export function fieldsToUpdate(
  row: Record<string, unknown> | undefined,
  fields: Record<string, unknown>,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    if ((MULTI_FIELDS as readonly string[]).includes(key)) {
      const change = multiFieldUpdate(key, row?.[key], value);
      if (change !== undefined) out[key] = change;
      continue;
    }
    if (!row || !sameValue(row[key], value)) out[key] = value;
  }
  return out;
}

/** What a crm.*.add sends: the fields, less multi-fields with no values (nothing to add). */
export function fieldsToAdd(fields: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields)) {
    const emptyList = Array.isArray(value) && value.length === 0;
    if (value !== undefined && !(emptyList && (MULTI_FIELDS as readonly string[]).includes(key)))
      out[key] = value;
  }
  return out;
}
