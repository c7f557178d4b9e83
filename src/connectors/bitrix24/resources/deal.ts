import type { DeliveryItem, ItemOutcome, SourceItem } from '../../../core/connector.ts';
import { transientError } from '../../../core/errors.ts';
import type { BatchCommand } from '../client.ts';
import { requiredFields } from '../defaults.ts';
import { ref } from '../query.ts';
import { DEFAULT_STAGE_MAP, DEFAULT_STAGE_STATUSES } from '../spec.ts';
import {
  failed,
  idFrom,
  invalid,
  itemError,
  merged,
  num,
  ok,
  type ResourceContext,
  runGroups,
  str,
} from './common.ts';

/**
 * Order status → STAGE_ID: the user's stageMap over the default table; a category prefixes
 * "C<n>:" (the deal's own category when known, else options.dealCategoryId).
 */
export function stageOf(ctx: ResourceContext, data: Record<string, unknown>, categoryId?: number): string {
  const map = { ...DEFAULT_STAGE_MAP, ...ctx.options.stageMap };
  let key = String(data['status'] ?? 'new').toLowerCase();
  if (data['cancelled'] === true) key = 'cancelled';
  const stage = map[key] ?? map[String(data['status'] ?? '')] ?? 'NEW';
  const category = categoryId ?? ctx.options.dealCategoryId;
  return category > 0 && !stage.includes(':') ? `C${category}:${stage}` : stage;
}

const withoutCategory = (stage: string) => stage.replace(/^C\d+:/, '');

/**
 * STAGE_ID → order status (deals read as orders): stageStatusMap, else the user's stageMap read
 * backwards, else the default table; the full id ("C1:WON") before the bare one ("WON").
 */
export function statusOfStage(ctx: ResourceContext, stageId: string): string {
  const table: Record<string, string> = { ...DEFAULT_STAGE_STATUSES };
  for (const [status, stage] of Object.entries(ctx.options.stageMap)) table[stage] = status;
  Object.assign(table, ctx.options.stageStatusMap);
  return table[stageId] ?? table[withoutCategory(stageId)] ?? withoutCategory(stageId).toLowerCase();
}

/**
 * Is this deal an order to read? It must be at an order stage (options.orderStages), and not be
 * one obmen made: those show another system's order (a shop's), which the hub already holds —
 * reading them back would only echo obmen's own writes.
 */
export function isOrderDeal(ctx: ResourceContext, row: Record<string, unknown>): boolean {
  if (str(row['ORIGINATOR_ID']) === ctx.options.originatorId && str(row['ORIGIN_ID'])) return false;
  return isOrderStage(ctx, String(row['STAGE_ID'] ?? ''));
}

/** Is a deal at this stage an order (options.orderStages)? "WON" matches "C2:WON" too. */
export function isOrderStage(ctx: ResourceContext, stageId: string): boolean {
  const wanted = ctx.options.orderStages;
  if (wanted === 'all') return true;
  return wanted.some(
    (stage) => stage === stageId || (!stage.includes(':') && stage === withoutCategory(stageId)),
  );
}

export function rowsOf(data: Record<string, unknown>): Array<Record<string, unknown>> {
  const lines = Array.isArray(data['lines']) ? (data['lines'] as Array<Record<string, unknown>>) : [];
  return lines.map((line, i) => {
    const quantity = num(line['quantity']) ?? 1;
    const price = num(line['price']) ?? 0;
    const discount = num(line['discount']);
    return {
      PRODUCT_ID: num(line['productId']) ?? 0,
      PRODUCT_NAME: str(line['name']) ?? '',
      // PRICE is the final per-unit price after discount.
      PRICE: discount ? Math.max(0, price - discount / quantity) : price,
      QUANTITY: quantity,
      DISCOUNT_TYPE_ID: 1,
      DISCOUNT_SUM: discount ? discount / quantity : 0,
      ...(num(line['vatRate']) === undefined ? {} : { TAX_RATE: num(line['vatRate']), TAX_INCLUDED: 'Y' }),
      SORT: (i + 1) * 10,
    };
  });
}

