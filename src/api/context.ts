import type { ObmenConfig } from '../config/schema.ts';
import type { SecretBox } from '../core/secrets.ts';
import type { Runtime } from '../engine/runtime.ts';
import type { LoginThrottle } from '../ops/auth/throttle.ts';
import type { Store } from '../store/store.ts';

/** The mapping helper's view of a route's mapping, plugged in by whoever starts the API. */
export interface MappingApi {
  /**
   * The route's mapping as written (null when it has none), its versions and the effective field
   * table (mapping/show.ts); undefined when there is no such route.
   */
  get(route: string): Promise<{ spec: unknown; versions: unknown[]; effective: unknown } | undefined>;
  test(
    route: string,
    input: { recordId?: string | undefined; sample?: unknown },
  ): Promise<{
    input: unknown;
    output: unknown;
    trace: unknown;
  }>;
}

/** What every route handler may use; built once per API instance. */
export interface ApiContext {
  store: Store;
  config: ObmenConfig;
  /** Canonical entities plus the custom ones declared in the config. */
  entities: ReadonlySet<string>;
  now: () => number;
  /** Encrypts system secrets saved from the dashboard; undefined when OBMEN_SECRET_KEY is not set. */
  box?: SecretBox | undefined;
  /** The engine of this process, for actions that run now (deliver a route); absent in an API-only process. */
  runtime?: Runtime | undefined;
  mapping?: MappingApi | undefined;
  /** Failed-login counter; the auth routes make their own when absent. */
  throttle?: LoginThrottle;
}
