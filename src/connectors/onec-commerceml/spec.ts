import { resolve } from 'node:path';
import { z } from 'zod';
import type { SystemConfig } from '../../config/schema.ts';
import { configError } from '../../core/errors.ts';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

/** `systems.<name>.credentials` of an `onec-commerceml` system: what 1C's exchange node is set up with. */
export const onecCommercemlCredentialsSchema = z
  .object({
    login: z
      .string()
      .min(1)
      .meta({ description: 'User name entered in 1C ("Пользователь" of the exchange node)' }),
    password: z.string().meta({ description: 'Password entered in 1C', secret: true }),
  })
  .strict();

const listEntry = z.object({ id: z.string().min(1), name: z.string().min(1) }).strict();

/** `systems.<name>.options` of an `onec-commerceml` system. */
export const onecCommercemlOptionsSchema = z
  .object({
    encoding: z
      .enum(['windows-1251', 'utf-8'])
      .default('windows-1251')
      .meta({ description: 'Charset of replies and of the orders XML (Bitrix answers windows-1251)' }),
    zip: z
      .boolean()
      .default(true)
      .meta({ description: 'Answer zip=yes at init: 1C then sends one zip archive' }),
    fileLimit: z
      .number()
      .int()
      .min(64 * 1024)
      .max(2 * GiB)
      .default(100 * MiB)
      .meta({
        description:
          'Chunk size announced to 1C (file_limit), bytes. Keep it below the body limit of any proxy in front of obmen (nginx client_max_body_size)',
      }),
    maxFileBytes: z
      .number()
      .int()
      .positive()
      .default(16 * GiB)
      .meta({ description: 'Largest file accepted (all chunks together), bytes' }),
    maxUnpackedBytes: z
      .number()
      .int()
      .positive()
      .default(16 * GiB)
      .meta({ description: 'Largest total unpacked size of one zip archive (zip-bomb guard), bytes' }),
    importStepSeconds: z
      .number()
      .min(0.05)
      .max(600)
      .default(20)
      .meta({ description: 'Each mode=import call answers within this many seconds (progress until done)' }),
    ordersVersion: z.enum(['2.05', '3.1']).default('2.05').meta({
      description: 'Orders XML for mode=query: 2.05 (classic Bitrix) or 3.1 (<Контейнер>, module 6.5+)',
    }),
    dataDir: z
      .string()
      .min(1)
      .optional()
      .meta({ description: 'Folder for received files (default ./data/exchange/<system name>)' }),
    batchSize: z
      .number()
      .int()
      .min(1)
      .max(10_000)
      // The engine writes at most 1000 objects per transaction: a batch of that size is one
      // commit, half the commits (and WAL page writes) of 500 on a big catalog.
      .default(1000)
      .meta({ description: 'Items per ingest batch (one transaction per 1000)' }),
    parseThread: z.boolean().default(true).meta({
      description:
        'Parse received files on a worker thread while the import writes (faster on 2+ cores; false saves ~30 MB of RSS)',
    }),
    // On by default since node starts with a smaller young generation (bin/obmen.mjs's first
    // line), which pays for its memory: a 500,000-goods import ran at 23.4–25.5 MB/s with it,
    // 20.7 MB/s without, all under 256 MB of peak RSS (bench/README.md).
    prepareOnParserThread: z.boolean().default(true).meta({
      description:
        'With parseThread: the parser thread also validates the goods and writes them out as the hub stores them, so the thread writing the database only writes (a big catalog imports ~15–25 % faster; false: ~10–20 MB less peak RSS)',
    }),
    importWhileReceiving: z.boolean().default(true).meta({
      description:
        'Import a catalog XML file while 1C is still sending it (from its first chunk), instead of after mode=import; the import is done soon after the upload. From a zip archive, its first import*.xml is imported while it is unpacked',
    }),
    missingAfterFullImport: z
      .enum(['deactivate', 'keep'])
      .default('deactivate')
      .meta({
        description:
          'Goods and groups of this 1C missing from a full catalog package (not СодержитТолькоИзменения): ' +
          'deactivate = marked deleted at mode=deactivate, so targets deactivate them (1C-Bitrix default); keep = left as they are',
      }),
    ordersPerQuery: z
      .number()
      .int()
      .min(1)
      .max(100_000)
      .default(5000)
      .meta({ description: 'Most orders one mode=query answer carries; the rest go with the next query' }),
    statuses: z
      .array(listEntry)
      .default([
        { id: 'N', name: 'Принят, ожидается оплата' },
        { id: 'P', name: 'Оплачен, формируется к отправке' },
        { id: 'F', name: 'Выполнен' },
      ])
      .meta({ description: 'Order statuses listed by mode=info' }),
    statusMap: z.record(z.string(), z.string()).default({}).meta({
      description:
        'Status id 1C sends with its order documents («Статуса заказа ИД», one of statuses) → order status, over N → new, P → paid, F → completed',
    }),
    paymentSystems: z
      .array(listEntry)
      .default([])
      .meta({ description: 'Payment systems listed by mode=info' }),
    deliveryServices: z
      .array(listEntry)
      .default([])
      .meta({ description: 'Delivery services listed by mode=info' }),
  })
  .strict();

export type OnecCommercemlOptions = z.infer<typeof onecCommercemlOptionsSchema>;

/** An `onec-commerceml` system's configuration, checked and resolved once. */
export interface OnecCommercemlSettings extends Omit<OnecCommercemlOptions, 'dataDir'> {
  login: string;
  password: string;
  dataDir: string;
}

/** Validates the system; each problem becomes a config error naming the setting and how to fix it. */
export function resolveOnecCommercemlSystem(
  systemName: string,
  system: SystemConfig,
): OnecCommercemlSettings {
  const where = `systems.${systemName}`;
  const credentials = onecCommercemlCredentialsSchema.safeParse(system.credentials ?? {});
  if (!credentials.success) {
    // Only key names are shown: the values are secrets.
    const keys = Object.keys(system.credentials ?? {}).join(', ');
    throw configError(
      `${where}.credentials: set "login" and "password" — the same user and password as in 1C's exchange node settings (found: ${keys || 'nothing'})`,
      { system: systemName },
    );
  }
  const options = onecCommercemlOptionsSchema.safeParse(system.options ?? {});
  if (!options.success) {
    const problems = options.error.issues.map((issue) => {
      const path = issue.path.length > 0 ? `${where}.options.${issue.path.join('.')}` : `${where}.options`;
      return `${path}: ${humanIssue(issue)}`;
    });
    throw configError(problems.join('; '), { system: systemName });
  }
  const { dataDir, ...rest } = options.data;
  return {
    ...rest,
    login: credentials.data.login,
    password: credentials.data.password,
    dataDir: resolve(dataDir ?? `./data/exchange/${systemName}`),
  };
}

function humanIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys') {
    return `unknown setting ${issue.keys.map((k) => `"${k}"`).join(', ')}; known: ${Object.keys(onecCommercemlOptionsSchema.shape).join(', ')}`;
  }
  if (issue.code === 'invalid_value') return `use one of ${issue.values.map((v) => String(v)).join(', ')}`;
  if (issue.code === 'too_small') return `must be at least ${String(issue.minimum)}`;
  if (issue.code === 'too_big') return `must be at most ${String(issue.maximum)}`;
  return issue.message;
}
