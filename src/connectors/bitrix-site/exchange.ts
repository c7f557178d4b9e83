import { randomUUID } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ConnectorContext } from '../../core/connector.ts';
import { classify, configError, ObmenError, permanentError, transientError } from '../../core/errors.ts';
import {
  ExchangeClient,
  ExchangeClientError,
  type ExchangeType,
  httpClientTransport,
  zipFiles,
} from '../../exchange/commerceml/index.ts';
import type { BitrixSiteSettings } from './spec.ts';

/**
 * One exchange with a site exactly as 1C runs it: checkauth → init → upload (one zip archive
 * when the site allows it, else each file, in chunks of file_limit) → `import` repeated until
 * `success` for every XML file → `complete` for the catalog. Files are written to a temporary
 * folder first because 1C uploads from disk and so does the shared client.
 */

/** One file of a package: its name on the site (`import.xml`) and its bytes. */
export interface PackageFile {
  name: string;
  bytes: Buffer;
}

export interface PackageResult {
  /** The `success` text the site answered for each XML file. */
  messages: Record<string, string>;
  importCalls: number;
  requests: number;
}

export function newExchangeClient(settings: BitrixSiteSettings, ctx: ConnectorContext): ExchangeClient {
  return new ExchangeClient({
    url: settings.exchangeUrl,
    login: settings.login,
    password: settings.password,
    transport: httpClientTransport(ctx.http),
    userAgent: '1C+Enterprise/8.3 (obmen)',
    signal: ctx.signal,
  });
}

/**
 * One exchange per site at a time: a site's `mode=init` clears its upload folder, so a second
 * package sent meanwhile (prices while products import) would lose the first one's files.
 */
const siteQueues = new Map<string, Promise<unknown>>();

export function sendPackage(
  client: ExchangeClient,
  type: ExchangeType,
  files: PackageFile[],
  settings: BitrixSiteSettings,
): Promise<PackageResult> {
  const key = settings.exchangeUrl;
  const previous = siteQueues.get(key) ?? Promise.resolve();
  const run = previous.catch(() => {}).then(() => exchangeOnce(client, type, files, settings));
  const tail = run.catch(() => {});
  siteQueues.set(key, tail);
  void tail.then(() => {
    if (siteQueues.get(key) === tail) siteQueues.delete(key);
  });
  return run;
}

async function exchangeOnce(
  client: ExchangeClient,
  type: ExchangeType,
  files: PackageFile[],
  settings: BitrixSiteSettings,
): Promise<PackageResult> {
  await client.checkauth(type);
  const init = await client.init(type, type === 'catalog' ? settings.version : settings.ordersVersion);
  const dir = join(tmpdir(), `obmen-bitrix-site-${randomUUID()}`);
  await mkdir(dir, { recursive: true });
  try {
    const onDisk = [];
    for (const file of files) {
      const path = join(dir, file.name);
      await writeFile(path, file.bytes);
      onDisk.push({ name: file.name, path });
    }
    if (settings.zip && init.zip) {
      const archive = join(dir, 'exchange.zip');
      await zipFiles(onDisk, archive);
      await client.uploadFile(type, 'exchange.zip', archive, init.fileLimit);
    } else {
      for (const file of onDisk) await client.uploadFile(type, file.name, file.path, init.fileLimit);
    }
    const messages: Record<string, string> = {};
    let importCalls = 0;
    for (const file of files) {
      const done = await client.importUntilDone(type, file.name, undefined, settings.maxImportCalls);
      importCalls += done.calls;
      messages[file.name] = done.message;
    }
    if (type === 'catalog') await client.complete();
    return { messages, importCalls, requests: client.requests };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * What a failed exchange means for the items it carried: refused credentials are config, a
 * refused import is the data's fault (permanent, with the site's own words), and anything on
 * the way there (HTTP 5xx, network, a lost session, a failed upload) is transient.
 */
export function exchangeError(error: unknown, system: string, what: string): ObmenError {
  if (error instanceof ObmenError) return error;
  if (!(error instanceof ExchangeClientError)) return classify(error, system);
  const status = Number(/HTTP (\d{3})/.exec(error.message)?.[1] ?? 0);
  const said = error.message.replace(/^[a-z]+: /, '');
  const options = { system, code: `CML_${error.mode.toUpperCase()}`, detail: error.reply.slice(0, 500) };
  if (status === 401 || status === 403 || (status === 0 && error.mode === 'checkauth')) {
    return configError(
      `${system}: the site refused the exchange login (${said}); check systems.${system}.credentials and that the user may run the 1C exchange`,
      options,
    );
  }
  if (status === 404) {
    return configError(
      `${system}: no exchange script at the configured address (HTTP 404); check systems.${system}.url and options.path`,
      options,
    );
  }
  if (status >= 400 || error.mode !== 'import') {
    return transientError(
      `${system}: ${what} interrupted at mode=${error.mode}: ${said}; it will be retried`,
      options,
    );
  }
  return permanentError(`${system} rejected ${what}: ${said}`, options);
}
