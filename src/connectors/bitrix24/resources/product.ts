import type { DeliveryItem, ItemOutcome, SourceItem } from '../../../core/connector.ts';
import { configError, type ObmenError, transientError } from '../../../core/errors.ts';
import type { BatchCommand } from '../client.ts';
import { requiredFields } from '../defaults.ts';
import {
  type CatalogContext,
  failed,
  idFrom,
  itemError,
  merged,
  num,
  ok,
  runGroups,
  str,
  xmlIdOf,
} from './common.ts';

function grams(weight: unknown): number | undefined {
  if (!weight || typeof weight !== 'object') return undefined;
  const { value, unit } = weight as { value?: unknown; unit?: unknown };
  const n = num(value);
  if (n === undefined) return undefined;
  const u = String(unit ?? '').toLowerCase();
  if (u === 'kg' || u === 'кг') return n * 1000;
  if (u === 't' || u === 'т') return n * 1_000_000;
  return n;
}

/** canonical product → catalog.product fields (camelCase, real numbers). */
export function catalogFields(
  item: DeliveryItem,
  iblockId: number,
  code: boolean,
  vatId: number | undefined,
  required: readonly string[],
  xmlId: string = item.recordId,
): Record<string, unknown> {
  const d = item.data;
  return merged(
    {
      iblockId,
      name: str(d['name']),
      xmlId,
      code: code ? str(d['article']) : undefined,
      active: d['deleted'] === true || item.deleted ? 'N' : 'Y',
      previewText: str(d['description']),
      weight: grams(d['weight']),
      vatId,
      vatIncluded: 'Y',
    },
    item,
    required,
  );
}

/** The canonical VAT rate a product states: a percent, null for "без НДС", undefined when it says nothing. */
function vatRateOf(item: DeliveryItem): number | null | undefined {
  if (!('vatRate' in item.data) || item.fields?.['vatId'] !== undefined) return undefined;
  const rate = item.data['vatRate'];
  return rate === null ? null : num(rate);
}

/**
 * The portal's vatId for each product that states a VAT rate; products whose rate the portal lacks
 * get a config error instead (parked: a person adds the rate in Bitrix24, then retries).
 */
async function vatIds(
  ctx: CatalogContext,
  items: DeliveryItem[],
): Promise<{ ids: Map<string, number>; refused: Map<string, ObmenError> }> {
  const ids = new Map<string, number>();
  const refused = new Map<string, ObmenError>();
  const rates = new Map<string, number | null>();
  for (const item of items) {
    const rate = vatRateOf(item);
    if (rate !== undefined) rates.set(item.recordId, rate);
  }
  if (rates.size === 0) return { ids, refused };
  const found = await ctx.vatRates.resolve([...new Set(rates.values())]);
  for (const item of items) {
    if (!rates.has(item.recordId)) continue;
    const lookup = found.get(rates.get(item.recordId)!)!;
    if ('id' in lookup) ids.set(item.recordId, lookup.id);
    else
      refused.set(
        item.recordId,
        configError(
          `${ctx.system}: product ${item.recordId} "${str(item.data['name']) ?? ''}": ${lookup.problem}`,
          { system: ctx.system, code: 'VAT_RATE_MISSING' },
        ),
      );
  }
  return { ids, refused };
}

/** canonical product → legacy crm.product fields (UPPER_CASE). */
export function legacyFields(
  item: DeliveryItem,
  currency: string,
  required: readonly string[],
): Record<string, unknown> {
  const d = item.data;
  return merged(
    {
      NAME: str(d['name']),
      XML_ID: item.recordId,
      ACTIVE: d['deleted'] === true || item.deleted ? 'N' : 'Y',
      DESCRIPTION: str(d['description']),
      CURRENCY_ID: currency,
    },
    item,
    required,
  );
}

/**
 * Products → catalog.product.* (or crm.product.* when legacyProducts is set). An object is found
 * by its known id, else by xmlId (obmen's record id) so a write repeated after a crash updates
 * instead of duplicating. Deleted products are deactivated, never deleted (deals refer to them).
 */
