/** The 1C-Bitrix site emulator: the server side of 1c_exchange.php with an in-memory shop. */
export { parseInterval, runBitrixSiteEmulatorCli } from './cli.ts';
export { generateOrders, ORDER_STATUSES } from './orders.ts';
export type { SiteRestOptions } from './rest.ts';
export { siteDate } from './rest-sale.ts';
export {
  type BitrixSite,
  type BitrixSiteFaults,
  type BitrixSiteOptions,
  EXCHANGE_PATH,
  startBitrixSite,
} from './server.ts';
export type { SiteOffer, SiteOrder, SiteProduct, SiteState, SiteStats } from './state.ts';
