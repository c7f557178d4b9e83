import type { DeliveryItem, SourceItem } from '../../../core/connector.ts';
import { requiredFields } from '../defaults.ts';
import type { ResourceContext } from './common.ts';
import { merged, str } from './common.ts';
import { fromMultiField, multiField } from './multifield.ts';
import type { PartyWrite } from './party.ts';

/** Splits "Иванов Иван Иванович" (1C writes the surname first) when no parts are given. */
function nameParts(data: Record<string, unknown>): {
  NAME?: string;
  LAST_NAME?: string;
  SECOND_NAME?: string;
} {
  const first = str(data['firstName']);
  const last = str(data['lastName']);
  const middle = str(data['middleName']);
  if (first || last) return { NAME: first, LAST_NAME: last, SECOND_NAME: middle };
  const parts = String(data['name'] ?? '')
    .trim()
    .split(/\s+/)
    .filter(Boolean);
  if (parts.length >= 2)
    return { LAST_NAME: parts[0], NAME: parts[1], SECOND_NAME: parts.slice(2).join(' ') || undefined };
  return { NAME: parts[0] };
}

/** canonical contact or person counterparty → crm.contact fields. */
export function contactWrite(ctx: ResourceContext, item: DeliveryItem): PartyWrite {
  const d = item.data;
  const phones = multiField(d['phones'], 'WORK');
  const emails = multiField(d['emails'], 'WORK');
  const companyRef = str(d['counterpartyId']);
  const inn = str(d['inn']);
  const kpp = str(d['kpp']);
  const defaults: Record<string, unknown> = {
    ...nameParts(d),
    POST: str(d['position']),
    COMMENTS: str(d['comment']),
    PHONE: phones,
    EMAIL: emails,
    COMPANY_ID: companyRef?.startsWith('company:') ? companyRef.slice(8) : undefined,
    ORIGINATOR_ID: ctx.options.originatorId,
    ORIGIN_ID: item.recordId,
    [ctx.options.idField]: item.recordId,
  };
  if (ctx.options.requisites === 'userfield') {
    defaults[ctx.options.innField] = inn;
    defaults[ctx.options.kppField] = kpp;
  }
  return {
    item,
    fields: merged(defaults, item, requiredFields(ctx.options)),
    phones: (phones ?? []).map((p) => p.VALUE),
    emails: (emails ?? []).map((e) => e.VALUE),
    ...(inn ? { inn } : {}),
    ...(kpp ? { kpp } : {}),
  };
}

/** crm.contact row → canonical (contact, or a person counterparty). */
export function contactToSource(
  row: Record<string, unknown>,
  entity: 'contact' | 'counterparty',
  options: ResourceContext['options'],
): SourceItem {
  const phones = fromMultiField(row['PHONE']);
  const emails = fromMultiField(row['EMAIL']);
  const name = [row['LAST_NAME'], row['NAME'], row['SECOND_NAME']].map(str).filter(Boolean).join(' ');
  const data: Record<string, unknown> =
    entity === 'contact'
      ? {
          firstName: str(row['NAME']),
          lastName: str(row['LAST_NAME']),
          middleName: str(row['SECOND_NAME']),
          position: str(row['POST']),
          ...(str(row['COMPANY_ID']) && row['COMPANY_ID'] !== '0'
            ? { counterpartyId: `company:${String(row['COMPANY_ID'])}` }
            : {}),
        }
      : { kind: 'person', name: name || 'Без имени', inn: str(row[options.innField]) };
  if (phones.length > 0) data['phones'] = phones;
  if (emails.length > 0) data['emails'] = emails;
  for (const key of Object.keys(data)) if (data[key] === undefined) delete data[key];
  const modified = Date.parse(String(row['DATE_MODIFY'] ?? ''));
  return {
    externalId: entity === 'contact' ? String(row['ID']) : `contact:${String(row['ID'])}`,
    data,
    raw: row,
    ...(Number.isFinite(modified) ? { sourceUpdatedAt: modified } : {}),
  };
}
