import type { ObmenConfig } from '../config/schema.ts';
import type { Store } from '../store/store.ts';

/** What every route handler may use; built once per API instance. */
export interface ApiContext {
  store: Store;
  config: ObmenConfig;
  /** Canonical entities plus the custom ones declared in the config. */
  entities: ReadonlySet<string>;
  now: () => number;
}
