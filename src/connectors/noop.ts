import type { RouteConfig } from '../config/schema.ts';
import type { Connector, ConnectorFactory, DeliveryItem, ItemOutcome } from '../core/connector.ts';

/**
 * A sink that accepts everything and keeps nothing: benchmarks and dry runs measure the hub
 * itself with it, without any target system's cost. Ids are derived from the hub id, so a
 * re-delivery answers the same id (idempotent like a real upsert by external id).
 */
export const noopConnector: ConnectorFactory = {
  kind: 'noop',
  create(): Connector {
    return {
      async check() {},
      async write(_route: RouteConfig, items: DeliveryItem[]): Promise<ItemOutcome[]> {
        return items.map((item) => ({
          recordId: item.recordId,
          ok: true,
          externalId: `noop-${item.recordId}`,
        }));
      },
      async close() {},
    };
  },
};
