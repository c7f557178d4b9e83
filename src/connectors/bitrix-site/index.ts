import type { RouteConfig } from '../../config/schema.ts';
import type {
  Connector,
  ConnectorContext,
  ConnectorFactory,
  DeliveryItem,
  ReadRequest,
} from '../../core/connector.ts';
import { configError } from '../../core/errors.ts';
import { CATALOG_ENTITIES, newWrittenReferences } from './catalog-package.ts';
import { bitrixSiteDefaults } from './defaults.ts';
import { exchangeError, newExchangeClient } from './exchange.ts';
import { writeToSite } from './sink.ts';
import { readOrders } from './source.ts';
import { resolveBitrixSiteSystem } from './spec.ts';

/**
 * A 1C-Bitrix site fed "as 1C does" (docs/connectors/bitrix-site.md): obmen is the 1C exchange
 * client of the site's /bitrix/admin/1c_exchange.php, so the site needs no module of ours.
 * Writes catalog packages (CommerceML generated from canonical records) and order statuses;
 * reads orders with the committed-cursor rule.
 */
export const bitrixSiteConnector: ConnectorFactory = {
  kind: 'bitrix-site',
  defaults: bitrixSiteDefaults,
  create(ctx: ConnectorContext): Connector {
    const settings = resolveBitrixSiteSystem(ctx.systemName, ctx.system);
    const name = ctx.systemName;
    const written = newWrittenReferences();
    let closed = false;
    const ensureOpen = () => {
      if (closed) throw configError(`${name}: the bitrix-site connector was closed; create a new one`);
    };

    return {
      async check() {
        ensureOpen();
        try {
          await newExchangeClient(settings, ctx).checkauth('catalog');
        } catch (error) {
          const failure = exchangeError(error, name, 'the login check');
          if (failure.errorClass === 'config') throw failure;
          throw configError(
            `${name}: cannot run the 1C exchange at ${settings.exchangeUrl} (${failure.message}); check systems.${name}.url and that the site is up`,
            { system: name, cause: failure },
          );
        }
      },
      async discover() {
        return [
          ...Object.keys(CATALOG_ENTITIES).map((entity) => ({ name: entity, fields: ['XML_ID'] })),
          { name: 'order', fields: ['XML_ID'] },
        ];
      },
      read(request: ReadRequest) {
        ensureOpen();
        return readOrders(ctx, settings, request);
      },
      async write(route: RouteConfig, items: DeliveryItem[]) {
        ensureOpen();
        return writeToSite({ ctx, settings, written }, route, items);
      },
      async close() {
        closed = true;
      },
    };
  },
};

export { resolveBitrixSiteSystem } from './spec.ts';
