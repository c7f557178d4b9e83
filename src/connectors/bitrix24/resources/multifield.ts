import { parsePhone } from '../../../matching/normalize.ts';
import { str } from './common.ts';

/**
 * Bitrix24 multi-fields (PHONE, EMAIL, WEB, IM: `crm_multifield[]`), written the way
 * crm.contact.update / crm.company.update document them ("Working with Multiple Fields"):
 *  - a value sent WITHOUT an ID is appended to those the object holds;
 *  - a value sent with the ID of a held one replaces it (VALUE, VALUE_TYPE);
 *  - a held one is removed by its ID with DELETE=Y (an empty VALUE does the same).
 * So an update must read what the object holds, with the IDs, and send the difference.
 */

export const MULTI_FIELDS = ['PHONE', 'EMAIL', 'WEB', 'IM'] as const;

/** A value as obmen sends it. */
export interface MultiValue {
  VALUE: string;
  VALUE_TYPE: string;
}

/** One entry of an update's PHONE/EMAIL list. */
export type MultiCommand =
  | { ID: string; VALUE: string; VALUE_TYPE: string }
  | { ID: string; DELETE: 'Y' }
  | { VALUE: string; VALUE_TYPE: string };

const VALUE_TYPES = new Set(['WORK', 'MOBILE', 'FAX', 'HOME', 'PAGER', 'MAILING', 'OTHER']);

/**
 * Values whose VALUE_TYPE is obmen's default rather than the source's (a 1C phone without a
 * kind): an update keeps the type the portal holds for them instead of resetting a manager's
 * "MOBILE" to "WORK" on every sync.
 */
const defaultedType = new WeakSet<MultiValue>();

/**
 * Canonical phones/e-mails (`[{value, type?}]` or strings) → multi-field values. An empty list
 * stays an empty list: "this object has none" (an update then removes the held ones); an absent
 * list is undefined: "no opinion" (an update leaves the held ones alone).
 */
export function multiField(values: unknown, defaultType: string): MultiValue[] | undefined {
  if (!Array.isArray(values)) return undefined;
  const out: MultiValue[] = [];
  for (const raw of values) {
    const v = typeof raw === 'string' ? { value: raw } : ((raw ?? {}) as { value?: unknown; type?: unknown });
    const value = str(v.value);
    if (!value) continue;
    const type = String(v.type ?? '').toUpperCase();
    const entry = { VALUE: value, VALUE_TYPE: VALUE_TYPES.has(type) ? type : defaultType };
    if (!VALUE_TYPES.has(type)) defaultedType.add(entry);
    out.push(entry);
  }
  return out;
}

/** Equal values spelled differently ("8 (495) 000-00-01" and "+74950000001") are the same value. */
function keyOf(type: string, value: string): string {
  if (type === 'PHONE') {
    const phone = parsePhone(value);
    if (phone) return `${phone.e164};${phone.extension ?? ''}`;
    return value.replace(/\s+/g, '');
  }
  return value.trim().toLowerCase();
}

interface Held {
  ID: string;
  VALUE: string;
  VALUE_TYPE: string;
}

function heldValues(current: unknown): Held[] {
  if (!Array.isArray(current)) return [];
  return current
    .map((m) => (m ?? {}) as Record<string, unknown>)
    .filter((m) => m['ID'] !== undefined && m['ID'] !== null)
    .map((m) => ({
      ID: String(m['ID']),
      VALUE: String(m['VALUE'] ?? ''),
      VALUE_TYPE: String(m['VALUE_TYPE'] ?? ''),
    }));
}

function wantedValues(wanted: unknown): MultiValue[] | undefined {
  if (!Array.isArray(wanted)) return undefined;
  const out: MultiValue[] = [];
  for (const w of wanted) {
    if (!w || typeof w !== 'object') return undefined;
    const value = str((w as Record<string, unknown>)['VALUE']);
    if (value === undefined) continue;
    out.push(w as MultiValue);
  }
  return out;
}

/**
 * The list an update sends so the object ends up holding exactly `wanted`: values held already
 * (same number or address, however spelled) stay untouched; a changed value replaces a held one
 * in place, by its ID (preferring one of the same VALUE_TYPE); further new values are appended
 * without an ID; held values no longer wanted are deleted by ID. Undefined when nothing changes —
 * then the field is not sent at all. A `wanted` that is not a list of values (a mapping's own
 * shape) is sent as it is.
 */
export function multiFieldUpdate(type: string, current: unknown, wanted: unknown): unknown {
  const want = wantedValues(wanted);
  if (!want) return wanted;
  const held = heldValues(current);
  const commands: MultiCommand[] = [];
  const seen = new Set<string>();
  const fresh: MultiValue[] = [];
  for (const w of want) {
    const key = keyOf(type, w.VALUE);
    if (seen.has(key)) continue;
    seen.add(key);
    const i = held.findIndex((h) => keyOf(type, h.VALUE) === key);
    if (i < 0) {
      fresh.push(w);
      continue;
    }
    const [same] = held.splice(i, 1);
    if (!defaultedType.has(w) && w.VALUE_TYPE && w.VALUE_TYPE !== same!.VALUE_TYPE)
      commands.push({ ID: same!.ID, VALUE: same!.VALUE, VALUE_TYPE: w.VALUE_TYPE });
  }
  for (const w of fresh) {
    const sameType = held.findIndex((h) => h.VALUE_TYPE === w.VALUE_TYPE);
    const [replaced] = held.splice(sameType < 0 ? 0 : sameType, 1);
    if (replaced) {
      const valueType = defaultedType.has(w) && replaced.VALUE_TYPE ? replaced.VALUE_TYPE : w.VALUE_TYPE;
      commands.push({ ID: replaced.ID, VALUE: w.VALUE, VALUE_TYPE: valueType });
    } else {
      commands.push({ VALUE: w.VALUE, VALUE_TYPE: w.VALUE_TYPE });
    }
  }
  for (const h of held) commands.push({ ID: h.ID, DELETE: 'Y' });
  return commands.length > 0 ? commands : undefined;
}

/**
 * Multi-field values as canonical phones/e-mails. WORK, the kind multiField gives a value that
 * came without one, reads as no kind, so a value obmen wrote comes back exactly as it was sent
 * (otherwise every phone from 1C would return from Bitrix24 as a change, a new version).
 */
export function fromMultiField(values: unknown): Array<{ value: string; type?: string }> {
  if (!Array.isArray(values)) return [];
  return (values as Array<{ VALUE?: unknown; VALUE_TYPE?: unknown }>).map((m) => {
    const type = String(m.VALUE_TYPE ?? '').toLowerCase();
    return type && type !== 'work' ? { value: String(m.VALUE), type } : { value: String(m.VALUE) };
  });
}
