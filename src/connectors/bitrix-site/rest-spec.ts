import { z } from 'zod';

/**
 * `systems.<name>.options.rest` of a `bitrix-site` system: the site's REST module (1C-Bitrix
 * "Управление сайтом" 16.6+) reached through an inbound webhook an administrator created.
 * Each capability is switched on by itself; the rest keeps going through the 1C exchange.
 * The webhook code is a credential (`credentials.restWebhookCode`), never an option: options
 * are printed by `obmen config check --print`, credentials are masked and redacted everywhere.
 */
export const bitrixSiteRestSchema = z
  .object({
    webhookUser: z
      .number()
      .int()
      .positive()
      .default(1)
      .meta({ description: 'User id of the inbound webhook: the 1 in https://shop/rest/1/<code>/' }),
    orders: z.boolean().default(false).meta({
      description:
        'Read orders with sale.order.list + sale.order.get instead of the exchange (type=sale&mode=query)',
    }),
    statuses: z.boolean().default(false).meta({
      description:
        'Send order status, cancellation, payment and shipment with sale.order.update, sale.payment.update and sale.shipment.update instead of the exchange (mode=file)',
    }),
    catalog: z.boolean().default(false).meta({
      description:
        'Write products, prices, price types, warehouses and stock with catalog.* (webhook scope "catalog") instead of the CommerceML feed; groups and variants stay on the feed',
    }),
    iblockId: z.number().int().positive().optional().meta({
      description:
        "The catalog's iblockId for options.rest.catalog; found with catalog.catalog.list when omitted (the first trade catalog that is not an offers iblock)",
    }),
    currency: z
      .string()
      .regex(/^[A-Z]{3}$/)
      .default('RUB')
      .meta({ description: 'Currency of prices without one and of stock documents (options.rest.catalog)' }),
    defaultStoreId: z.number().int().positive().default(1).meta({
      description: "The site's store (catalog.store id) for stock without a warehouse (options.rest.catalog)",
    }),
    language: z
      .string()
      .regex(/^[a-z]{2}$/)
      .default('ru')
      .meta({ description: 'Language of the status names read with sale.statusLang.list' }),
    pollOverlapSeconds: z.number().int().min(0).max(3600).default(2).meta({
      description:
        'Each orders pull re-reads this many seconds before its cursor (dateUpdate has one-second precision); unchanged orders cost nothing',
    }),
  })
  .strict();

export type BitrixSiteRestOptions = z.infer<typeof bitrixSiteRestSchema>;

/** The REST part of a site's settings, resolved: where calls go (the code is inside). */
export interface BitrixSiteRestSettings extends BitrixSiteRestOptions {
  /** https://shop/rest/<user>/<code>/ — secret: never log or show it. */
  webhookUrl: string;
}

/** The webhook scopes the switched-on capabilities need. */
export function scopesFor(rest: BitrixSiteRestOptions): string[] {
  return [...(rest.orders || rest.statuses ? ['sale'] : []), ...(rest.catalog ? ['catalog'] : [])];
}

/** Inbound webhook codes are Latin letters and digits (Bitrix generates 16 of them). */
const WEBHOOK_CODE = /^[A-Za-z0-9]{4,64}$/;

/**
 * Checks `options.rest` against `credentials.restWebhookCode`; returns the problems (never the
 * code) and, when there are none, the resolved settings. `base` is the site URL without a
 * trailing slash.
 */
export function resolveRestSettings(
  where: string,
  base: string,
  rest: BitrixSiteRestOptions | undefined,
  code: string | undefined,
): { problems: string[]; settings: BitrixSiteRestSettings | undefined } {
  if (!rest) {
    return code === undefined
      ? { problems: [], settings: undefined }
      : {
          problems: [
            `${where}.credentials.restWebhookCode is set but ${where}.options.rest is not; add options.rest with orders, statuses and/or catalog: true, or remove the code`,
          ],
          settings: undefined,
        };
  }
  const wanted = rest.orders || rest.statuses || rest.catalog;
  if (code === undefined || code === '') {
    return {
      problems: wanted
        ? [
            `${where}.credentials.restWebhookCode: set the code of the site's inbound webhook (the <code> in ${base}/rest/${rest.webhookUser}/<code>/, scope ${scopesFor(
              rest,
            )
              .map((s) => `"${s}"`)
              .join(' and ')}); use \${ENV} so it stays out of the file`,
          ]
        : [],
      settings: undefined,
    };
  }
  if (/[/:]/.test(code)) {
    return {
      problems: [
        `${where}.credentials.restWebhookCode: give only the code, the last part of the webhook address …/rest/<user>/<code>/, and its user id as options.rest.webhookUser`,
      ],
      settings: undefined,
    };
  }
  if (!WEBHOOK_CODE.test(code)) {
    return {
      problems: [
        `${where}.credentials.restWebhookCode: a webhook code is 4–64 Latin letters and digits; copy it again from the webhook's page on the site`,
      ],
      settings: undefined,
    };
  }
  return {
    problems: [],
    settings: { ...rest, webhookUrl: `${base}/rest/${rest.webhookUser}/${code}/` },
  };
}
