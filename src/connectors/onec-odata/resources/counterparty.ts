import type { OnecResource } from './types.ts';
import { byRefKey } from './types.ts';
import { compact, text } from './values.ts';

/** Catalog_Контрагенты of УТ 11: no Code and no hierarchy; contacts in the КонтактнаяИнформация section. */

const PERSON_KINDS = new Set(['ФизЛицо', 'ИндивидуальныйПредприниматель']);

function contacts(raw: Record<string, unknown>, type: string, field: string) {
  const rows = Array.isArray(raw['КонтактнаяИнформация']) ? raw['КонтактнаяИнформация'] : [];
  const values = rows
    .filter(
      (row): row is Record<string, unknown> =>
        Boolean(row) && (row as Record<string, unknown>)['Тип'] === type,
    )
    .map((row) => text(row[field]) ?? text(row['Представление']))
    .filter((value): value is string => value !== undefined)
    .map((value) => ({ value }));
  return values.length > 0 ? values : undefined;
}

/** The Catalog_Контрагенты fields toOnec writes from each canonical field. */
const ONEC_FIELDS: Record<string, string[]> = {
  name: ['Description'],
  fullName: ['НаименованиеПолное'],
  inn: ['ИНН'],
  kpp: ['КПП'],
  kind: ['ЮрФизЛицо'],
  comment: ['ДополнительнаяИнформация'],
};

export const counterpartyResource: OnecResource = {
  entity: 'counterparty',
  entitySet: 'Catalog_Контрагенты',
  orderBy: 'Ref_Key',
  externalId: byRefKey,
  toCanonical: (raw) => {
    const kind = text(raw['ЮрФизЛицо']);
    const addresses = contacts(raw, 'Адрес', 'Представление')?.map(({ value }) => ({
      type: 'actual',
      value,
    }));
    return {
      data: compact({
        kind: kind === undefined ? undefined : PERSON_KINDS.has(kind) ? 'person' : 'company',
        name: text(raw['Description']) ?? '',
        fullName: text(raw['НаименованиеПолное']),
        inn: text(raw['ИНН']),
        kpp: text(raw['КПП']),
        phones: contacts(raw, 'Телефон', 'НомерТелефона'),
        emails: contacts(raw, 'АдресЭлектроннойПочты', 'АдресЭП'),
        addresses,
        comment: text(raw['ДополнительнаяИнформация']),
        deleted: raw['DeletionMark'] === true || undefined,
      }),
      deleted: raw['DeletionMark'] === true,
    };
  },
  toOnec: (data) =>
    compact({
      Description: data['name'],
      НаименованиеПолное: data['fullName'] ?? data['name'],
      ИНН: data['inn'],
      КПП: data['kpp'],
      ЮрФизЛицо: data['kind'] === 'person' ? 'ФизЛицо' : data['kind'] === 'company' ? 'ЮрЛицо' : undefined,
      ДополнительнаяИнформация: data['comment'],
    }),
  onecFieldsOf: (owned, data) => {
    const fields = owned.flatMap((field) => ONEC_FIELDS[field] ?? []);
    // The full name falls back to the short one: owning the name keeps both when no full name came.
    if (owned.includes('name') && data['fullName'] === undefined) fields.push('НаименованиеПолное');
    return fields;
  },
  // ИНН (+КПП for branches) identifies a counterparty in 1C; without one only the name is left.
  matchBy: (body) => (body['ИНН'] ? (body['КПП'] ? ['ИНН', 'КПП'] : ['ИНН']) : ['Description']),
};
