import type { SourceItem } from '../../core/connector.ts';
import { counterpartySchema } from '../../core/entities/index.ts';
import { type SiteStatusDirectory, statusLabel } from './rest-status.ts';
import { type StatusTables, statusFromSite } from './statuses.ts';

/**
 * One order as `sale.order.get` returns it (camelCase, `Y`/`N` flags, ISO dates with the site's
 * offset, basket ids as strings) → the canonical order and its buyer, shaped like the exchange
 * path shapes them (docs/connectors/bitrix-site.md): the order's id is the site's order id, the
 * lines point at the products' XML_ID, the status is translated from `[N] name` by the same
 * tables (statuses.ts: `new`, `paid`, `completed`; an unknown one stays `[X] name`), dates are
 * the site's local time. The buyer differs in one way: REST has no user login, so the buyer's id is the site's
 * user id, not the exchange's `<id>#<login>#<name>`.
 */

type Row = Record<string, unknown>;

const yes = (value: unknown) => value === 'Y' || value === true;

/** "2024-02-28T17:36:55+02:00" → "2024-02-28T17:36:55": the site's local time, as the exchange has it. */
function siteLocal(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  return /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}/.exec(value)?.[0] ?? (value.trim() || undefined);
}

const text = (value: unknown) =>
  typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
const round2 = (n: number) => Math.round(n * 100) / 100;

function line(item: Row, index: number): Record<string, unknown> {
  const price = Number(item['price']);
  const quantity = Number(item['quantity']);
  const out: Record<string, unknown> = {
    lineNo: index + 1,
    productId: text(item['productXmlId']),
    name: text(item['name']),
    quantity,
    price,
    amount: round2(price * quantity),
  };
  // 0.2 on the site is 20 %; null means the site keeps no rate for the line.
  const vat = item['vatRate'];
  if (typeof vat === 'number' || (typeof vat === 'string' && vat !== ''))
    out['vatRate'] = round2(Number(vat) * 100);
  const discount = Number(item['discountPrice'] ?? 0) * quantity;
  if (Number.isFinite(discount) && discount !== 0) out['discount'] = round2(discount);
  return out;
}

/** Order property values by code (FIO, EMAIL, PHONE, COMPANY, INN, …), with the site's names. */
function properties(order: Row): Map<string, { name: string; value: string }> {
  const out = new Map<string, { name: string; value: string }>();
  for (const p of (order['propertyValues'] as Row[] | undefined) ?? []) {
    const value = text(p['value']);
    const code = text(p['code']);
    if (value !== undefined && code !== undefined)
      out.set(code.toUpperCase(), { name: String(p['name'] ?? code), value });
  }
  return out;
}

/** The buyer from the order's property values, keyed by the site's user id. */
export function buyerOf(order: Row): SourceItem | undefined {
  const userId = order['userId'];
  if (userId === undefined || userId === null || userId === '') return undefined;
  const props = properties(order);
  const value = (code: string) => props.get(code)?.value;
  const company = value('COMPANY');
  const data: Record<string, unknown> = {
    name: company ?? value('FIO') ?? value('CONTACT_PERSON') ?? value('EMAIL') ?? `user ${userId}`,
  };
  const inn = value('INN');
  const kpp = value('KPP');
  if (inn !== undefined) data['inn'] = inn;
  if (kpp !== undefined) data['kpp'] = kpp;
  data['kind'] = company !== undefined || kpp !== undefined || inn?.length === 10 ? 'company' : 'person';
  const phone = props.get('PHONE');
  if (phone) data['phones'] = [{ value: phone.value, type: phone.name }];
  const email = props.get('EMAIL');
  if (email) data['emails'] = [{ value: email.value, type: email.name }];
  const addresses = [
    ...(value('COMPANY_ADR') ? [{ type: 'legal', value: value('COMPANY_ADR') }] : []),
    ...(value('ADDRESS') ? [{ type: 'delivery', value: value('ADDRESS') }] : []),
  ];
  if (addresses.length > 0) data['addresses'] = addresses;
  // Buyers type anything into INN/KPP; an invalid code stays in raw rather than making the buyer,
  // and with it the order, unloadable (the exchange path does the same).
  const check = counterpartySchema.safeParse(data);
  if (!check.success) {
    for (const issue of check.error.issues) {
      const field = issue.path[0];
      if (field === 'inn' || field === 'kpp') delete data[field];
    }
  }
  return { externalId: String(userId), data, raw: { userId, propertyValues: order['propertyValues'] } };
}

/** sale.order.get's `order` → the canonical order (references in the site's ids). */
export function orderOf(order: Row, statuses: SiteStatusDirectory, tables: StatusTables): SourceItem {
  const basket = [...((order['basketItems'] as Row[] | undefined) ?? [])].sort(
    (a, b) => Number(a['sort'] ?? 0) - Number(b['sort'] ?? 0) || Number(a['id']) - Number(b['id']),
  );
  const data: Record<string, unknown> = {
    number: text(order['accountNumber']) ?? String(order['id']),
    date: siteLocal(order['dateInsert']),
    customerId:
      order['userId'] === undefined || order['userId'] === null ? undefined : String(order['userId']),
    currency: text(order['currency']),
    lines: basket.map(line),
    totals: { amount: Number(order['price']) },
    status:
      text(order['statusId']) === undefined
        ? undefined
        : statusFromSite(tables, statusLabel(String(order['statusId']), statuses)),
    paid: yes(order['payed']),
    shipped: yes(order['deducted']),
    cancelled: yes(order['canceled']),
  };
  const comment = text(order['comments']);
  if (comment !== undefined) data['comment'] = comment;
  const site = text(order['lid']);
  if (site !== undefined) data['source'] = `[${site}]`;
  const paid = ((order['payments'] as Row[] | undefined) ?? []).find((p) => yes(p['paid']));
  if (paid) {
    const date = siteLocal(paid['datePaid']);
    if (date !== undefined) data['paymentDate'] = date;
    const number = text(paid['payVoucherNum']);
    if (number !== undefined) data['paymentNumber'] = number;
  }
  const shipped = ((order['shipments'] as Row[] | undefined) ?? []).find((s) => yes(s['deducted']));
  if (shipped) {
    const date = siteLocal(shipped['dateDeducted']);
    if (date !== undefined) data['shipmentDate'] = date;
    const number = text(shipped['deliveryDocNum']);
    if (number !== undefined) data['shipmentNumber'] = number;
  }
  const updated = typeof order['dateUpdate'] === 'string' ? Date.parse(order['dateUpdate']) : Number.NaN;
  return {
    externalId: String(order['id']),
    data,
    raw: order,
    ...(Number.isFinite(updated) ? { sourceUpdatedAt: updated } : {}),
  };
}
