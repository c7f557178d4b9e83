import pino, { type Logger } from 'pino';
import type { ObmenConfig, SourceConfig } from '../config/schema.ts';
import { parseDuration } from '../config/units.ts';
import {
  connectorKinds,
  effectiveLimits,
  getConnectorFactory,
  routeIgnoredRefs,
  routeTargetIssues,
  targetDefaults,
} from '../connectors/registry.ts';
import { type Clock, systemClock } from '../core/clock.ts';
import type { Connector } from '../core/connector.ts';
import { createEntityRegistry, type EntityRegistry } from '../core/entities/index.ts';
import { configError } from '../core/errors.ts';
import { createHttpClient } from '../http/client.ts';
import type { SourceMapping } from '../mapping/source.ts';
import type { Store } from '../store/store.ts';
import type { DeliveryContext, RouteRuntime } from './delivery.ts';
import { filterExitOf } from './filter-exit.ts';
import type { IngestContext, RouteTarget } from './ingest.ts';
import { compileOwnership } from './ownership.ts';
import { createRateLimiter } from './rate-limiter.ts';
import type { RetryPolicy } from './retry-policy.ts';
import {
  buildRouteMapping,
  buildSourceMapping,
  type MappingSpecEntry,
  recordMappingVersionsOf,
} from './route-mapping.ts';
import { routeReleaseAt } from './scheduler.ts';
import { currentSessionId } from './session-scope.ts';

/** Everything a process needs to ingest and deliver, built once from the config. */
export interface Runtime {
  config: ObmenConfig;
  store: Store;
  clock: Clock;
  log: Logger;
  owner: string;
  registry: EntityRegistry;
  connectors: ReadonlyMap<string, Connector>;
  routes: RouteRuntime[];
  sources: SourceConfig[];
  /** Compiled source mappings by source name (sources without one are absent). */
  sourceMappings: ReadonlyMap<string, SourceMapping>;
  /** Every mapping's effective content, for recordMappingVersions at start-up. */
  mappingSpecs: readonly MappingSpecEntry[];
  ingest: IngestContext;
  delivery: DeliveryContext;
  close(): Promise<void>;
}

export interface RuntimeOptions {
  config: ObmenConfig;
  store: Store;
  owner: string;
  clock?: Clock;
  log?: Logger;
  /** obmen.yaml's folder: mapping and lookup files are relative to it (default: the cwd). */
  configDir?: string;
  /**
   * Matching rules per entity before ingest (see IngestContext.matching). Default: on, with the
   * built-in rules (counterparty, contact, product); `{ product: [] }` turns one entity off.
   */
  matching?: IngestContext['matching'];
}

export function retryPolicyOf(config: ObmenConfig): RetryPolicy {
  return {
    maxAttempts: config.retry.maxAttempts,
    baseDelayMs: parseDuration(config.retry.baseDelay),
    maxDelayMs: parseDuration(config.retry.maxDelay),
  };
}

export function createRuntime(options: RuntimeOptions): Runtime {
  const { config, store } = options;
  const clock = options.clock ?? systemClock;
  const log = options.log ?? pino({ level: 'silent' });
  const registry = createEntityRegistry(config.entities);
  const aborter = new AbortController();

  // Before any connector opens: a route its target cannot receive is a config mistake.
  const refused = routeTargetIssues(config);
  if (refused.length > 0) throw configError(refused.join('\n'));

  const connectors = new Map<string, Connector>();
  for (const [name, system] of Object.entries(config.systems)) {
    const factory = getConnectorFactory(system.kind);
    if (!factory) {
      throw configError(
        `systems.${name}.kind: unknown connector kind "${system.kind}"; available: ${connectorKinds().join(', ')}`,
      );
    }
    // One limiter per system, shared by every caller of its HTTP client: the user's limits, or
    // the limits the connector documents for the system (Bitrix24's 2/s) when none are set.
    const limiter = createRateLimiter({ system: name, limits: effectiveLimits(system), store, clock });
    const http = createHttpClient({
      system: name,
      store,
      limiter,
      ...(system.limits?.concurrency === undefined ? {} : { concurrency: system.limits.concurrency }),
      clock,
      timeoutMs: system.limits?.timeout === undefined ? undefined : parseDuration(system.limits.timeout),
      secrets: Object.values(system.credentials ?? {}).filter((value) => value.length >= 4),
      logger: log,
      sessionId: currentSessionId,
    });
    connectors.set(
      name,
      factory.create({
        systemName: name,
        system,
        http,
        log: log.child({ system: name }),
        signal: aborter.signal,
        store,
        clock,
      }),
    );
  }

  const configDir = options.configDir ?? process.cwd();
  const mappingSpecs: MappingSpecEntry[] = [];
  const routes: RouteRuntime[] = config.routes.map((route) => {
    const connector = connectors.get(route.target);
    if (!connector) throw configError(`route ${route.name}: target system "${route.target}" is not declared`);
    const defaults = targetDefaults(route, config.systems[route.target]);
    const built = buildRouteMapping(route, connector, store, configDir, defaults, registry);
    if (built) mappingSpecs.push(built.entry);
    return {
      name: route.name,
      entity: route.entity,
      target: route.target,
      batchSize: route.batchSize,
      config: route,
      connector,
      ...(built ? { mapping: built.mapping } : {}),
      filterExit: filterExitOf(config, route, defaults),
      ignoreRefs: routeIgnoredRefs(route, config.systems[route.target]),
    };
  });
  const sourceMappings = new Map<string, SourceMapping>();
  for (const source of config.sources) {
    const built = buildSourceMapping(source, connectors.get(source.system), store, configDir);
    if (!built) continue;
    sourceMappings.set(source.name, built.mapping);
    mappingSpecs.push(built.entry);
  }
  const routeTargets: RouteTarget[] = config.routes.map((route) => ({
    name: route.name,
    entity: route.entity,
    target: route.target,
    releaseAt: (now) => routeReleaseAt(store, route, now),
  }));

  const ownership = compileOwnership(config.ownership);
  const ingest: IngestContext = {
    store,
    registry,
    routes: routeTargets,
    historyVersions: config.database.historyVersions,
    clock,
    matching: options.matching ?? true,
    ownership,
  };
  const delivery: DeliveryContext = {
    store,
    registry,
    clock,
    owner: options.owner,
    leaseMs: parseDuration(config.worker.leaseTime),
    retry: retryPolicyOf(config),
    routes,
    log,
    ownership,
  };
  let closed = false;
  return {
    config,
    store,
    clock,
    log,
    owner: options.owner,
    registry,
    connectors,
    routes,
    sources: config.sources,
    sourceMappings,
    mappingSpecs,
    ingest,
    delivery,
    async close() {
      if (closed) return;
      closed = true;
      aborter.abort();
      await Promise.all([...connectors.values()].map((c) => c.close().catch(() => {})));
    },
  };
}

/**
 * Records the version of every mapping of the runtime (a change is logged with its diff and
 * the replay hint). The runtime is built synchronously, so the CLI's start calls this once
 * after createRuntime.
 */
export function recordMappingVersions(runtime: Runtime): ReturnType<typeof recordMappingVersionsOf> {
  return recordMappingVersionsOf(runtime.store, runtime.mappingSpecs, runtime.log, runtime.clock.now());
}