export function dealFields(ctx: ResourceContext, item: DeliveryItem): Record<string, unknown> {
  const d = item.data;
  const customer = str(d['customerId']);
  const contact = str(d['contactId']);
  const totals = (d['totals'] ?? {}) as Record<string, unknown>;
  const date = str(d['date']);
  const fields: Record<string, unknown> = {
    TITLE: `Заказ ${str(d['number']) ?? item.recordId}`,
    CATEGORY_ID: ctx.options.dealCategoryId,
    STAGE_ID: stageOf(ctx, d),
    CURRENCY_ID: str(d['currency']) ?? ctx.options.currency,
    OPPORTUNITY: num(totals['amount']),
    IS_MANUAL_OPPORTUNITY: num(totals['amount']) === undefined ? undefined : 'Y',
    BEGINDATE: date,
    COMMENTS: str(d['comment']),
    SOURCE_DESCRIPTION: str(d['source']),
    ORIGINATOR_ID: ctx.options.originatorId,
    ORIGIN_ID: item.recordId,
    [ctx.options.idField]: item.recordId,
  };
  if (customer?.startsWith('company:')) fields['COMPANY_ID'] = customer.slice(8);
  else if (customer?.startsWith('contact:')) fields['CONTACT_IDS'] = [customer.slice(8)];
  else if (customer) fields['COMPANY_ID'] = customer;
  if (contact) fields['CONTACT_IDS'] = [contact.replace(/^contact:/, '')];
  return merged(fields, item, requiredFields(ctx.options));
}

/**
 * Orders → deals. Each deal is written with its product rows in one batch group:
 * crm.deal.add/update, then crm.deal.productrows.set (which REPLACES all rows, so the full list
 * is always sent) with the new deal's id taken by $result reference.
 */
export async function writeDeals(ctx: ResourceContext, items: DeliveryItem[]): Promise<ItemOutcome[]> {
  const { client, options } = ctx;
  const idOf = new Map<string, string>();
  for (const item of items) if (item.externalId) idOf.set(item.recordId, item.externalId);
  const unknown = items.filter((i) => !idOf.has(i.recordId));
  if (unknown.length > 0) {
    const found = await client.listAll(
      'crm.deal.list',
      {
        filter: { ORIGINATOR_ID: options.originatorId, '@ORIGIN_ID': unknown.map((i) => i.recordId) },
        select: ['ID', 'ORIGIN_ID'],
      },
      (r) => (Array.isArray(r) ? r : []) as Array<{ ID: string; ORIGIN_ID: string }>,
    );
    for (const row of found) idOf.set(String(row.ORIGIN_ID), String(row.ID));
  }
  const prepared = items.map((item) => ({ item, fields: dealFields(ctx, item) }));
  await ctx.userFields.ensure(
    'deal',
    prepared.flatMap((p) => Object.keys(p.fields)),
  );
  const outcomes = new Map<string, ItemOutcome>();
  const groups: BatchCommand[][] = [];
  for (const [i, { item, fields }] of prepared.entries()) {
    if (!Array.isArray(item.data['lines'])) {
      outcomes.set(item.recordId, failed(item, invalid(ctx, item, 'an order needs "lines" (may be empty)')));
      continue;
    }
    const id = idOf.get(item.recordId);
    groups.push([
      id
        ? { key: `d${i}`, method: 'crm.deal.update', params: { id, fields } }
        : { key: `d${i}`, method: 'crm.deal.add', params: { fields, params: { REGISTER_SONET_EVENT: 'N' } } },
      {
        key: `r${i}`,
        method: 'crm.deal.productrows.set',
        params: { id: id ?? ref(`d${i}`), rows: rowsOf(item.data) },
      },
    ]);
  }
  const results = await runGroups(ctx, groups);
  for (const [i, { item }] of prepared.entries()) {
    if (outcomes.has(item.recordId)) continue;
    const deal = results.get(`d${i}`);
    const rows = results.get(`r${i}`);
    if (!deal?.ok) {
      outcomes.set(
        item.recordId,
        failed(
          item,
          itemError(
            ctx,
            item,
            deal && !deal.ok ? deal.error : transientError(`${ctx.system}: no answer for the deal`),
          ),
        ),
      );
      continue;
    }
    if (rows && !rows.ok) {
      outcomes.set(item.recordId, failed(item, itemError(ctx, item, rows.error)));
      continue;
    }
    const id = idOf.get(item.recordId) ?? idFrom(deal.result);
    outcomes.set(
      item.recordId,
      id ? ok(item, id) : failed(item, transientError(`${ctx.system}: crm.deal.add returned no id`)),
    );
  }
  return items.map((item) => outcomes.get(item.recordId)!);
}

/**
 * Order statuses → deal stages (order_status routes: the state 1C reports for an order that came
 * from a deal). Only STAGE_ID is written, and only for deals not already at that stage: the
 * current stages are read first (one list call), so a status that maps to the stage the deal
 * holds (paid and confirmed both → FINAL_INVOICE) writes nothing. `orderId` holds the deal id
 * (delivery resolved it through the order's link; orders Bitrix24 does not hold never get here).
 */
