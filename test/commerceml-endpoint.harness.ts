import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { generatePackage } from '../emulators/onec-exchange/catalog.ts';
import { buildApi } from '../src/api/server.ts';
import { onecCommercemlConnector } from '../src/connectors/onec-commerceml/index.ts';
import { registerConnector } from '../src/connectors/registry.ts';
import { createRuntime, type Runtime } from '../src/engine/runtime.ts';
import { ExchangeClient } from '../src/exchange/commerceml/index.ts';
import { openStore, type Store } from '../src/store/store.ts';
import { hubConfig } from './support/hub.ts';
import type { TestDatabase } from './support/stores.ts';

/** A real obmen (SQLite file, Fastify on 127.0.0.1) with one onec-commerceml system "erp". */
export interface ObmenUnderTest {
  url: string;
  base: string;
  dir: string;
  store: Store;
  runtime: Runtime;
  app: FastifyInstance;
  client(login?: string, password?: string): ExchangeClient;
  recordCount(entity: string): Promise<number>;
  close(): Promise<void>;
}

export const LOGIN = 'Обмен';
export const PASSWORD = 'пароль-1С';

export async function startObmen(
  options: Record<string, unknown> = {},
  extra: {
    routes?: unknown[];
    sources?: unknown[];
    systems?: Record<string, unknown>;
    dir?: string;
    keepDir?: boolean;
    port?: number;
    database?: TestDatabase;
    matching?: boolean;
  } = {},
): Promise<ObmenUnderTest> {
  registerConnector(onecCommercemlConnector);
  // Passing the folder of an earlier instance is "the same obmen, restarted": same database and files.
  const dir = extra.dir ?? mkdtempSync(join(tmpdir(), 'obmen-cml-'));
  const store = extra.database
    ? await extra.database.open()
    : await openStore({ url: join(dir, 'obmen.db') });
  const config = hubConfig({
    systems: {
      erp: {
        kind: 'onec-commerceml',
        credentials: { login: LOGIN, password: PASSWORD },
        options: { dataDir: join(dir, 'exchange'), importStepSeconds: 0.5, ...options },
      },
      ...(extra.systems ?? {}),
    },
    routes: extra.routes ?? [],
    sources: extra.sources ?? [],
  });
  const runtime = createRuntime({ config, store, owner: 'test-api' });
  if (extra.matching !== undefined) runtime.ingest.matching = extra.matching;
  const app = await buildApi({ store, config, logger: false });
  for (const connector of runtime.connectors.values()) await connector.mountInbound?.(app, runtime);
  const base = await app.listen({ host: '127.0.0.1', port: extra.port ?? 0 });
  const url = `${base}/bitrix/admin/1c_exchange.php`;
  return {
    url,
    base,
    dir,
    store,
    runtime,
    app,
    client: (login = LOGIN, password = PASSWORD) => new ExchangeClient({ url, login, password }),
    recordCount: async (entity) => {
      const row = await store.db
        .selectFrom('records')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('entity', '=', entity)
        .where('deleted', '=', 0)
        .executeTakeFirstOrThrow();
      return Number(row.n);
    },
    close: async () => {
      await app.close();
      await runtime.close();
      await store.close();
      if (!extra.keepDir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A generated 1C package (import.xml with `goods` goods × 3 properties, offers.xml) as bytes. */
export async function generatedPackage(goods: number): Promise<{ importXml: Buffer; offersXml: Buffer }> {
  const work = await mkdtemp(join(tmpdir(), 'cml-package-'));
  try {
    const [importFile, offersFile] = await generatePackage(work, { goods, propertiesPerGood: 3 });
    return { importXml: readFileSync(importFile!.path), offersXml: readFileSync(offersFile!.path) };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** An exchange session row of the import of one file. */
export interface ImportSessionRow {
  name: string;
  status: string;
  counts: string;
  error: string | null;
}

/** The sessions of the imports of `filename` (one per import run), oldest first. */
export async function importSessions(obmen: ObmenUnderTest, filename: string): Promise<ImportSessionRow[]> {
  return (await obmen.store.db
    .selectFrom('sessions')
    .select(['name', 'status', 'counts', 'error'])
    .where('kind', '=', 'exchange')
    .where('name', '=', `commerceml catalog ${filename}`)
    .orderBy('id')
    .execute()) as ImportSessionRow[];
}

/** Polls until `check` holds (the import runs in the background); fails with `what` after 30 s. */
export async function eventually<T>(
  what: string,
  read: () => Promise<T>,
  check: (value: T) => boolean,
): Promise<T> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const value = await read();
    if (check(value)) return value;
    if (Date.now() > deadline) assert.fail(`${what}: still ${JSON.stringify(value)} after 30 s`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** A raw request, for what the client never sends (bad cookies, unsafe names). */
export async function rawCall(
  url: string,
  query: Record<string, string>,
  init: { method?: string; headers?: Record<string, string>; body?: Uint8Array | string } = {},
): Promise<{ status: number; contentType: string | null; bytes: Buffer }> {
  const target = new URL(url);
  for (const [key, value] of Object.entries(query)) target.searchParams.set(key, value);
  const response = await fetch(target, {
    method: init.method ?? 'GET',
    ...(init.headers ? { headers: init.headers } : {}),
    ...(init.body !== undefined ? { body: init.body } : {}),
  });
  return {
    status: response.status,
    contentType: response.headers.get('content-type'),
    bytes: Buffer.from(await response.arrayBuffer()),
  };
}
