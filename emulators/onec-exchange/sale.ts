import { randomUUID } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import iconv from 'iconv-lite';
import type { ExchangeClient } from '../../src/exchange/commerceml/index.ts';
import type { PackageFile } from './catalog.ts';
import type { OnecOrderBase } from './orders.ts';

export interface SaleExchangeOptions {
  client: ExchangeClient;
  version?: string;
  /** Confirm the query with mode=success (1C does once it loaded the orders). */
  confirm?: boolean;
  /** Order documents 1C sends back (status, payment, shipment changes): file + import each. */
  documents?: PackageFile[];
  /**
   * 1C's orders (orders.ts): the queried orders are taken into it, and the documents of the ones
   * a manager changed since the last exchange are sent as `documents.xml`.
   */
  base?: OnecOrderBase;
  /** CommerceML of those documents: 2.09 (documents under the root) or 3.1 (Контейнер). */
  documentsVersion?: '2.09' | '3.1';
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
  if (options.base) await options.base.take(ordersXml);
  if (confirm) await client.success();
  const messages: Record<string, string> = {};
  const documents = [...(options.documents ?? [])];
  let written: string | undefined;
  if (options.base && options.base.changed().length > 0) {
    written = join(tmpdir(), `onec-documents-${randomUUID()}.xml`);
    await writeFile(written, options.base.documents({ version: options.documentsVersion ?? '2.09' }));
    documents.push({ name: 'documents.xml', path: written });
  }
  try {
    await sendDocuments(client, documents, init.fileLimit, messages, say);
  } finally {
    if (written) await rm(written, { force: true });
  }
  return { ordersXml, ordersText, orders, confirmed: confirm, messages };
}

async function sendDocuments(
  client: ExchangeClient,
  documents: PackageFile[],
  fileLimit: number,
  messages: Record<string, string>,
  say: (text: string) => void,
): Promise<void> {
  for (const file of documents) {
    await client.uploadFile('sale', file.name, file.path, fileLimit);
    const done = await client.importUntilDone('sale', file.name, (text) => say(`progress: ${text}`));
    messages[file.name] = done.message;
    say(`success: ${done.message}`);
  }
}

/** Decodes an XML document by the encoding its declaration names (1C does the same). */
export function decodeXml(bytes: Buffer): string {
  const head = bytes.subarray(0, 200).toString('latin1');
  const encoding = /encoding=["']([\w-]+)["']/i.exec(head)?.[1]?.toLowerCase() ?? 'utf-8';
  return iconv.decode(bytes, encoding === 'windows-1251' || encoding === 'cp1251' ? 'windows-1251' : 'utf-8');
}
