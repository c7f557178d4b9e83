import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createExchangeServer,
  memorySessionStore,
  sameCredentials,
} from '../../src/exchange/commerceml/index.ts';
import { type CatalogImportOptions, deactivateUntouched, importCatalogFile } from './catalog-import.ts';
import { confirmOrders, generateOrders, importSaleFile, type OrdersOptions, queryOrders } from './orders.ts';
import { createRestHandler, type SiteRestOptions } from './rest.ts';
import { SiteState } from './state.ts';

/**
 * A 1C-Bitrix site as 1C sees it: `/bitrix/admin/1c_exchange.php` (catalog and sale, served by
 * obmen's own exchange state machine with handlers that keep an in-memory shop), plus
 * `/_state`, `/_stats`, `/_orders/generate` and `/_faults` for tests, benchmarks and people.
 * With `rest`, the site also has its REST module behind an inbound webhook (`/rest/…`, rest.ts)
 * over the same shop.
 */

export const EXCHANGE_PATH = '/bitrix/admin/1c_exchange.php';

export interface BitrixSiteFaults {
  /** Delay before every exchange and REST answer, ms. */
  latencyMs: number;
  /** Share of exchange requests answered HTTP 503, of REST calls 500 INTERNAL_SERVER_ERROR (0..1). */
  errorRate: number;
  /**
   * The next N exchange calls of a `type:mode` answer HTTP 500, and the next N REST calls of
   * `rest:<method>` (also inside a batch) 500 INTERNAL_SERVER_ERROR: deterministic faults for tests.
   */
  failNext: Record<string, number>;
  /** Every `mode=import` answers `failure` with this text. */
  failImport: string | undefined;
}

export interface BitrixSiteOptions {
  port?: number;
  host?: string;
  login: string;
  password: string;
  encoding?: 'windows-1251' | 'utf-8';
  zip?: boolean;
  /** `file_limit=` answered at init (Bitrix default 200 KiB). */
  fileLimit?: number;
  /** How long one `mode=import` call works before answering `progress` (Bitrix INTERVAL, default 30 s). */
  importStepMs?: number;
  elementsPerStep?: number;
  stepDelayMs?: number;
  elementAction?: CatalogImportOptions['elementAction'];
  ordersVersion?: OrdersOptions['version'];
  faults?: Partial<BitrixSiteFaults>;
  /** The REST module with an inbound webhook; without it `/rest/…` is not found, as on a site without the module. */
  rest?: SiteRestOptions;
}

