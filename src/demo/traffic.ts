import { randomInt } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BitrixSite, generateOrders } from '../../emulators/bitrix-site/index.ts';
import type { Bitrix24Emulator } from '../../emulators/bitrix24/index.ts';
import { generatePackage, runCatalogExchange } from '../../emulators/onec-exchange/index.ts';
import type { OnecOdataEmulator } from '../../emulators/onec-odata/index.ts';
import { ExchangeClient } from '../exchange/commerceml/index.ts';

/**
 * Orders over time: every `everyMs` a buyer orders on one of the sites or a manager makes a
 * deal in Bitrix24, taking turns. Nobody orders before obmen delivered a catalog there.
 * Returns the function that stops them.
 */
export function startOrderTraffic(
  sites: Array<{ name: string; site: BitrixSite }>,
  bitrix24: Bitrix24Emulator,
  everyMs: number,
  say: (text: string) => void,
): () => void {
  let turn = 0;
  const timer = setInterval(() => {
    const slot = turn++ % (sites.length + 1);
    const entry = sites[slot];
    if (!entry) {
      createBitrix24Deal(bitrix24).then(
        (id) => {
          if (id !== undefined) say(`Bitrix24: a manager made deal ${id}`);
        },
        (error: Error) => say(`Bitrix24: no deal made (${error.message})`),
      );
      return;
    }
    try {
      const [order] = generateOrders(entry.site.state, 1);
      if (order) say(`${entry.name}: a buyer placed order №${order.accountNumber}`);
    } catch {
      // The site has no catalog yet: obmen is still delivering it. Buyers come back later.
    }
  }, everyMs);
  return () => clearInterval(timer);
}

/**
 * 1C's "Обмен с сайтом" pushing a generated CommerceML catalog into obmen's own exchange
 * endpoint, once — the second way 1C talks to obmen, beside OData.
 */
export async function pushCommercemlCatalog(
  endpoint: string,
  login: string,
  password: string,
  goods: number,
  signal: AbortSignal,
): Promise<{ goods: number; importCalls: number }> {
  const dir = await mkdtemp(join(tmpdir(), 'obmen-demo-cml-'));
  try {
    // No properties: the demo's catalog comes from the OData side; this push shows the protocol.
    const files = await generatePackage(dir, { goods, propertiesPerGood: 0, seed: 7 });
    const client = new ExchangeClient({ url: endpoint, login, password, signal });
    const result = await runCatalogExchange({ client, files, version: '2.08', finish: true });
    return { goods, importCalls: result.importCalls };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * A sales manager in Bitrix24: a deal for one of the companies obmen created, with one to three
 * of the goods obmen created, made through the portal's REST API like any other client does,
 * and won. obmen's catch-up poll reads the won deal as an order and writes it to 1C (Заказ
 * клиента). Returns the deal id, or undefined while the portal has no companies or goods from
 * obmen yet.
 */
export async function createBitrix24Deal(bitrix24: Bitrix24Emulator): Promise<number | undefined> {
  const companies = [...bitrix24.state.table('company').keys()];
  const products = [...bitrix24.state.table('product').entries()];
  if (companies.length === 0 || products.length === 0 || !bitrix24.webhookUrl) return undefined;
  const pick = <T>(list: T[]): T => list[randomInt(list.length)]!;
  const call = async (method: string, params: Record<string, unknown>) => {
    const response = await fetch(`${bitrix24.webhookUrl}${method}.json`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(params),
    });
    const body = (await response.json()) as { result?: unknown; error_description?: string };
    if (!response.ok) throw new Error(`${method}: ${body.error_description ?? response.status}`);
    return body.result;
  };
  const id = Number(
    await call('crm.deal.add', {
      fields: {
        TITLE: `Сделка менеджера ${randomInt(1000)}`,
        COMPANY_ID: pick(companies),
        CURRENCY_ID: 'RUB',
      },
    }),
  );
  const rows = Array.from({ length: 1 + randomInt(3) }, () => {
    const [productId, product] = pick(products);
    return {
      PRODUCT_ID: productId,
      PRICE: Number(product['price'] ?? 1000) || 1000,
      QUANTITY: 1 + randomInt(5),
    };
  });
  await call('crm.deal.productrows.set', { id, rows });
  // Only won deals are orders (the bitrix24 connector's orderStages).
  await call('crm.deal.update', { id, fields: { STAGE_ID: 'WON' } });
  return id;
}

/**
 * A manager in 1C working through the orders obmen wrote there, one step per tick: a new order
 * is agreed, an agreed one paid, a paid one shipped (the emulator's order desk, as the control
 * API does it). obmen reads the order states and shows them as deal stages and shop statuses.
 * Returns the function that stops it.
 */
export function startOnecManager(
  onec: OnecOdataEmulator,
  everyMs: number,
  say: (text: string) => void,
): () => void {
  const timer = setInterval(() => {
    const orders = onec.catalog.created('Document_ЗаказКлиента').filter((doc) => doc['Posted'] === true);
    for (const doc of orders) {
      const ref = String(doc['Ref_Key']);
      const state = onec.catalog.orders.state(ref);
      const number = `${String(doc['Number'])} (${String(doc['НомерПоДаннымКлиента'])})`;
      try {
        if (doc['Статус'] === 'НеСогласован') {
          onec.catalog.orders.setStatus(ref, 'КВыполнению');
          say(`1C: order ${number} agreed`);
        } else if (state && Number(state['ПроцентОплаты']) < 100) {
          onec.catalog.orders.pay(ref, 100);
          say(`1C: order ${number} paid`);
        } else if (state && Number(state['ПроцентОтгрузки']) < 100) {
          onec.catalog.orders.ship(ref, 100);
          say(`1C: order ${number} shipped`);
        } else continue;
      } catch {
        continue; // a closed or cancelled order: nothing to do with it
      }
      return;
    }
  }, everyMs);
  return () => clearInterval(timer);
}
