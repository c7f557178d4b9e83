export { CATALOG_IBLOCK_ID } from './catalog.ts';
export { runBitrix24EmulatorCli } from './cli.ts';
export type { EventHandler } from './events.ts';
export { ACCESS_TOKEN_TTL_MS, type TokenPair } from './oauth.ts';
export {
  type Bitrix24Emulator,
  type Bitrix24EmulatorOptions,
  type Bitrix24Faults,
  type Bitrix24Stats,
  startBitrix24Emulator,
} from './server.ts';
