import { z } from 'zod';
import type { SystemConfig } from '../../config/schema.ts';
import { configError } from '../../core/errors.ts';

/**
 * Credentials of a `bitrix24` system: an inbound webhook (user id + code) or an OAuth 2.0
 * application (client id/secret + the tokens it got at installation).
 */
export const bitrix24CredentialsSchema = z
  .object({
    webhookUserId: z
      .string()
      .regex(/^\d+$/)
      .optional()
      .meta({ description: 'Inbound webhook: user id (the 1 in /rest/1/<code>/)' }),
    webhookCode: z
      .string()
      .min(4)
      .optional()
      .meta({ description: 'Inbound webhook: the secret code', secret: true }),
    clientId: z.string().min(1).optional().meta({ description: 'OAuth application: client_id' }),
    clientSecret: z
      .string()
      .min(1)
      .optional()
      .meta({ description: 'OAuth application: client_secret', secret: true }),
    accessToken: z
      .string()
      .min(1)
      .optional()
      .meta({ description: 'OAuth: first access token (later ones live in the database)', secret: true }),
    refreshToken: z
      .string()
      .min(1)
      .optional()
      .meta({ description: 'OAuth: first refresh token (later ones live in the database)', secret: true }),
    applicationToken: z
      .string()
      .min(4)
      .optional()
      .meta({ description: 'auth[application_token] that Bitrix24 sends with every event', secret: true }),
  })
  .strict();

/**
 * Order status → deal STAGE_ID, seed 004's table on the default pipeline: Новый → «В обработке»
 * (EXECUTING, «В работе»), Подтвержден → «Готов к отгрузке» (FINAL_INVOICE), Отгружен →
 * «Выполнен» (WON), Отменен → «Отменен» (LOSE). `options.stageMap` overrides it entry by entry.
 */
export const DEFAULT_STAGE_MAP: Record<string, string> = {
  new: 'EXECUTING',
  processing: 'EXECUTING',
  confirmed: 'FINAL_INVOICE',
  paid: 'FINAL_INVOICE',
  shipped: 'WON',
  delivered: 'WON',
  completed: 'WON',
  cancelled: 'LOSE',
};

/**
 * Deal STAGE_ID (without a "C<n>:" category prefix) → order status, for deals read as orders:
 * an open deal is an order not yet agreed, a won deal is a confirmed order (it goes to 1C as
 * agreed), a lost one is cancelled. The user's stageMap read backwards, then
 * `options.stageStatusMap`, override it.
 */
export const DEFAULT_STAGE_STATUSES: Record<string, string> = {
  NEW: 'new',
  PREPARATION: 'new',
  PREPAYMENT_INVOICE: 'new',
  EXECUTING: 'new',
  FINAL_INVOICE: 'confirmed',
  WON: 'confirmed',
  LOSE: 'cancelled',
  APOLOGY: 'cancelled',
};

/** `systems.<name>.options` of a `bitrix24` system. */
export const bitrix24OptionsSchema = z
  .object({
    plan: z.enum(['standard', 'enterprise']).default('standard').meta({
      description: 'Tariff: default limits 2/s burst 50 (standard) or 5/s burst 250 (enterprise)',
    }),
    tokenServerUrl: z.string().url().default('https://oauth.bitrix.info/oauth/token/').meta({
      description: 'OAuth token server (self-hosted portals too refresh at oauth.bitrix.info)',
    }),
    operatingLimitSeconds: z.number().positive().default(480).meta({
      description: 'Execution time a method may use per 10 minutes before Bitrix24 blocks it',
    }),
    iblockId: z.number().int().positive().optional().meta({
      description: 'Product catalogue iblockId (catalog.catalog.list); found automatically when omitted',
    }),
    productCode: z.enum(['none', 'article']).default('none').meta({
      description: 'Fill the product symbolic code (must be unique in the catalogue) from the article',
    }),
    legacyProducts: z
      .boolean()
      .default(false)
      .meta({ description: 'Write products with the deprecated crm.product.* instead of catalog.product.*' }),
    currency: z.string().default('RUB'),
    defaultStoreId: z
      .number()
      .int()
      .positive()
      .default(1)
      .meta({ description: 'Store for stock without a warehouse' }),
    responsibleId: z
      .number()
      .int()
      .positive()
      .default(1)
      .meta({ description: 'responsibleId of stock documents' }),
    requisites: z.enum(['requisite', 'userfield', 'none']).default('requisite').meta({
      description: 'Where INN/KPP go: crm.requisite.* (default) or UF_CRM_ user fields',
    }),
    requisitePresetId: z.number().int().positive().default(1),
    innField: z.string().default('UF_CRM_INN'),
    kppField: z.string().default('UF_CRM_KPP'),
    idField: z
      .string()
      .regex(/^UF_CRM_[A-Z0-9_]+$/)
      .default('UF_CRM_OBMEN_ID')
      .meta({
        description: 'User field holding the source (1C) id, created on first use',
      }),
    originatorId: z.string().default('obmen').meta({ description: 'ORIGINATOR_ID of objects obmen creates' }),
    dealCategoryId: z.number().int().nonnegative().default(0),
    stageMap: z
      .record(z.string(), z.string())
      .default({})
      .meta({ description: 'Order status → deal STAGE_ID, over the default table (seed 004)' }),
    stageStatusMap: z.record(z.string(), z.string()).default({}).meta({
      description:
        'Deal STAGE_ID → order status for deals read as orders, over the default table and stageMap read backwards',
    }),
    orderStages: z
      .union([z.literal('all'), z.array(z.string().min(1)).min(1)])
      .default(['WON'])
      .meta({
        description:
          'Deal stages whose deals are orders: only those are read (poll and events); "WON" also matches "C<n>:WON". "all" reads every deal',
        examples: [['WON'], ['FINAL_INVOICE', 'WON'], 'all'],
      }),
    findDuplicates: z.boolean().default(true).meta({
      description: 'Match contacts/companies by phone/e-mail (crm.duplicate.findbycomm) before creating',
    }),
    eventHandlerUrl: z
      .string()
      .url()
      .optional()
      .meta({ description: "OAuth: obmen's public /webhooks/bitrix24/<system> URL for event.bind" }),
    contactEntity: z
      .enum(['contact', 'counterparty'])
      .default('contact')
      .meta({ description: 'Canonical entity that Bitrix24 contacts become when read' }),
    pollOverlapSeconds: z.number().int().nonnegative().default(2).meta({
      description:
        'Catch-up poll re-reads this many seconds before the cursor (DATE_MODIFY has second precision)',
    }),
  })
  .passthrough();