export async function writeDealStages(ctx: ResourceContext, items: DeliveryItem[]): Promise<ItemOutcome[]> {
  const dealOf = (item: DeliveryItem) => {
    const id = str(item.data['orderId']);
    return id && /^\d+$/.test(id) ? id : undefined;
  };
  const ids = [...new Set(items.map(dealOf).filter((id): id is string => id !== undefined))];
  const deals = new Map<string, { stage: string; category: number }>();
  if (ids.length > 0) {
    const rows = await ctx.client.listAll(
      'crm.deal.list',
      { filter: { '@ID': ids }, select: ['ID', 'STAGE_ID', 'CATEGORY_ID'] },
      (r) => (Array.isArray(r) ? r : []) as Array<Record<string, unknown>>,
    );
    for (const row of rows)
      deals.set(String(row['ID']), {
        stage: String(row['STAGE_ID'] ?? ''),
        category: num(row['CATEGORY_ID']) ?? 0,
      });
  }
  const outcomes = new Map<string, ItemOutcome>();
  const groups: BatchCommand[][] = [];
  const keyOf = new Map<string, string>();
  for (const [i, item] of items.entries()) {
    const id = dealOf(item);
    const deal = id === undefined ? undefined : deals.get(id);
    if (id === undefined || deal === undefined) {
      outcomes.set(
        item.recordId,
        failed(
          item,
          invalid(
            ctx,
            item,
            id === undefined
              ? `"${String(item.data['orderId'])}" is not a deal id`
              : `deal ${id} is not in Bitrix24 any more (deleted?); its status cannot be shown`,
          ),
        ),
      );
      continue;
    }
    const stage = stageOf(ctx, item.data, deal.category);
    if (stage === deal.stage) {
      outcomes.set(item.recordId, ok(item, id));
      continue;
    }
    keyOf.set(item.recordId, `s${i}`);
    groups.push([{ key: `s${i}`, method: 'crm.deal.update', params: { id, fields: { STAGE_ID: stage } } }]);
    deal.stage = stage;
  }
  const results = await runGroups(ctx, groups);
  for (const item of items) {
    const key = keyOf.get(item.recordId);
    if (key === undefined) continue;
    const result = results.get(key);
    outcomes.set(
      item.recordId,
      result?.ok
        ? ok(item, dealOf(item)!)
        : failed(
            item,
            itemError(
              ctx,
              item,
              result && !result.ok ? result.error : transientError(`${ctx.system}: no answer for the deal`),
            ),
          ),
    );
  }
  return items.map((item) => outcomes.get(item.recordId)!);
}

/** crm.deal row + its product rows → canonical order (refs hold Bitrix24 ids). */
export function dealToSource(
  row: Record<string, unknown>,
  rows: Array<Record<string, unknown>>,
  ctx: ResourceContext,
): SourceItem {
  const stageId = String(row['STAGE_ID'] ?? 'NEW');
  const status = statusOfStage(ctx, stageId);
  const company = str(row['COMPANY_ID']);
  const contact = str(row['CONTACT_ID']);
  const customerId =
    company && company !== '0'
      ? `company:${company}`
      : contact && contact !== '0'
        ? `contact:${contact}`
        : undefined;
  const amount = num(row['OPPORTUNITY']) ?? 0;
  const data: Record<string, unknown> = {
    // Deals obmen made are never read (isOrderDeal): this is a deal of Bitrix24's own.
    number: String(row['ID']),
    date: String(row['BEGINDATE'] ?? row['DATE_CREATE'] ?? '').slice(0, 10) || undefined,
    currency: str(row['CURRENCY_ID']),
    status,
    cancelled: status === 'cancelled',
    lines: rows.map((r, i) => ({
      lineNo: i + 1,
      ...(num(r['PRODUCT_ID']) ? { productId: String(r['PRODUCT_ID']) } : {}),
      name: str(r['PRODUCT_NAME']),
      quantity: num(r['QUANTITY']) ?? 1,
      price: num(r['PRICE']) ?? 0,
      amount: (num(r['PRICE']) ?? 0) * (num(r['QUANTITY']) ?? 1),
    })),
    totals: { amount },
    ...(customerId ? { customerId } : {}),
    ...(str(row['COMMENTS']) ? { comment: str(row['COMMENTS']) } : {}),
  };
  const modified = Date.parse(String(row['DATE_MODIFY'] ?? ''));
  return {
    externalId: String(row['ID']),
    data,
    raw: { ...row, PRODUCT_ROWS: rows },
    ...(Number.isFinite(modified) ? { sourceUpdatedAt: modified } : {}),
  };
}
