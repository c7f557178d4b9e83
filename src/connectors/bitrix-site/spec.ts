import { z } from 'zod';
import type { SystemConfig } from '../../config/schema.ts';
import { configError } from '../../core/errors.ts';
import { type BitrixSiteRestSettings, bitrixSiteRestSchema, resolveRestSettings } from './rest-spec.ts';

/** `systems.<name>.credentials` of a `bitrix-site` system: the site user 1C's exchange node would use. */
export const bitrixSiteCredentialsSchema = z
  .object({
    login: z.string().min(1).meta({ description: 'Site user allowed to run the 1C exchange' }),
    password: z.string().meta({ description: 'That user’s password', secret: true }),
    restWebhookCode: z.string().optional().meta({
      description: 'Code of the site’s inbound REST webhook (…/rest/<user>/<code>/), for options.rest',
      secret: true,
    }),
  })
  .strict();

/** `systems.<name>.options` of a `bitrix-site` system. */
export const bitrixSiteOptionsSchema = z
  .object({
    path: z
      .string()
      .startsWith('/')
      .default('/bitrix/admin/1c_exchange.php')
      .meta({ description: 'Exchange script on the site (as in 1C’s exchange node settings)' }),
    version: z
      .enum(['2.05', '2.08', '3.1'])
      .default('2.08')
      .meta({ description: 'CommerceML version of the catalog files and of `version=` at init' }),
    encoding: z
      .enum(['windows-1251', 'utf-8'])
      .default('utf-8')
      .meta({ description: 'Charset of the files obmen uploads (the site answers windows-1251 regardless)' }),
    zip: z
      .boolean()
      .default(true)
      .meta({ description: 'Send one zip archive when the site answers zip=yes at init' }),
    ordersVersion: z
      .enum(['2.05', '3.1'])
      .default('3.1')
      .meta({ description: 'Orders XML sent back with statuses: 3.1 (<Контейнер>, module 6.5+) or 2.05' }),
    xmlIdFrom: z
      .string()
      .min(1)
      .optional()
      .meta({
        description:
          'System whose ids become the site XML_ID of objects the site has no link for yet, e.g. the 1C system that fed the site before obmen, so the site keeps its elements instead of getting duplicates',
        examples: ['onec'],
      }),
    catalogId: z
      .string()
      .min(1)
      .default('obmen-catalog')
      .meta({ description: 'Ид of the catalog (Каталог/Ид; the iblock’s XML_ID on the site)' }),
    classifierId: z
      .string()
      .min(1)
      .default('obmen-classifier')
      .meta({ description: 'Ид of the classifier (Классификатор/Ид)' }),
    catalogName: z
      .string()
      .min(1)
      .default('Каталог товаров')
      .meta({ description: 'Name of the catalog (the iblock name on a first import)' }),
    statusMap: z
      .record(z.string(), z.string())
      .default({})
      .meta({
        description:
          "Order status → the site's STATUS_ID, over the default table (seed 004): new, confirmed → N; paid → P; shipped, completed → F",
        examples: [{ confirmed: 'C', shipped: 'D' }],
      }),
    siteStatusMap: z.record(z.string(), z.string()).default({}).meta({
      description:
        "The site's STATUS_ID → order status for orders read from the site, over N → new, P → paid, F → completed",
    }),
    maxImportCalls: z
      .number()
      .int()
      .min(1)
      .default(10_000)
      .meta({ description: 'Most `mode=import` calls per file before obmen gives up (progress loop)' }),
    rest: bitrixSiteRestSchema.optional().meta({
      description: 'Orders and statuses through the site’s REST (sale.*) instead of the exchange',
    }),
  })
  .strict();

export type BitrixSiteOptions = z.infer<typeof bitrixSiteOptionsSchema>;

/** A `bitrix-site` system's configuration, checked and resolved once. */
export interface BitrixSiteSettings extends Omit<BitrixSiteOptions, 'rest'> {
  /** The exchange endpoint: url + path. */
  exchangeUrl: string;
  login: string;
  password: string;
  /** The site's REST, when options.rest is set up (with the webhook code from credentials). */
  rest: BitrixSiteRestSettings | undefined;
}

/** Validates the system; each problem becomes a config error naming the setting and what to do. */
export function resolveBitrixSiteSystem(systemName: string, system: SystemConfig): BitrixSiteSettings {
  const where = `systems.${systemName}`;
  if (!system.url) {
    throw configError(
      `${where}: url is required for kind "bitrix-site" (e.g. url: https://shop.example.ru)`,
      {
        system: systemName,
      },
    );
  }
  let url: URL;
  try {
    url = new URL(system.url);
  } catch (cause) {
    throw configError(`${where}.url "${system.url}" is not a URL; write it like https://shop.example.ru`, {
      system: systemName,
      cause,
    });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw configError(`${where}.url must start with http:// or https://`, { system: systemName });
  }
  const credentials = bitrixSiteCredentialsSchema.safeParse(system.credentials ?? {});
  if (!credentials.success) {
    // Only key names are shown: the values are secrets.
    const keys = Object.keys(system.credentials ?? {}).join(', ');
    throw configError(
      `${where}.credentials: set "login" and "password" of a site user allowed to run the 1C exchange (found: ${keys || 'nothing'})`,
      { system: systemName },
    );
  }
  const options = bitrixSiteOptionsSchema.safeParse(system.options ?? {});
  if (!options.success) {
    const problems = options.error.issues.map((issue) => {
      const path = issue.path.length > 0 ? `${where}.options.${issue.path.join('.')}` : `${where}.options`;
      if (issue.code === 'unrecognized_keys') {
        const known = issue.path[0] === 'rest' ? bitrixSiteRestSchema.shape : bitrixSiteOptionsSchema.shape;
        return `${path}: unknown setting ${issue.keys.map((k) => `"${k}"`).join(', ')}; known: ${Object.keys(known).join(', ')}`;
      }
      if (issue.code === 'invalid_value')
        return `${path}: use one of ${issue.values.map((v) => String(v)).join(', ')}`;
      return `${path}: ${issue.message}`;
    });
    throw configError(problems.join('; '), { system: systemName });
  }
  const base = url.toString().replace(/\/+$/, '');
  const { rest: restOptions, ...exchangeOptions } = options.data;
  const rest = resolveRestSettings(where, base, restOptions, credentials.data.restWebhookCode);
  if (rest.problems.length > 0) throw configError(rest.problems.join('; '), { system: systemName });
  return {
    ...exchangeOptions,
    exchangeUrl: `${base}${options.data.path}`,
    login: credentials.data.login,
    password: credentials.data.password,
    rest: rest.settings,
  };
}
