import { stringify } from 'yaml';
import { parseConfig } from '../config/load.ts';
import type { ObmenConfig } from '../config/schema.ts';

/** Where the demo's emulators listen, and the logins obmen uses with them. */
export interface DemoEndpoints {
  /** The 1C OData publication, e.g. http://127.0.0.1:41234/ut11 */
  onecOdataUrl: string;
  onecLogin: string;
  onecPassword: string;
  /** Bitrix24 portal root; the inbound webhook is /rest/1/<code>/. */
  bitrix24Url: string;
  bitrix24WebhookCode: string;
  /** The two 1C-Bitrix sites (their exchange script is at the standard path). */
  site1Url: string;
  site2Url: string;
  siteLogin: string;
  sitePassword: string;
  /** The exchange user the 1C exchange client logs into obmen's CommerceML endpoint with. */
  exchangeLogin: string;
  exchangePassword: string;
}

export interface DemoTiming {
  /** How often obmen polls 1C OData for catalog changes (e.g. "1m"). */
  catalogPoll: string;
  /** How often obmen asks each site for new orders (e.g. "20s"). */
  ordersPoll: string;
  /** Schedule of the second site's catalog routes: it is fed in bulk, not on every change. */
  site2Schedule: string;
}

export const DEFAULT_TIMING: DemoTiming = { catalogPoll: '1m', ordersPoll: '20s', site2Schedule: '1m' };

/** The catalog entities both sites receive, in the order a site needs them. */
const SITE_CATALOG = ['product_group', 'product', 'price_type', 'warehouse', 'price', 'stock'] as const;

/**
 * The demo's obmen.yaml as a plain object: what a newcomer would write by hand for 1C (OData
 * and the standard exchange), Bitrix24 and two shops. Kept as data so `obmen demo --print-config`
 * shows exactly what runs, and so it goes through the same validation as a real file.
 */
export function demoConfigObject(
  endpoints: DemoEndpoints,
  databaseUrl: string,
  apiPort: number,
  dataDir: string,
  timing: DemoTiming = DEFAULT_TIMING,
): Record<string, unknown> {
  const onecSources = (
    [
      ['ut-groups', 'product_group'],
      ['ut-products', 'product'],
      ['ut-price-types', 'price_type'],
      ['ut-warehouses', 'warehouse'],
      ['ut-prices', 'price'],
      ['ut-stock', 'stock'],
      ['ut-counterparties', 'counterparty'],
    ] as const
  ).map(([name, entity]) => ({
    name,
    system: 'ut',
    entity,
    schedule: timing.catalogPoll,
    batchSize: 500,
  }));

  const site1Routes = SITE_CATALOG.map((entity) => ({
    name: `${entity.replace('_', '-')}-to-shop`,
    entity,
    target: 'shop',
    batchSize: 500,
  }));
  // The second shop differs by route settings: bigger packages on a fixed schedule (a site
  // that imports overnight in bulk), where the first shop gets every change as it comes.
  const site2Routes = SITE_CATALOG.map((entity) => ({
    name: `${entity.replace('_', '-')}-to-outlet`,
    entity,
    target: 'outlet',
    schedule: timing.site2Schedule,
    batchSize: 1000,
  }));

  return {
    database: { url: databaseUrl },
    api: { host: '127.0.0.1', port: apiPort },
    // Many routes wait on slow targets (a site's step-by-step import, Bitrix24's 2 requests/s):
    // more routes in flight keep the first minutes lively.
    worker: { pollInterval: '200ms', concurrency: 6, leaseTime: '60s' },
    // Short retries so the injected faults are retried, and a few parked, within the demo's minutes.
    retry: { maxAttempts: 5, baseDelay: '2s', maxDelay: '30s' },
    alerts: {
      interval: '15s',
      repeatInterval: '10m',
      rules: [
        { name: 'parked-failures', kind: 'failures', threshold: 1 },
        { name: 'systems-failing', kind: 'system_down', threshold: 0.5, window: '5m', minCalls: 5 },
        { name: 'orders-stuck', kind: 'stuck', source: 'shop-orders', window: '10m' },
      ],
    },
    systems: {
      ut: {
        kind: 'onec-odata',
        url: endpoints.onecOdataUrl,
        credentials: { login: endpoints.onecLogin, password: endpoints.onecPassword },
        limits: { rate: '20/s', timeout: '10s' },
      },
      erp: {
        kind: 'onec-commerceml',
        credentials: { login: endpoints.exchangeLogin, password: endpoints.exchangePassword },
        options: { encoding: 'utf-8', importStepSeconds: 2, dataDir: `${dataDir}/exchange/erp` },
      },
      b24: {
        kind: 'bitrix24',
        url: endpoints.bitrix24Url,
        credentials: { webhookUserId: '1', webhookCode: endpoints.bitrix24WebhookCode },
        limits: { timeout: '10s' },
      },
      shop: {
        kind: 'bitrix-site',
        url: endpoints.site1Url,
        credentials: { login: endpoints.siteLogin, password: endpoints.sitePassword },
        limits: { timeout: '30s' },
      },
      outlet: {
        kind: 'bitrix-site',
        url: endpoints.site2Url,
        credentials: { login: endpoints.siteLogin, password: endpoints.sitePassword },
        limits: { timeout: '30s' },
      },
    },
    sources: [
      ...onecSources,
      { name: 'shop-orders', system: 'shop', entity: 'order', schedule: timing.ordersPoll },
      { name: 'outlet-orders', system: 'outlet', entity: 'order', schedule: timing.ordersPoll },
      // Bitrix24 deals, read by the catch-up poll (a real portal would also send events).
      { name: 'b24-deals', system: 'b24', entity: 'order', schedule: timing.ordersPoll },
      // What 1C does with the orders (РегистрСведений.СостоянияЗаказовКлиентов).
      { name: 'ut-order-states', system: 'ut', entity: 'order_status', schedule: timing.ordersPoll },
    ],
    routes: [
      ...site1Routes,
      ...site2Routes,
      { name: 'counterparties-to-b24', entity: 'counterparty', target: 'b24' },
      // Units, properties and groups are not waited for: the connectors declare what they take.
      { name: 'products-to-b24', entity: 'product', target: 'b24', batchSize: 500 },
      { name: 'orders-to-b24', entity: 'order', target: 'b24' },
      // Site buyers become 1C counterparties before their orders are written to 1C.
      { name: 'counterparties-to-ut', entity: 'counterparty', target: 'ut' },
      { name: 'orders-to-ut', entity: 'order', target: 'ut' },
      // 1C's status of each order goes back where the order is: deal stages, shop statuses.
      { name: 'status-to-b24', entity: 'order_status', target: 'b24' },
      { name: 'status-to-shop', entity: 'order_status', target: 'shop' },
      { name: 'status-to-outlet', entity: 'order_status', target: 'outlet' },
    ],
  };
}

/** The demo configuration, validated exactly like an obmen.yaml. */
export function demoConfig(...args: Parameters<typeof demoConfigObject>): ObmenConfig {
  return parseConfig(stringify(demoConfigObject(...args)), { fileName: 'demo', env: {} });
}
