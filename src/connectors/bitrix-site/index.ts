import type { RouteConfig } from '../../config/schema.ts';
import type {
  Connector,
  ConnectorContext,
  ConnectorFactory,
  DeliveryItem,
  ReadRequest,
} from '../../core/connector.ts';
import { configError } from '../../core/errors.ts';
import { planLimits } from '../bitrix24/limits.ts';
import { CATALOG_ENTITIES, newWrittenReferences } from './catalog-package.ts';
import { bitrixSiteDefaults } from './defaults.ts';
import { SITE_ENTITIES, siteIgnoredRefs } from './entities.ts';
import { exchangeError, newExchangeClient } from './exchange.ts';
import { REST_CATALOG_ENTITIES, writeCatalogRest } from './rest-catalog.ts';
import { checkRest } from './rest-check.ts';
import { connectSiteRest } from './rest-client.ts';
import { readOrdersRest } from './rest-orders.ts';
import { writeStatusesRest } from './rest-status-write.ts';
import { writeToSite } from './sink.ts';
import { readOrders } from './source.ts';
import { resolveBitrixSiteSystem } from './spec.ts';

/**
 * A 1C-Bitrix site fed "as 1C does" (docs/connectors/bitrix-site.md): obmen is the 1C exchange
 * client of the site's /bitrix/admin/1c_exchange.php, so the site needs no module of ours.
 * Writes catalog packages (CommerceML generated from canonical records) and order statuses;
 * reads orders with the committed-cursor rule. Where an administrator created a REST webhook,
 * `options.rest` moves orders and/or statuses to the site's REST (`sale.*`), and the catalog to
 * `catalog.*` (rest-catalog.ts), the same module and transport as Bitrix24's (rest-*.ts).
 */
export const bitrixSiteConnector: ConnectorFactory = {
  kind: 'bitrix-site',
  // A site with REST switched on has Bitrix24's leaky bucket in front of its REST module; the
  // few 1c_exchange.php calls share the system's one limiter and fit well within it.
  defaultLimits(system) {
    return system.options?.['rest'] ? planLimits('standard') : undefined;
  },
  defaults: bitrixSiteDefaults,
  accepts: () => SITE_ENTITIES,
  ignoredRefs: siteIgnoredRefs,
  create(ctx: ConnectorContext): Connector {
    const settings = resolveBitrixSiteSystem(ctx.systemName, ctx.system);
    const name = ctx.systemName;
    const written = newWrittenReferences();
    const rest = settings.rest ? connectSiteRest(ctx, { ...settings, rest: settings.rest }) : undefined;
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
        if (rest?.rest.orders || rest?.rest.statuses || rest?.rest.catalog) await checkRest(rest);
      },
      async discover() {
        return [
          ...Object.keys(CATALOG_ENTITIES).map((entity) => ({ name: entity, fields: ['XML_ID'] })),
          { name: 'order', fields: rest?.rest.statuses ? ['statusId'] : ['XML_ID'] },
        ];
      },
      read(request: ReadRequest) {
        ensureOpen();
        return rest?.rest.orders ? readOrdersRest(rest, request) : readOrders(ctx, settings, request);
      },
      async write(route: RouteConfig, items: DeliveryItem[]) {
        ensureOpen();
        // An order's state goes the same way whether it is the order itself or 1C's order_status.
        if ((route.entity === 'order' || route.entity === 'order_status') && rest?.rest.statuses)
          return writeStatusesRest(rest, route, items);
        if (rest?.rest.catalog && REST_CATALOG_ENTITIES.includes(route.entity))
          return writeCatalogRest({ ctx, settings, written, catalog: rest.catalog }, route, items);
        return writeToSite({ ctx, settings, written }, route, items);
      },
      async close() {
        closed = true;
      },
    };
  },
};

export { resolveBitrixSiteSystem } from './spec.ts';
