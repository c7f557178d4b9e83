import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { finished } from 'node:stream/promises';
import { type ExchangeClient, zipFiles } from '../../src/exchange/commerceml/index.ts';
import { generateCatalog, generateOffers } from '../../src/formats/commerceml/index.ts';

/** A file of the exchange package: `name` as 1C sends it (`import.xml`, `import_files/ab/x.jpg`). */
export interface PackageFile {
  name: string;
  path: string;
}

export interface CatalogExchangeOptions {
  client: ExchangeClient;
  files: PackageFile[];
  /** CommerceML version 1C announces at init (`version=`); 1C 8.3 exchange modules send 2.08 or 3.1. */
  version?: string;
  /** `auto`: one zip archive when the server answers zip=yes (as 1C does); `never`: plain files. */
  zip?: 'auto' | 'never';
  /** Where the temporary archive is made (default: the OS temp folder). */
  tempDir?: string;
  /** Also call mode=deactivate and mode=complete at the end (newer exchange modules do). */
  finish?: boolean;
  onProgress?: (text: string) => void;
}

export interface CatalogExchangeResult {
  zipped: boolean;
  bytesSent: number;
  importCalls: number;
  requests: number;
  /** The `success` text of every imported file. */
  messages: Record<string, string>;
}

// 1C imports in this order: the classifier and goods before offers, offers before prices/stock.
const KIND_ORDER = ['import', 'offers', 'prices', 'rests'];

function importRank(name: string): number {
  // import.xml, import___<guid>.xml, goods_1_import.xml (3.1 split packages) …
  const base = name.toLowerCase().split('/').pop() ?? '';
  const index = KIND_ORDER.findIndex((kind) => new RegExp(`(^|_)${kind}(_|\\.|$)`).test(base));
  return index < 0 ? KIND_ORDER.length : index;
}

/**
 * Runs one catalog exchange the way 1C's "Обмен с сайтом" does: checkauth → init → upload
 * (one zip archive when the site allows it, else every file) in chunks of file_limit → import
 * each XML file, repeating until `success` → optionally deactivate and complete.
 */
export async function runCatalogExchange(options: CatalogExchangeOptions): Promise<CatalogExchangeResult> {
  const { client } = options;
  const say = options.onProgress ?? (() => {});
  await client.checkauth('catalog');
  const init = await client.init('catalog', options.version ?? '2.08');
  say(`init: zip=${init.zip ? 'yes' : 'no'} file_limit=${init.fileLimit}`);
  const xmlFiles = options.files
    .filter((f) => /\.xml$/i.test(f.name))
    .sort((a, b) => importRank(a.name) - importRank(b.name));
  const others = options.files.filter((f) => !/\.xml$/i.test(f.name));
  let bytesSent = 0;
  const zipped = init.zip && (options.zip ?? 'auto') === 'auto';
  if (zipped) {
    const dir = join(options.tempDir ?? tmpdir(), `onec-exchange-${randomUUID()}`);
    await mkdir(dir, { recursive: true });
    try {
      const archive = join(dir, 'import.zip');
      await zipFiles([...others, ...xmlFiles], archive);
      say(`archive: ${(await stat(archive)).size} bytes`);
      bytesSent += await client.uploadFile('catalog', 'import.zip', archive, init.fileLimit);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  } else {
    // Pictures travel before the XML that points at them.
    for (const file of [...others, ...xmlFiles]) {
      bytesSent += await client.uploadFile('catalog', file.name, file.path, init.fileLimit);
    }
  }
  say(`uploaded ${bytesSent} bytes`);
  let importCalls = 0;
  const messages: Record<string, string> = {};
  for (const file of xmlFiles) {
    const done = await client.importUntilDone('catalog', file.name, (text) => say(`progress: ${text}`));
    importCalls += done.calls;
    messages[file.name] = done.message;
    say(`success: ${done.message}`);
  }
  if (options.finish) {
    say(`deactivate: ${await client.deactivate()}`);
    say(`complete: ${await client.complete()}`);
  }
  return { zipped, bytesSent, importCalls, requests: client.requests, messages };
}

/** Writes a deterministic generated catalog (import.xml + offers.xml) into `dir`. */
export async function generatePackage(
  dir: string,
  options: { goods: number; propertiesPerGood?: number; seed?: number; offers?: boolean },
): Promise<PackageFile[]> {
  await mkdir(dir, { recursive: true });
  const settings = {
    goods: options.goods,
    propertiesPerGood: options.propertiesPerGood ?? 5,
    seed: options.seed ?? 1,
  };
  const files: PackageFile[] = [];
  const importPath = join(dir, 'import.xml');
  const out = createWriteStream(importPath);
  await generateCatalog(settings, out);
  out.end();
  await finished(out);
  files.push({ name: 'import.xml', path: importPath });
  if (options.offers !== false) {
    const offersPath = join(dir, 'offers.xml');
    const offers = createWriteStream(offersPath);
    await generateOffers(settings, offers);
    offers.end();
    await finished(offers);
    files.push({ name: 'offers.xml', path: offersPath });
  }
  return files;
}
