import type { DeliveryItem, ItemOutcome } from '../../../core/connector.ts';
import { transientError } from '../../../core/errors.ts';
import type { BatchCommand } from '../client.ts';
import {
  type CatalogContext,
  failed,
  idFrom,
  invalid,
  itemError,
  merged,
  num,
  ok,
  runGroups,
  str,
  xmlIdOf,
} from './common.ts';

/**
 * Prices → catalog.price.add/update, one price per (product, price type). catalog.price.modify
 * is NOT used: it deletes every price of the product that the call does not list, so a route
 * carrying one price type would wipe the others.
 */
export async function writePrices(ctx: CatalogContext, items: DeliveryItem[]): Promise<ItemOutcome[]> {
  const outcomes = new Map<string, ItemOutcome>();
  const valid = items.filter((item) => {
    const d = item.data;
    if (!num(d['productId']) || !num(d['priceTypeId']) || num(d['value']) === undefined) {
      outcomes.set(
        item.recordId,
        failed(
          item,
          invalid(
            ctx,
            item,
            'productId, priceTypeId and value are required (productId/priceTypeId as Bitrix24 ids)',
          ),
        ),
      );
      return false;
    }
    return true;
  });
  const existing = new Map<string, string>();
  const products = [...new Set(valid.filter((i) => !i.externalId).map((i) => num(i.data['productId'])!))];
  if (products.length > 0) {
    const rows = await ctx.client.listAll(
      'catalog.price.list',
      { select: ['id', 'productId', 'catalogGroupId'], filter: { productId: products } },
      (r) =>
        ((r as { prices?: unknown[] })?.prices ?? []) as Array<{
          id: number;
          productId: number;
          catalogGroupId: number;
        }>,
    );
    for (const r of rows) existing.set(`${r.productId}:${r.catalogGroupId}`, String(r.id));
  }
  const idOf = new Map<string, string>();
  const groups: BatchCommand[][] = valid.map((item, i) => {
    const d = item.data;
    const productId = num(d['productId'])!;
    const groupId = num(d['priceTypeId'])!;
    const id = item.externalId ?? existing.get(`${productId}:${groupId}`);
    if (id) idOf.set(item.recordId, id);
    const currency = str(d['currency']) ?? ctx.options.currency;
    return [
      id
        ? {
            key: `c${i}`,
            method: 'catalog.price.update',
            params: { id, fields: merged({ price: num(d['value']), currency }, item) },
          }
        : {
            key: `c${i}`,
            method: 'catalog.price.add',
            params: {
              fields: merged({ productId, catalogGroupId: groupId, price: num(d['value']), currency }, item),
            },
          },
    ];
  });
  const results = await runGroups(ctx, groups);
  for (const [i, item] of valid.entries()) {
    const r = results.get(`c${i}`);
    if (!r?.ok) {
      outcomes.set(
        item.recordId,
        failed(
          item,
          itemError(
            ctx,
            item,
            r && !r.ok ? r.error : transientError(`${ctx.system}: no answer for the price`),
          ),
        ),
      );
      continue;
    }
    const id = idOf.get(item.recordId) ?? idFrom(r.result, 'price', 'id');
    outcomes.set(
      item.recordId,
      id ? ok(item, id) : failed(item, transientError(`${ctx.system}: catalog.price.add returned no id`)),
    );
  }
  return items.map((item) => outcomes.get(item.recordId)!);
}

/** Price types → catalog.priceType.* (found by xmlId, or by name for ones made by hand). */
export async function writePriceTypes(ctx: CatalogContext, items: DeliveryItem[]): Promise<ItemOutcome[]> {
  const all = await ctx.client.listAll(
    'catalog.priceType.list',
    {},
    (r) =>
      ((r as { priceTypes?: unknown[] })?.priceTypes ?? []) as Array<{
        id: number;
        name: string;
        xmlId: string | null;
      }>,
  );
  const groups: BatchCommand[][] = [];
  const idOf = new Map<string, string>();
  for (const [i, item] of items.entries()) {
    const name = str(item.data['name']) ?? item.recordId;
    const xmlId = xmlIdOf(ctx, item);
    const match = item.externalId ?? all.find((t) => t.xmlId === xmlId || t.name === name)?.id;
    if (match !== undefined) idOf.set(item.recordId, String(match));
    const fields = merged({ name, xmlId, sort: 100 }, item);
    groups.push([
      match !== undefined
        ? { key: `t${i}`, method: 'catalog.priceType.update', params: { id: match, fields } }
        : { key: `t${i}`, method: 'catalog.priceType.add', params: { fields: { ...fields, base: 'N' } } },
    ]);
  }
  const toRun = groups.filter((g) => g[0]!.method.endsWith('.add'));
  const results = await runGroups(ctx, toRun);
  return items.map((item, i) => {
    const known = idOf.get(item.recordId);
    if (known) return ok(item, known);
    const r = results.get(`t${i}`);
    if (!r?.ok)
      return failed(
        item,
        itemError(
          ctx,
          item,
          r && !r.ok ? r.error : transientError(`${ctx.system}: no answer for the price type`),
        ),
      );
    const id = idFrom(r.result, 'priceType', 'id');
    return id
      ? ok(item, id)
      : failed(item, transientError(`${ctx.system}: catalog.priceType.add returned no id`));
  });
}
