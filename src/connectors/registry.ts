import type { LimitsConfig, ObmenConfig, RouteConfig, SystemConfig } from '../config/schema.ts';
import type { ConnectorFactory, TargetDefaults } from '../core/connector.ts';
import { bitrixSiteConnector } from './bitrix-site/index.ts';
import { bitrix24Connector } from './bitrix24/index.ts';
import { httpConnector } from './http/index.ts';
import { noopConnector } from './noop.ts';
import { onecCommercemlConnector } from './onec-commerceml/index.ts';
import { onecOdataConnector } from './onec-odata/index.ts';

const factories = new Map<string, ConnectorFactory>();

/** Makes a connector kind available to `systems.<name>.kind`; a later registration replaces an earlier one. */
export function registerConnector(factory: ConnectorFactory): void {
  factories.set(factory.kind, factory);
}

/** The factory for a kind, or undefined when no connector of that kind is registered. */
export function getConnectorFactory(kind: string): ConnectorFactory | undefined {
  return factories.get(kind);
}

/**
 * The default conversion a route's target applies to its entity (ConnectorFactory.defaults), or
 * undefined when the connector does not publish one.
 */
export function targetDefaults(
  route: Pick<RouteConfig, 'entity'>,
  system: SystemConfig | undefined,
): TargetDefaults | undefined {
  if (!system) return undefined;
  return getConnectorFactory(system.kind)?.defaults?.(route.entity, system);
}

/** Registered kinds, sorted, for help texts and "unknown kind" messages. */
export function connectorKinds(): string[] {
  return [...factories.keys()].sort();
}

/**
 * The limits a system's rate limiter enforces: the user's `limits` as written when they set a
 * rate (or time windows) of their own; otherwise the connector's documented defaults with the
 * user's other settings (timeout, budget, time zone) over them.
 */
export function effectiveLimits(system: SystemConfig): LimitsConfig | undefined {
  const own = system.limits;
  if (own?.rate || own?.windows?.length) return own;
  const defaults = getConnectorFactory(system.kind)?.defaultLimits?.(system);
  return defaults ? { ...defaults, ...own } : own;
}

/**
 * The references a route's delivery neither waits for nor resolves: the route's own `ignoreRefs`
 * plus what the target's connector declares it resolves itself or does not use.
 */
export function routeIgnoredRefs(
  route: Pick<RouteConfig, 'entity' | 'ignoreRefs'>,
  system: SystemConfig | undefined,
): string[] {
  const declared = system ? getConnectorFactory(system.kind)?.ignoredRefs?.(route.entity, system) : undefined;
  return [...new Set([...(route.ignoreRefs ?? []), ...(declared ?? [])])];
}

/**
 * Routes whose target cannot receive their entity, one message each naming the route and what
 * the target takes; empty when every route fits. Run by `obmen config check` and at start, so
 * a wrong route is refused before any row of it is parked (the sinks keep their own check).
 */
export function routeTargetIssues(config: Pick<ObmenConfig, 'routes' | 'systems'>): string[] {
  const issues: string[] = [];
  config.routes.forEach((route, index) => {
    const system = config.systems[route.target];
    if (!system) return;
    const accepted = getConnectorFactory(system.kind)?.accepts?.(system);
    if (!accepted || accepted.includes(route.entity)) return;
    issues.push(
      `routes[${index}].entity: route ${route.name} sends ${route.entity} to ${route.target}, a ${system.kind} system, which cannot receive it; ${route.target} takes ${accepted.join(', ')}. Remove the route or retarget it`,
    );
  });
  return issues;
}

registerConnector(bitrix24Connector);
registerConnector(bitrixSiteConnector);
registerConnector(httpConnector);
registerConnector(noopConnector);
registerConnector(onecCommercemlConnector);
registerConnector(onecOdataConnector);
