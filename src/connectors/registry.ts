import type { LimitsConfig, RouteConfig, SystemConfig } from '../config/schema.ts';
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

registerConnector(bitrix24Connector);
registerConnector(bitrixSiteConnector);
registerConnector(httpConnector);
registerConnector(noopConnector);
registerConnector(onecCommercemlConnector);
registerConnector(onecOdataConnector);