export async function writeProducts(ctx: CatalogContext, items: DeliveryItem[]): Promise<ItemOutcome[]> {
  const legacy = ctx.options.legacyProducts;
  const iblockId = legacy ? 0 : await ctx.iblockId();
  // The legacy crm.product.* API is for portals without the catalog scope: no VAT lookup there.
  const vat = legacy
    ? { ids: new Map<string, number>(), refused: new Map<string, ObmenError>() }
    : await vatIds(ctx, items);
  const idOf = new Map<string, string>();
  for (const item of items) if (item.externalId) idOf.set(item.recordId, item.externalId);
  // xmlId → record id: a found object is matched back to the item by the xmlId it was written with.
  const byXmlId = new Map<string, string>();
  for (const item of items)
    if (!idOf.has(item.recordId) && !vat.refused.has(item.recordId))
      byXmlId.set(xmlIdOf(ctx, item), item.recordId);
  const unknown = [...byXmlId.keys()];
  if (unknown.length > 0) {
    if (legacy) {
      const rows = await ctx.client.listAll(
        'crm.product.list',
        { filter: { '@XML_ID': unknown }, select: ['ID', 'XML_ID'] },
        (r) => (Array.isArray(r) ? r : []) as Array<{ ID: string; XML_ID: string }>,
      );
      for (const r of rows) idOf.set(byXmlId.get(String(r.XML_ID)) ?? String(r.XML_ID), String(r.ID));
    } else {
      const rows = await ctx.client.listAll(
        'catalog.product.list',
        { select: ['id', 'iblockId', 'xmlId'], filter: { iblockId, xmlId: unknown } },
        (r) => ((r as { products?: unknown[] })?.products ?? []) as Array<{ id: number; xmlId: string }>,
      );
      for (const r of rows) idOf.set(byXmlId.get(String(r.xmlId)) ?? String(r.xmlId), String(r.id));
    }
  }
  const prefix = legacy ? 'crm.product' : 'catalog.product';
  const required = requiredFields(ctx.options);
  const groups: BatchCommand[][] = [];
  for (const [i, item] of items.entries()) {
    if (vat.refused.has(item.recordId)) continue;
    const fields = legacy
      ? legacyFields(item, ctx.options.currency, required)
      : catalogFields(
          item,
          iblockId,
          ctx.options.productCode === 'article',
          vat.ids.get(item.recordId),
          required,
          xmlIdOf(ctx, item),
        );
    const id = idOf.get(item.recordId);
    groups.push([
      id
        ? { key: `p${i}`, method: `${prefix}.update`, params: { id, fields } }
        : { key: `p${i}`, method: `${prefix}.add`, params: { fields } },
    ]);
  }
  const results = await runGroups(ctx, groups);
  return items.map((item, i) => {
    const refused = vat.refused.get(item.recordId);
    if (refused) return failed(item, refused);
    const r = results.get(`p${i}`);
    if (!r?.ok)
      return failed(
        item,
        itemError(
          ctx,
          item,
          r && !r.ok ? r.error : transientError(`${ctx.system}: no answer for the product`),
        ),
      );
    const id = idOf.get(item.recordId) ?? (legacy ? idFrom(r.result) : idFrom(r.result, 'element', 'id'));
    return id ? ok(item, id) : failed(item, transientError(`${ctx.system}: ${prefix}.add returned no id`));
  });
}

/** catalog.product row → canonical product. */
export function productToSource(row: Record<string, unknown>): SourceItem {
  const data: Record<string, unknown> = { name: str(row['name']) ?? str(row['NAME']) ?? '' };
  const description = str(row['previewText']) ?? str(row['DESCRIPTION']);
  if (description) data['description'] = description;
  const weight = num(row['weight']);
  if (weight) data['weight'] = { value: weight, unit: 'g' };
  if ((row['active'] ?? row['ACTIVE']) === 'N') data['deleted'] = true;
  const modified = Date.parse(String(row['timestampX'] ?? row['TIMESTAMP_X'] ?? ''));
  return {
    externalId: String(row['id'] ?? row['ID']),
    data,
    raw: row,
    ...(Number.isFinite(modified) ? { sourceUpdatedAt: modified } : {}),
  };
}
