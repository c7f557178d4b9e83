import { randomUUID } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ConnectorContext, ReadRequest, SourceBatch, SourceItem } from '../../core/connector.ts';
import { configError, permanentError } from '../../core/errors.ts';
import { parseCommerceMl } from '../../formats/commerceml/index.ts';
import { exchangeError, newExchangeClient } from './exchange.ts';
import type { BitrixSiteSettings } from './spec.ts';
import { statusFromSite } from './statuses.ts';

/**
 * Pulls the site's new and changed orders as 1C does: checkauth → init → `type=sale&mode=query`,
 * then `mode=success` — and only after obmen stored them. The guarantee comes from how a pull
 * consumes this generator: the engine ingests a batch (saving it durably) before it asks for
 * the next one, so the code after the last `yield` runs only once every batch is in the hub.
 * A failure or crash before that leaves the site's export cursor where it was, and the site
 * sends the same orders again next time; ingest recognises them (same id, same hash), so none
 * is lost and none doubled. `success` is never sent from a `finally`: an aborted pull must not
 * confirm.
 */
export async function* readOrders(
  ctx: ConnectorContext,
  settings: BitrixSiteSettings,
  request: ReadRequest,
): AsyncGenerator<SourceBatch> {
  const system = ctx.systemName;
  if (request.source.entity !== 'order') {
    throw configError(
      `${system}: a 1C-Bitrix site can be read for orders only (type=sale&mode=query), not ${request.source.entity}; fix source ${request.source.name}`,
      { system },
    );
  }
  const client = newExchangeClient(settings, ctx);
  let xml: Buffer;
  try {
    await client.checkauth('sale');
    await client.init('sale', settings.version);
    xml = await client.query();
  } catch (error) {
    throw exchangeError(error, system, 'the orders query');
  }
  const dir = join(tmpdir(), `obmen-bitrix-orders-${randomUUID()}`);
  await mkdir(dir, { recursive: true });
  const orders: SourceItem[] = [];
  // Buyers come only inside the orders XML: they go with their orders so the hub knows them.
  const buyers = new Map<string, SourceItem>();
  const problems: string[] = [];
  try {
    const path = join(dir, 'orders.xml');
    await writeFile(path, xml);
    for await (const event of parseCommerceMl(path, { signal: ctx.signal, fileLabel: 'orders.xml' })) {
      if (event.kind === 'item' && event.entity === 'order') orders.push(withHubStatus(settings, event.item));
      else if (event.kind === 'item' && event.entity === 'counterparty')
        buyers.set(event.item.externalId, event.item);
      else if (event.kind === 'itemError' && event.entity === 'order') problems.push(event.message);
    }
  } catch (error) {
    throw permanentError(
      `${system}: the orders the site sent (mode=query) are not readable CommerceML: ${(error as Error).message}; nothing was confirmed, the site will send them again`,
      { system, code: 'CML_PARSE', cause: error },
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  const size = Math.max(1, request.source.batchSize);
  for (let at = 0; at < orders.length; at += size) {
    const items = orders.slice(at, at + size);
    const theirBuyers = [
      ...new Set(items.map((order) => (order.data as { customerId?: unknown }).customerId)),
    ].flatMap((id) => (typeof id === 'string' && buyers.has(id) ? [buyers.get(id)!] : []));
    yield {
      items,
      ...(theirBuyers.length > 0 ? { related: [{ entity: 'counterparty', items: theirBuyers }] } : {}),
    };
  }
  // Every batch above is ingested by now (see the note at the top).
  if (problems.length > 0) {
    // Confirming would drop the unreadable orders for good: the site only re-sends what changed.
    throw permanentError(
      `${system}: ${problems.length} order(s) from the site could not be read and were not confirmed, so the site will offer them again: ${problems.slice(0, 5).join('; ')}. Fix them on the site (or the mapping); the readable orders were stored`,
      { system, code: 'CML_ORDER_INVALID' },
    );
  }
  try {
    await client.success();
  } catch (error) {
    throw exchangeError(error, system, 'the orders confirmation (mode=success)');
  }
}

/** The site's status ("[N] Принят, ожидается оплата") in the hub's words (statuses.ts). */
function withHubStatus(settings: BitrixSiteSettings, item: SourceItem): SourceItem {
  const status = (item.data as { status?: unknown }).status;
  if (typeof status !== 'string') return item;
  return { ...item, data: { ...item.data, status: statusFromSite(settings, status) } };
}
