/** The 1C:Enterprise exchange client emulator ("Обмен с сайтом"): drives any 1C-Bitrix-compatible endpoint. */
export {
  type CatalogExchangeOptions,
  type CatalogExchangeResult,
  generatePackage,
  type PackageFile,
  runCatalogExchange,
} from './catalog.ts';
export { runOnecExchangeEmulatorCli } from './cli.ts';
export { type OnecOrder, OnecOrderBase } from './orders.ts';
export { decodeXml, runSaleExchange, type SaleExchangeOptions, type SaleExchangeResult } from './sale.ts';
