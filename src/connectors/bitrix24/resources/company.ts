import type { DeliveryItem, SourceItem } from '../../../core/connector.ts';
import { requiredFields } from '../defaults.ts';
import type { ResourceContext } from './common.ts';
import { merged, str } from './common.ts';
import { fromMultiField, multiField } from './multifield.ts';
import type { PartyWrite } from './party.ts';

/** canonical counterparty (company) → crm.company fields. */
export function companyWrite(ctx: ResourceContext, item: DeliveryItem): PartyWrite {
  const d = item.data;
  const phones = multiField(d['phones'], 'WORK');
  const emails = multiField(d['emails'], 'WORK');
  const inn = str(d['inn']);
  const kpp = str(d['kpp']);
  const address = Array.isArray(d['addresses'])
    ? (d['addresses'] as Array<{ type?: string; value?: string }>).find(
        (a) => a.type === 'legal' || a.type === 'actual',
      )
    : undefined;
  const defaults: Record<string, unknown> = {
    TITLE: str(d['name']),
    COMPANY_TYPE: 'CUSTOMER',
    COMMENTS: str(d['comment']),
    ADDRESS: address?.value,
    PHONE: phones,
    EMAIL: emails,
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

/** crm.company row (+ its requisite, when read) → canonical counterparty. */
export function companyToSource(
  row: Record<string, unknown>,
  requisite: Record<string, unknown> | undefined,
  options: ResourceContext['options'],
): SourceItem {
  const data: Record<string, unknown> = { kind: 'company', name: str(row['TITLE']) ?? 'Без названия' };
  const inn = str(requisite?.['RQ_INN']) ?? str(row[options.innField]);
  const kpp = str(requisite?.['RQ_KPP']) ?? str(row[options.kppField]);
  if (inn) data['inn'] = inn;
  if (kpp) data['kpp'] = kpp;
  const phones = fromMultiField(row['PHONE']);
  const emails = fromMultiField(row['EMAIL']);
  if (phones.length > 0) data['phones'] = phones;
  if (emails.length > 0) data['emails'] = emails;
  if (str(row['COMMENTS'])) data['comment'] = str(row['COMMENTS']);
  const modified = Date.parse(String(row['DATE_MODIFY'] ?? ''));
  return {
    externalId: `company:${String(row['ID'])}`,
    data,
    raw: row,
    ...(Number.isFinite(modified) ? { sourceUpdatedAt: modified } : {}),
  };
}