export type Bitrix24Options = z.infer<typeof bitrix24OptionsSchema>;

export type Bitrix24Auth =
  | { kind: 'webhook'; baseUrl: string }
  | {
      kind: 'oauth';
      /** Portal REST endpoint: https://<portal>/rest/ */
      restUrl: string;
      clientId: string;
      clientSecret: string;
      accessToken: string;
      refreshToken: string;
    };

export interface Bitrix24Settings {
  auth: Bitrix24Auth;
  options: Bitrix24Options;
  applicationToken: string | undefined;
}

const WEBHOOK_PATH = /^(.*)\/rest\/(\d+)\/([^/]+)\/?$/;

/** Validates a `bitrix24` system; every problem is a config error naming the setting. */
export function resolveBitrix24System(systemName: string, system: SystemConfig): Bitrix24Settings {
  const where = `systems.${systemName}`;
  if (!system.url) {
    throw configError(
      `${where}: url is required for kind "bitrix24" (e.g. url: https://example.bitrix24.ru)`,
      { system: systemName },
    );
  }
  let url: URL;
  try {
    url = new URL(system.url);
  } catch (cause) {
    throw configError(
      `${where}.url "${system.url}" is not a URL; write it like https://example.bitrix24.ru`,
      { system: systemName, cause },
    );
  }
  const credentials = bitrix24CredentialsSchema.safeParse(system.credentials ?? {});
  if (!credentials.success) {
    const keys = Object.keys(system.credentials ?? {}).join(', ');
    throw configError(
      `${where}.credentials: use webhookUserId + webhookCode, or clientId + clientSecret + accessToken + refreshToken (found: ${keys || 'nothing'})${credentials.error.issues[0] ? `; ${credentials.error.issues[0].path.join('.')}: ${credentials.error.issues[0].message}` : ''}`,
      { system: systemName },
    );
  }
  const options = bitrix24OptionsSchema.safeParse(system.options ?? {});
  if (!options.success) {
    throw configError(
      `${where}.options: ${options.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
      { system: systemName },
    );
  }
  const c = credentials.data;
  const base = url.toString().replace(/\/+$/, '');
  const inUrl = WEBHOOK_PATH.exec(base);
  let auth: Bitrix24Auth;
  if (inUrl) {
    auth = { kind: 'webhook', baseUrl: `${base}/` };
  } else if (c.webhookCode) {
    auth = { kind: 'webhook', baseUrl: `${base}/rest/${c.webhookUserId ?? '1'}/${c.webhookCode}/` };
  } else if (c.clientId && c.clientSecret && c.accessToken && c.refreshToken) {
    auth = {
      kind: 'oauth',
      restUrl: `${base}/rest/`,
      clientId: c.clientId,
      clientSecret: c.clientSecret,
      accessToken: c.accessToken,
      refreshToken: c.refreshToken,
    };
  } else {
    throw configError(
      `${where}.credentials: set webhookCode (an inbound webhook created in Bitrix24 → Developer resources) or clientId, clientSecret, accessToken and refreshToken of an installed application`,
      { system: systemName },
    );
  }
  return { auth, options: options.data, applicationToken: c.applicationToken };
}
