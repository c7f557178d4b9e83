import { systemClock } from '../../core/clock.ts';
import type { ConnectorContext } from '../../core/connector.ts';
import { webhookAuth } from '../bitrix24/auth.ts';
import { Bitrix24Client } from '../bitrix24/client.ts';
import { OperatingBudget } from '../bitrix24/limits.ts';
import type { CatalogContext } from '../bitrix24/resources/common.ts';
import { siteCatalogContext } from './rest-catalog.ts';
import type { BitrixSiteRestSettings } from './rest-spec.ts';
import { SiteStatuses } from './rest-status.ts';
import type { BitrixSiteSettings } from './spec.ts';
import type { StatusTables } from './statuses.ts';

/**
 * The site's REST module is the Bitrix24 REST module (same envelope, errors, `batch`, leaky
 * bucket and QUERY_LIMIT_EXCEEDED), so a site is reached with the Bitrix24 transport over the
 * shared HTTP client: webhook auth, the documented default rate (2/s, burst 50: the factory's
 * `defaultLimits`, unless `systems.<name>.limits` sets one), and the operating-time budget, which only acts when the site
 * reports `time.operating` (self-hosted installations have it off by default).
 */

/** The limit Bitrix24 documents per method and 10 minutes; a site that enables it uses its own. */
const OPERATING_LIMIT_MS = 480_000;

/** What a site's REST calls are called in messages: "shop: site REST sale.order.get failed: …". */
export const SITE_REST = 'site REST';

export function newSiteRestClient(ctx: ConnectorContext, rest: BitrixSiteRestSettings): Bitrix24Client {
  const clock = ctx.clock ?? systemClock;
  const name = ctx.systemName;
  return new Bitrix24Client(
    ctx.http,
    name,
    webhookAuth(rest.webhookUrl),
    new OperatingBudget(name, OPERATING_LIMIT_MS, clock),
    ctx.signal,
    SITE_REST,
  );
}

/**
 * Everything the REST paths of one site share: the transport, the cached status directory and
 * the status tables (statuses.ts) the exchange path translates with, so both paths give and
 * take the same words.
 */
export interface SiteRest {
  ctx: ConnectorContext;
  client: Bitrix24Client;
  rest: BitrixSiteRestSettings;
  statuses: SiteStatuses;
  tables: StatusTables;
  /** The catalog writers' context (options.rest.catalog), with the iblock and VAT rates cached. */
  catalog: CatalogContext;
}

export function connectSiteRest(
  ctx: ConnectorContext,
  settings: BitrixSiteSettings & { rest: BitrixSiteRestSettings },
): SiteRest {
  const { rest } = settings;
  const client = newSiteRestClient(ctx, rest);
  const site = {
    ctx,
    client,
    rest,
    statuses: new SiteStatuses(client, rest.language, ctx.clock ?? systemClock),
    tables: { statusMap: settings.statusMap, siteStatusMap: settings.siteStatusMap },
  };
  return { ...site, catalog: siteCatalogContext(site) };
}
