export type { Catalog } from './catalog.ts';
export { runOnecOdataEmulatorCli } from './cli.ts';
export { NO_FAULTS, type OnecFaults } from './faults.ts';
export {
  DEFAULT_USER,
  MAX_ITEMS,
  type OnecEmulatorStats,
  type OnecOdataEmulator,
  type OnecOdataEmulatorOptions,
  startOnecOdataEmulator,
} from './server.ts';
