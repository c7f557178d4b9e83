import { z } from 'zod';
import {
  normalizeArticle,
  normalizeBarcode,
  normalizeEmail,
  normalizeInn,
  normalizeKpp,
  normalizePhone,
} from './normalize.ts';

/**
 * Match rules: each turns a canonical object into the keys under which it can be found.
 * `external_id` is special: its keys are the object's ids in other systems (1C Ид = the
 * XML_ID of a 1C-Bitrix site), looked up in the links table rather than in match_keys.
 */
export const MATCH_RULES = ['inn_kpp', 'email', 'phone', 'external_id', 'article', 'barcode'] as const;
export type MatchRule = (typeof MATCH_RULES)[number];

/** The order in which rules are tried, per entity: the first rule that finds something decides. */
export const DEFAULT_MATCH_RULES: Readonly<Record<string, readonly MatchRule[]>> = {
  counterparty: ['inn_kpp', 'email', 'phone'],
  contact: ['email', 'phone'],
  product: ['external_id', 'article', 'barcode'],
};

/**
 * Rules whose keys identify an object strongly: a candidate found by a weaker rule (a shared
 * accountant's e-mail) whose strong key differs from the incoming one is a different object.
 */
export const STRONG_RULES: Readonly<Record<string, MatchRule>> = { counterparty: 'inn_kpp' };

const NONE: readonly unknown[] = [];

/**
 * The values of a list field. Canonical phones and e-mails are `{ value, type }` objects;
 * plain strings are accepted too (custom entities, sample files).
 */
function list(value: unknown): readonly unknown[] {
  if (value === undefined || value === null) return NONE; // most objects lack most rules' fields
  const items = Array.isArray(value) ? value : [value];
  return items.map((item) =>
    item !== null && typeof item === 'object' && 'value' in item ? (item as { value: unknown }).value : item,
  );
}

/** The keys without undefined and repeats, in order (lists are a few items long). */
function unique(values: ReadonlyArray<string | undefined>): string[] {
  const out: string[] = [];
  for (const value of values) if (value !== undefined && !out.includes(value)) out.push(value);
  return out;
}

/** Keys of one rule for one object; empty when the object has nothing for that rule. */
export function keysFor(rule: MatchRule, data: Record<string, unknown>): string[] {
  switch (rule) {
    case 'inn_kpp': {
      const inn = normalizeInn(data.inn);
      if (!inn) return [];
      // A company's branches share the INN and differ by KPP; a person has no KPP.
      const kpp = normalizeKpp(data.kpp);
      return [kpp ? `${inn}/${kpp}` : inn];
    }
    case 'email':
      return unique(list(data.emails ?? data.email).map(normalizeEmail));
    case 'phone':
      return unique(list(data.phones ?? data.phone).map(normalizePhone));
    case 'article':
      return unique([normalizeArticle(data.article)]);
    case 'barcode':
      return unique(list(data.barcodes ?? data.barcode).map(normalizeBarcode));
    case 'external_id':
      return [];
  }
}

const INDEXED_RULES = MATCH_RULES.filter((rule) => rule !== 'external_id');

/**
 * Every indexed key of an object. All rules are indexed for every entity (an object only has
 * keys for the fields it holds), so a configured rule order never finds an empty index.
 */
export function matchKeysOf(
  _entity: string,
  data: Record<string, unknown>,
): Array<{ rule: MatchRule; key: string }> {
  const out: Array<{ rule: MatchRule; key: string }> = [];
  for (const rule of INDEXED_RULES) for (const key of keysFor(rule, data)) out.push({ rule, key });
  return out;
}

/**
 * Proposed `matching:` section of obmen.yaml: the rule order per entity, e.g.
 * `matching: { counterparty: [inn_kpp, phone] }`; entities left out keep DEFAULT_MATCH_RULES,
 * an empty list turns matching off for that entity.
 */
export const matchingConfigSchema = z
  .record(z.string(), z.array(z.enum(MATCH_RULES, { error: `must be one of ${MATCH_RULES.join(', ')}` })))
  .default({})
  .meta({
    description:
      'Match rules per entity, tried in order before an object is created (default: counterparty inn_kpp, email, phone; contact email, phone; product external_id, article, barcode)',
  });
