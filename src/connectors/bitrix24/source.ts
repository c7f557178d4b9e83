import type { ReadRequest, SourceBatch, SourceItem } from '../../core/connector.ts';
import { configError } from '../../core/errors.ts';
import type { ResourceContext } from './resources/common.ts';
import { companyToSource } from './resources/company.ts';
import { contactToSource } from './resources/contact.ts';
import { dealToSource, isOrderDeal } from './resources/deal.ts';
import { productToSource } from './resources/product.ts';

type Row = Record<string, unknown>;

/** Which Bitrix24 list a canonical entity is read from. */
export type SourceKind = 'company' | 'contact' | 'deal' | 'product';

export function kindOf(entity: string, options: Record<string, unknown> | undefined): SourceKind {
  const explicit = options?.['bitrixEntity'];
  if (explicit === 'company' || explicit === 'contact' || explicit === 'deal' || explicit === 'product')
    return explicit;
  if (entity === 'counterparty') return 'company';
  if (entity === 'contact') return 'contact';
  if (entity === 'order') return 'deal';
  if (entity === 'product') return 'product';
  throw configError(
    `the bitrix24 connector reads counterparty, contact, order and product, not "${entity}"; set options.bitrixEntity to company, contact, deal or product`,
  );
}

const LIST = { company: 'crm.company.list', contact: 'crm.contact.list', deal: 'crm.deal.list' } as const;

/** Turns rows of one kind into canonical items, fetching what the list does not carry (requisites, product rows). */
export async function toSourceItems(
  ctx: ResourceContext,
  kind: SourceKind,
  entity: string,
  rows: Row[],
): Promise<SourceItem[]> {
  if (rows.length === 0) return [];
  if (kind === 'product') {
    const items = rows.map(productToSource);
    // vatId → the canonical rate, through the portal's VAT list (read once).
    for (const [i, row] of rows.entries()) {
      const rate = await ctx.vatRates.rateOf(row['vatId']);
      if (rate !== undefined) items[i]!.data['vatRate'] = rate;
    }
    return items;
  }
  if (kind === 'contact')
    return rows.map((r) =>
      contactToSource(r, entity === 'counterparty' ? 'counterparty' : 'contact', ctx.options),
    );
  if (kind === 'company') {
    const requisites = new Map<string, Row>();
    if (ctx.options.requisites === 'requisite') {
      const list = await ctx.client.listAll(
        'crm.requisite.list',
        { filter: { ENTITY_TYPE_ID: 4, '@ENTITY_ID': rows.map((r) => r['ID']) } },
        (r) => (Array.isArray(r) ? r : []) as Row[],
      );
      for (const rq of list)
        if (!requisites.has(String(rq['ENTITY_ID']))) requisites.set(String(rq['ENTITY_ID']), rq);
    }
    return rows.map((r) => companyToSource(r, requisites.get(String(r['ID'])), ctx.options));
  }
  // Only deals at an order stage (options.orderStages, default: won) that obmen did not make
  // are orders; the others are left out before their product rows are fetched.
  const orders = rows.filter((r) => isOrderDeal(ctx, r));
  if (orders.length === 0) return [];
  const results = await ctx.client.batchAll(
    orders.map((r) => ({
      key: `r${String(r['ID'])}`,
      method: 'crm.deal.productrows.get',
      params: { id: r['ID'] },
    })),
  );
  return orders.map((r) => {
    const got = results.get(`r${String(r['ID'])}`);
    return dealToSource(r, got?.ok && Array.isArray(got.result) ? (got.result as Row[]) : [], ctx);
  });
}

/** The objects with these ids (events carry only the id): one batch of *.get per 50. */
export async function fetchByIds(
  ctx: ResourceContext,
  kind: SourceKind,
  ids: string[],
): Promise<{ found: Row[]; missing: string[] }> {
  const method = kind === 'product' ? 'catalog.product.get' : `crm.${kind}.get`;
  const results = await ctx.client.batchAll(ids.map((id) => ({ key: `g${id}`, method, params: { id } })));
  const found: Row[] = [];
  const missing: string[] = [];
  for (const id of ids) {
    const r = results.get(`g${id}`);
    if (r?.ok) found.push((kind === 'product' ? (r.result as { product?: Row }).product : r.result) as Row);
    else if (r && !r.ok && /not found|not exists/i.test(r.error.message)) missing.push(id);
    else if (r && !r.ok) throw r.error;
  }
  return { found, missing };
}

function modifiedOf(kind: SourceKind, row: Row): string | undefined {
  const value = kind === 'product' ? row['timestampX'] : row['DATE_MODIFY'];
  return typeof value === 'string' && value ? value : undefined;
}

/**
 * The catch-up poll (Bitrix24 never retries an event, so events alone lose changes): every object
 * modified since the cursor, oldest first, 50 per page with start/next. A full read uses the
 * fast mode for big exports instead: start=-1 (no counting), order by ID, filter >ID.
 * The cursor is the newest modification time seen; the next poll starts a little before it
 * (DATE_MODIFY has one-second precision) and ingest drops what did not change.
 */
export async function* readSource(ctx: ResourceContext, request: ReadRequest): AsyncGenerator<SourceBatch> {
  const { source } = request;
  const kind = kindOf(source.entity, source.options);
  const dateField = kind === 'product' ? 'timestampX' : 'DATE_MODIFY';
  const idField = kind === 'product' ? 'id' : 'ID';
  const method = kind === 'product' ? 'catalog.product.list' : LIST[kind];
  const baseFilter: Record<string, unknown> = kind === 'product' ? { iblockId: await ctx.iblockId() } : {};
  const pick = (result: unknown): Row[] =>
    kind === 'product'
      ? ((result as { products?: Row[] })?.products ?? [])
      : Array.isArray(result)
        ? (result as Row[])
        : [];
  const select = kind === 'product' ? ['*'] : ['*', 'UF_*', 'PHONE', 'EMAIL'];
  let newest = request.full ? undefined : request.cursor;

  if (request.full || !request.cursor) {
    let lastId = 0;
    for (;;) {
      const page = await ctx.client.call(method, {
        select,
        filter: { ...baseFilter, [`>${idField}`]: lastId },
        order: { [idField]: 'ASC' },
        start: -1,
      });
      const rows = pick(page.result);
      for (const row of rows) {
        const m = modifiedOf(kind, row);
        if (m && (!newest || Date.parse(m) > Date.parse(newest))) newest = m;
      }
      yield {
        items: await toSourceItems(ctx, kind, source.entity, rows),
        ...(newest ? { cursor: newest } : {}),
      };
      if (rows.length < 50) return;
      lastId = Number(rows[rows.length - 1]![idField]);
    }
  }

  const since = new Date(Date.parse(request.cursor) - ctx.options.pollOverlapSeconds * 1000).toISOString();
  let start: number | undefined = 0;
  while (start !== undefined) {
    const page: { result: unknown; next?: number } = await ctx.client.call(method, {
      select,
      filter: { ...baseFilter, [`>=${dateField}`]: since },
      order: { [dateField]: 'ASC', [idField]: 'ASC' },
      start,
    });
    const rows = pick(page.result);
    for (const row of rows) {
      const m = modifiedOf(kind, row);
      if (m && (!newest || Date.parse(m) > Date.parse(newest))) newest = m;
    }
    yield {
      items: await toSourceItems(ctx, kind, source.entity, rows),
      ...(newest ? { cursor: newest } : {}),
    };
    start = page.next;
  }
}
