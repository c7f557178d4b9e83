import iconv from 'iconv-lite';
import type { ExchangeClient } from '../../src/exchange/commerceml/index.ts';
import type { PackageFile } from './catalog.ts';

export interface SaleExchangeOptions {
  client: ExchangeClient;
  version?: string;
  /** Confirm the query with mode=success (1C does once it loaded the orders). */
  confirm?: boolean;
  /** Order documents 1C sends back (status, payment, shipment changes): file + import each. */
  documents?: PackageFile[];
  onProgress?: (text: string) => void;
}

export interface SaleExchangeResult {
  ordersXml: Buffer;
  /** The orders XML as text (decoded by its own XML declaration). */
  ordersText: string;
  /** Number of `<Документ>` elements 1C received. */
  orders: number;
  confirmed: boolean;
  messages: Record<string, string>;
}

/**
 * Runs one order exchange the way 1C does: checkauth → init → query (the site's new orders)
 * → success (commits them) → file + import of 1C's own documents.
 */
export async function runSaleExchange(options: SaleExchangeOptions): Promise<SaleExchangeResult> {
  const { client } = options;
  const say = options.onProgress ?? (() => {});
  await client.checkauth('sale');
  const init = await client.init('sale', options.version ?? '2.08');
  const ordersXml = await client.query();
  const ordersText = decodeXml(ordersXml);
  const orders = (ordersText.match(/<Документ>/g) ?? []).length;
  say(`query: ${orders} orders, ${ordersXml.length} bytes`);
  const confirm = options.confirm ?? true;
  if (confirm) await client.success();
  const messages: Record<string, string> = {};
  for (const file of options.documents ?? []) {
    await client.uploadFile('sale', file.name, file.path, init.fileLimit);
    const done = await client.importUntilDone('sale', file.name, (text) => say(`progress: ${text}`));
    messages[file.name] = done.message;
    say(`success: ${done.message}`);
  }
  return { ordersXml, ordersText, orders, confirmed: confirm, messages };
}

/** Decodes an XML document by the encoding its declaration names (1C does the same). */
export function decodeXml(bytes: Buffer): string {
  const head = bytes.subarray(0, 200).toString('latin1');
  const encoding = /encoding=["']([\w-]+)["']/i.exec(head)?.[1]?.toLowerCase() ?? 'utf-8';
  return iconv.decode(bytes, encoding === 'windows-1251' || encoding === 'cp1251' ? 'windows-1251' : 'utf-8');
}
