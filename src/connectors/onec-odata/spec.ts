import { z } from 'zod';
import type { SystemConfig } from '../../config/schema.ts';
import { configError } from '../../core/errors.ts';

/** The path of 1C's standard OData interface under a publication (DOC 17.4.2). */
export const STANDARD_ODATA_PATH = '/odata/standard.odata';

/** Credentials of an `onec-odata` system: a 1C user (Cyrillic logins are fine: sent as UTF-8). */
export const onecCredentialsSchema = z
  .object({
    login: z.string().min(1).meta({ description: '1C user name, e.g. "Обмен" (sent UTF-8 encoded)' }),
    password: z.string().default('').meta({ description: 'Password of the 1C user', secret: true }),
  })
  .strict();

/** `sources[].options` for an `onec-odata` system. */
export const onecSourceOptionsSchema = z
  .object({
    entitySet: z
      .string()
      .min(1)
      .optional()
      .meta({
        description:
          'Entity set to read, as 1C names it (default: by entity, e.g. Catalog_Номенклатура); ' +
          'register virtual tables as "InformationRegister_ЦеныНоменклатуры_RecordType/SliceLast"',
        examples: ['Catalog_Номенклатура', 'AccumulationRegister_ТоварыНаСкладах/Balance'],
      }),
    dateField: z
      .string()
      .min(1)
      .optional()
      .meta({
        description:
          'Edm.DateTime field to detect changes by (cursor = last date seen); without it every poll ' +
          'compares DataVersion per object',
        examples: ['Date'],
      }),
    select: z
      .union([z.string(), z.array(z.string())])
      .optional()
      .meta({ description: '$select: fields to read (default: all)' }),
    filter: z
      .string()
      .optional()
      .meta({ description: '$filter added to every request, in 1C syntax', examples: ['Posted eq true'] }),
    pageSize: z
      .number()
      .int()
      .positive()
      .max(5000)
      .optional()
      .meta({ description: '$top per request (default: the source batchSize)' }),
    period: z.string().optional().meta({
      description: 'Period parameter of SliceLast/Balance, ISO local time (default: now, as 1C computes it)',
    }),
    condition: z.string().optional().meta({
      description: 'Condition parameter of a virtual table, in 1C $filter syntax (cheaper than $filter)',
    }),
  })
  .strict();

/** `routes[].options` for an `onec-odata` target. */
export const onecRouteOptionsSchema = z
  .object({
    entitySet: z.string().min(1).optional().meta({
      description: 'Entity set to write (default: by entity, e.g. Document_ЗаказКлиента for order)',
    }),
    matchBy: z
      .array(z.string().min(1))
      .optional()
      .meta({
        description:
          '1C fields looked up before creating, so a retried create never duplicates ' +
          '(default: Контрагент_Key + НомерПоДаннымКлиента for orders, ИНН+КПП or Description for counterparties, Артикул for products)',
      }),
    post: z
      .boolean()
      .optional()
      .meta({ description: 'Post documents after writing (default true for Document_*)' }),
    postingModeOperational: z
      .boolean()
      .default(false)
      .meta({ description: 'PostingModeOperational of /Post (default false)' }),
    defaults: z.record(z.string(), z.unknown()).optional().meta({
      description:
        '1C fields set on every written object unless the mapping sets them, e.g. Организация_Key, Статус',
    }),
  })
  .strict();

export type OnecSourceOptions = z.infer<typeof onecSourceOptionsSchema>;
export type OnecRouteOptions = z.infer<typeof onecRouteOptionsSchema>;

/** A resolved `onec-odata` system. */
export interface OnecSystemSettings {
  /** `…/odata/standard.odata` without a trailing slash. */
  serviceUrl: string;
  login: string;
  /** Value of the Authorization header: Basic base64(UTF-8 "login:password"). */
  authorization: string;
}

/** Builds the Basic header the way 1C's web server expects it: UTF-8 bytes (cp1251 → IIS 401.5). */
export function basicAuthorization(login: string, password: string): string {
  return `Basic ${Buffer.from(`${login}:${password}`, 'utf8').toString('base64')}`;
}

export function resolveOnecSystem(systemName: string, system: SystemConfig): OnecSystemSettings {
  const where = `systems.${systemName}`;
  if (!system.url) {
    throw configError(
      `${where}: url is required for kind "onec-odata" (the publication, e.g. http://1c.example.ru/ut11${STANDARD_ODATA_PATH})`,
      { system: systemName },
    );
  }
  let url: URL;
  try {
    url = new URL(system.url);
  } catch (cause) {
    throw configError(`${where}.url "${system.url}" is not a URL; write it like http://1c.example.ru/ut11`, {
      system: systemName,
      cause,
    });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw configError(`${where}.url must start with http:// or https://`, { system: systemName });
  }
  const credentials = onecCredentialsSchema.safeParse(system.credentials ?? {});
  if (!credentials.success) {
    const keys = Object.keys(system.credentials ?? {}).join(', ');
    throw configError(
      `${where}.credentials: "login" (and "password") of a 1C user are required (found: ${keys || 'nothing'})`,
      { system: systemName },
    );
  }
  // Accept both the publication root and the full service URL: people paste either.
  let base = url.toString().replace(/\/+$/, '');
  if (!decodeURI(base).endsWith(STANDARD_ODATA_PATH)) base += STANDARD_ODATA_PATH;
  const { login, password } = credentials.data;
  return { serviceUrl: base, login, authorization: basicAuthorization(login, password) };
}

/** Parses connector options with a message naming the setting. */
export function parseOptions<T>(
  schema: z.ZodType<T>,
  value: Record<string, unknown> | undefined,
  where: string,
  systemName: string,
): T {
  const parsed = schema.safeParse(value ?? {});
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((issue) => `${issue.path.join('.') || 'options'}: ${issue.message}`);
  throw configError(`${where}.options: ${issues.join('; ')}`, { system: systemName });
}
