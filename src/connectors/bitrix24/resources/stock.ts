import type { DeliveryItem, ItemOutcome } from '../../../core/connector.ts';
import { transientError } from '../../../core/errors.ts';
import { type BatchCommand, MAX_BATCH } from '../client.ts';
import { ref } from '../query.ts';
import {
  type CatalogContext,
  failed,
  idFrom,
  invalid,
  itemError,
  merged,
  num,
  ok,
  str,
  xmlIdOf,
} from './common.ts';

interface Move {
  item: DeliveryItem;
  productId: number;
  storeId: number;
  delta: number;
}

/**
 * Stock → store documents. Balances in Bitrix24 are read-only (catalog.storeproduct.*); they
 * change only when a document is conducted. So obmen reads the current balances, and for the
 * differences writes one goods-acquisition document (type S, storeTo) for increases and one
 * write-off (type D, storeFrom) for decreases: catalog.document.add, one
 * catalog.document.element.add per product and catalog.document.conduct — all in ONE batch
 * call per document (the elements and the conduct take the new document's id by $result),
 * at most 48 products per document so the three kinds of command fit the 50-command batch.
 */
export async function writeStock(ctx: CatalogContext, items: DeliveryItem[]): Promise<ItemOutcome[]> {
  const outcomes = new Map<string, ItemOutcome>();
  const wanted: Array<{ item: DeliveryItem; productId: number; storeId: number; quantity: number }> = [];
  for (const item of items) {
    const productId = num(item.data['productId']);
    const storeId = num(item.data['warehouseId']) ?? ctx.options.defaultStoreId;
    const quantity = num(item.data['quantity']);
    if (!productId || quantity === undefined) {
      outcomes.set(
        item.recordId,
        failed(item, invalid(ctx, item, 'productId (a Bitrix24 product id) and quantity are required')),
      );
      continue;
    }
    if (quantity < 0) {
      outcomes.set(
        item.recordId,
        failed(
          item,
          invalid(ctx, item, `quantity ${quantity} is negative; store balances cannot go below zero`),
        ),
      );
      continue;
    }
    wanted.push({ item, productId, storeId, quantity });
  }
  const current = new Map<string, number>();
  if (wanted.length > 0) {
    const rows = await ctx.client.listAll(
      'catalog.storeproduct.list',
      {
        select: ['productId', 'storeId', 'amount'],
        filter: { productId: [...new Set(wanted.map((w) => w.productId))] },
      },
      (r) =>
        ((r as { storeProducts?: unknown[] })?.storeProducts ?? []) as Array<{
          productId: number;
          storeId: number;
          amount: number;
        }>,
    );
    for (const r of rows) current.set(`${r.productId}:${r.storeId}`, Number(r.amount));
  }
  const moves: Move[] = [];
  for (const w of wanted) {
    const delta = w.quantity - (current.get(`${w.productId}:${w.storeId}`) ?? 0);
    if (Math.abs(delta) < 1e-9) outcomes.set(w.item.recordId, ok(w.item, `${w.productId}:${w.storeId}`));
    else moves.push({ ...w, delta });
  }
  for (const type of ['S', 'D'] as const) {
    const list = moves.filter((m) => (type === 'S' ? m.delta > 0 : m.delta < 0));
    for (let i = 0; i < list.length; i += MAX_BATCH - 2) {
      await conductDocument(ctx, type, list.slice(i, i + MAX_BATCH - 2), outcomes);
    }
  }
  return items.map((item) => outcomes.get(item.recordId)!);
}

async function conductDocument(
  ctx: CatalogContext,
  docType: 'S' | 'D',
  moves: Move[],
  outcomes: Map<string, ItemOutcome>,
): Promise<void> {
  const docId = ref('doc', 'document', 'id');
  const commands: BatchCommand[] = [
    {
      key: 'doc',
      method: 'catalog.document.add',
      params: {
        fields: {
          docType,
          currency: ctx.options.currency,
          responsibleId: ctx.options.responsibleId,
          title: `obmen ${docType === 'S' ? 'поступление' : 'списание'}`,
        },
      },
    },
    ...moves.map((m, i) => ({
      key: `e${i}`,
      method: 'catalog.document.element.add',
      params: {
        fields: merged(
          {
            docId,
            elementId: m.productId,
            amount: Math.abs(m.delta),
            ...(docType === 'S' ? { storeTo: m.storeId } : { storeFrom: m.storeId }),
            purchasingPrice: 0,
          },
          m.item,
        ),
      },
    })),
    { key: 'conduct', method: 'catalog.document.conduct', params: { id: docId } },
  ];
  const results = await ctx.client.batch(commands);
  const doc = results.get('doc');
  const conduct = results.get('conduct');
  for (const [i, m] of moves.entries()) {
    const element = results.get(`e${i}`);
    const id = `${m.productId}:${m.storeId}`;
    if (!doc?.ok) {
      outcomes.set(
        m.item.recordId,
        failed(
          m.item,
          itemError(
            ctx,
            m.item,
            doc && !doc.ok ? doc.error : transientError(`${ctx.system}: no answer for the stock document`),
          ),
        ),
      );
    } else if (!element?.ok) {
      outcomes.set(
        m.item.recordId,
        failed(
          m.item,
          itemError(
            ctx,
            m.item,
            element && !element.ok
              ? element.error
              : transientError(`${ctx.system}: no answer for the document line`),
          ),
        ),
      );
    } else if (!conduct?.ok) {
      // Not conducted: nothing moved; the next attempt computes the difference again.
      outcomes.set(
        m.item.recordId,
        failed(
          m.item,
          itemError(
            ctx,
            m.item,
            conduct && !conduct.ok
              ? conduct.error
              : transientError(`${ctx.system}: the stock document was not conducted`),
          ),
        ),
      );
    } else {
      outcomes.set(m.item.recordId, ok(m.item, id));
    }
  }
}

/** Warehouses → catalog.store.* (found by xmlId = obmen's record id). */
export async function writeWarehouses(ctx: CatalogContext, items: DeliveryItem[]): Promise<ItemOutcome[]> {
  const stores = await ctx.client.listAll(
    'catalog.store.list',
    { select: ['id', 'xmlId', 'title'] },
    (r) => ((r as { stores?: unknown[] })?.stores ?? []) as Array<{ id: number; xmlId: string | null }>,
  );
  const commands: BatchCommand[] = items.map((item, i) => {
    const name = str(item.data['name']) ?? item.recordId;
    const xmlId = xmlIdOf(ctx, item);
    const fields = merged(
      {
        title: name,
        address: str(item.data['address']) ?? name,
        xmlId,
        active: item.deleted || item.data['deleted'] === true ? 'N' : 'Y',
      },
      item,
    );
    const id = item.externalId ?? stores.find((s) => s.xmlId === xmlId)?.id;
    return id !== undefined
      ? { key: `s${i}`, method: 'catalog.store.update', params: { id, fields } }
      : { key: `s${i}`, method: 'catalog.store.add', params: { fields } };
  });
  const results = await ctx.client.batchAll(commands);
  return items.map((item, i) => {
    const r = results.get(`s${i}`);
    if (!r?.ok)
      return failed(
        item,
        itemError(ctx, item, r && !r.ok ? r.error : transientError(`${ctx.system}: no answer for the store`)),
      );
    const id = idFrom(r.result, 'store', 'id');
    return id
      ? ok(item, id)
      : failed(item, transientError(`${ctx.system}: catalog.store.add returned no id`));
  });
}