export interface BitrixSite {
  url: string;
  exchangeUrl: string;
  /** The inbound webhook, `<url>/rest/<user>/<code>/`, when the site has REST. */
  restUrl: string | undefined;
  state: SiteState;
  setFaults(faults: Partial<BitrixSiteFaults>): void;
  close(): Promise<void>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function startBitrixSite(options: BitrixSiteOptions): Promise<BitrixSite> {
  const state = new SiteState();
  const faults: BitrixSiteFaults = {
    latencyMs: 0,
    errorRate: 0,
    failNext: {},
    failImport: undefined,
    ...options.faults,
  };
  const encoding = options.encoding ?? 'windows-1251';
  const ordersOptions: OrdersOptions = { version: options.ordersVersion ?? '2.05', encoding };
  const workDir = await mkdtemp(join(tmpdir(), 'bitrix-site-'));
  const rest = options.rest ? createRestHandler(state, options.rest, faults) : undefined;
  const importOptions = (): CatalogImportOptions => ({
    elementsPerStep: options.elementsPerStep ?? 500,
    stepDelayMs: options.stepDelayMs ?? 0,
    elementAction: options.elementAction ?? 'D',
    failImport: faults.failImport,
  });

  const exchange = createExchangeServer({
    encoding,
    zip: options.zip ?? true,
    fileLimit: options.fileLimit ?? 200 * 1024,
    maxFileBytes: 2 * 1024 * 1024 * 1024,
    maxUnpackedBytes: 2 * 1024 * 1024 * 1024,
    importStepMs: options.importStepMs ?? 30_000,
    workDir,
    sessions: memorySessionStore(),
    saleVersion: '2.09',
    handlers: {
      authenticate: (login, password) =>
        sameCredentials({ login, password }, { login: options.login, password: options.password }),
      importFile: async (event) => {
        try {
          return event.type === 'catalog'
            ? await importCatalogFile(
                state,
                event.path,
                event.filename,
                importOptions(),
                event.report,
                event.signal,
              )
            : await importSaleFile(state, event.path, event.filename, event.signal);
        } catch (error) {
          state.stats.failures++;
          throw error;
        }
      },
      query: async (session) => queryOrders(state, session, ordersOptions),
      confirm: async (session) => confirmOrders(state, session),
      deactivate: async (_session, timestamp) => deactivateUntouched(state, timestamp),
      complete: async () => 'Обмен завершен',
    },
    onError: (error) => process.stderr.write(`bitrix-site emulator: ${String(error)}\n`),
  });

  async function handleExchange(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const query = Object.fromEntries(url.searchParams.entries());
    const key = `${query['type'] ?? ''}:${query['mode'] ?? ''}`;
    state.stats.calls[key] = (state.stats.calls[key] ?? 0) + 1;
    if (faults.latencyMs > 0) await sleep(faults.latencyMs);
    const scheduled = faults.failNext[key] ?? 0;
    if (scheduled > 0 || (faults.errorRate > 0 && Math.random() < faults.errorRate)) {
      if (scheduled > 0) faults.failNext[key] = scheduled - 1;
      req.resume();
      res.writeHead(scheduled > 0 ? 500 : 503, { 'content-type': 'text/html; charset=windows-1251' });
      res.end('Service temporarily unavailable');
      return;
    }
    const reply = await exchange.handle({
      query,
      authorization: req.headers.authorization,
      cookie: req.headers.cookie,
      body: req.method === 'POST' ? req : undefined,
    });
    if (!req.readableEnded) req.resume();
    res.writeHead(reply.status, { 'content-type': reply.contentType, ...(reply.headers ?? {}) });
    res.end(reply.body);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://site');
    if (url.pathname === EXCHANGE_PATH) return handleExchange(req, res, url);
    if (rest && url.pathname.startsWith('/rest/')) return rest(req, res, url);
    if (url.pathname === '/_faults' && req.method === 'POST') {
      const body = await readJson(req);
      Object.assign(faults, body);
      return json(res, 200, faults);
    }
    req.resume();
    if (url.pathname === '/_state' && req.method === 'GET') return json(res, 200, state.snapshot());
    if (url.pathname === '/_stats' && req.method === 'GET') return json(res, 200, state.stats);
    if (url.pathname === '/_orders/generate' && req.method === 'POST') {
      const count = Number(url.searchParams.get('count') ?? '1');
      if (!Number.isInteger(count) || count < 1 || count > 10_000)
        return json(res, 400, { error: 'count must be a whole number from 1 to 10000' });
      try {
        const orders = generateOrders(state, count);
        return json(res, 201, { created: orders.map((o) => o.id) });
      } catch (error) {
        return json(res, 409, { error: (error as Error).message });
      }
    }
    return json(res, 404, { error: `no route ${req.method} ${url.pathname}` });
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) json(res, 500, { error: (error as Error).message });
      else res.destroy();
    });
  });
  await new Promise<void>((resolve) =>
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', resolve),
  );
  const { port } = server.address() as AddressInfo;
  const url = `http://${options.host ?? '127.0.0.1'}:${port}`;
  let closed = false;
  return {
    url,
    exchangeUrl: `${url}${EXCHANGE_PATH}`,
    restUrl: options.rest ? `${url}/rest/${options.rest.userId}/${options.rest.code}/` : undefined,
    state,
    setFaults: (next) => Object.assign(faults, next),
    async close() {
      if (closed) return;
      closed = true;
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await exchange.close();
      await rm(workDir, { recursive: true, force: true });
    },
  };
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
  res.end(JSON.stringify(body));
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text ? (JSON.parse(text) as Record<string, unknown>) : {};
}
