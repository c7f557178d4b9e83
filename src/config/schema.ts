import { z } from 'zod';
import { mappingRefSchema } from '../mapping/spec.ts';
import { matchingConfigSchema } from '../matching/rules.ts';

/**
 * The declaration of obmen.yaml. Every field is declared once, here, with a description and
 * example; the validator, the JSON Schema (`obmen config schema`) and the docs come from it.
 * Fields flagged `secret: true` are never printed or logged.
 */

const NAME = /^[a-z0-9][a-z0-9_-]*$/;
const name = (what: string) =>
  z
    .string()
    .regex(NAME, { message: `${what} must be lower-case letters, digits, "-" or "_" (e.g. "onec-main")` })
    .meta({ description: `${what}: lower-case letters, digits, "-" and "_"` });

/** "15s", "5m", "1h", "2d" or a number of milliseconds. */
export const durationSchema = z
  .union([z.number().int().nonnegative(), z.string()])
  .meta({ description: 'A duration: "500ms", "15s", "5m", "1h", "1d"', examples: ['15s', '5m'] });

/** "100/min", "2/s", "500/h". */
export const rateSchema = z.string().meta({
  description: 'Requests per interval: "2/s", "100/min", "5000/h"',
  examples: ['2/s', '100/min'],
});

export const timeWindowSchema = z
  .object({
    from: z.string().meta({ description: 'Local start time "HH:MM"', examples: ['09:00'] }),
    to: z
      .string()
      .meta({ description: 'Local end time "HH:MM" (may be before "from": the window wraps midnight)' }),
    rate: rateSchema,
    burst: z.number().int().positive().optional().meta({ description: 'Burst size in this window' }),
  })
  .strict();

export const limitsSchema = z
  .object({
    rate: rateSchema.optional(),
    burst: z.number().int().positive().optional().meta({
      description: 'How many requests may go at once before the rate applies (bucket size)',
    }),
    windows: z.array(timeWindowSchema).optional().meta({
      description: 'Time-of-day windows with their own rate, e.g. 100/min by day and 500/min at night',
    }),
    budget: z
      .object({
        seconds: z.number().positive().meta({ description: 'Execution time allowed per window, in seconds' }),
        per: durationSchema.meta({ description: 'Window length, e.g. "10m" (Bitrix24: 480 s per 10 min)' }),
      })
      .strict()
      .optional()
      .meta({ description: 'Budget of request execution time per window' }),
    timezone: z
      .string()
      .optional()
      .meta({ description: 'IANA time zone for windows (default: the host zone)' }),
    concurrency: z.number().int().positive().optional().meta({ description: 'Requests in flight at once' }),
    timeout: durationSchema.optional().meta({ description: 'Timeout of one request (default 30s)' }),
  })
  .strict();

export const systemSchema = z
  .object({
    kind: z.string().meta({
      description: 'Connector kind: http, onec-odata, onec-commerceml, bitrix24, bitrix-site, …',
      examples: ['http', 'onec-odata', 'bitrix24'],
    }),
    url: z
      .string()
      .optional()
      .meta({
        description: 'Base URL of the system',
        examples: ['https://1c.example.ru/ut/odata/standard.odata'],
      }),
    credentials: z.record(z.string(), z.string()).optional().meta({
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the ${ENV_VAR} syntax is shown to people
      description: 'Credentials (login, password, token…); use ${ENV_VAR} so no secret lives in the file',
      secret: true,
    }),
    limits: limitsSchema.optional(),
    options: z
      .record(z.string(), z.unknown())
      .optional()
      .meta({ description: 'Connector-specific settings' }),
  })
  .strict();

export const scheduleSchema = z.string().meta({
  description: 'When to run: "on-change" (routes only), an interval like "15s"/"1h", or a cron expression',
  examples: ['on-change', '15s', '1h', '*/5 * * * *'],
});

export const sourceSchema = z
  .object({
    name: name('source name'),
    system: z.string().meta({ description: 'Name of the system to read from' }),
    entity: z.string().meta({ description: 'Canonical entity it produces', examples: ['product', 'order'] }),
    schedule: scheduleSchema.default('5m').meta({
      description: 'How often to read: an interval like "5m" or a cron expression (default 5m)',
      examples: ['5m', '0 3 * * *'],
    }),
    batchSize: z
      .number()
      .int()
      .positive()
      .max(10000)
      .default(500)
      .meta({ description: 'Objects read per request (default 500)' }),
    mapping: mappingRefSchema
      .optional()
      .meta({ description: 'Mapping: inline, or a path to a YAML file (relative to obmen.yaml)' }),
    options: z
      .record(z.string(), z.unknown())
      .optional()
      .meta({ description: 'Connector-specific read settings' }),
  })
  .strict();

export const routeSchema = z
  .object({
    name: name('route name'),
    entity: z.string().meta({ description: 'Canonical entity it delivers', examples: ['product'] }),
    target: z.string().meta({ description: 'Name of the system to write to' }),
    schedule: scheduleSchema.default('on-change').meta({
      description: 'When to deliver: "on-change" (default), an interval like "15s" or a cron expression',
      examples: ['on-change', '15s', '0 * * * *'],
    }),
    batchSize: z
      .number()
      .int()
      .positive()
      .max(1000)
      .default(50)
      .meta({ description: 'Objects written per batch (default 50; Bitrix24 batch takes up to 50)' }),
    mapping: mappingRefSchema
      .optional()
      .meta({ description: 'Mapping: inline, or a path to a YAML file (relative to obmen.yaml)' }),
    filter: z.string().optional().meta({ description: 'Which records go to this route (expression)' }),
    filterExit: z.enum(['deactivate', 'keep']).optional().meta({
      description:
        'A record the target holds that stops passing the filter: write it as deleted ("deactivate", the default when omitted: a Bitrix24 product gets ACTIVE=N, a site element is deactivated; it is re-activated when it passes again) or leave the target as it is ("keep")',
    }),
    ignoreRefs: z
      .array(z.string().min(1))
      .optional()
      .meta({
        description:
          'Reference fields this route does not wait for, because the target does not use them (e.g. ["baseUnitId", "groupId"] for a target that takes units by code and has no groups); they reach the connector unresolved. Added to what the connector of the target declares itself (a 1C-Bitrix site: units; Bitrix24: groups, units, properties)',
        examples: [['baseUnitId', 'groupId']],
      }),
    maxAttempts: z
      .number()
      .int()
      .positive()
      .optional()
      .meta({ description: 'Attempts before a row is parked as failed (default: retry.maxAttempts)' }),
    options: z
      .record(z.string(), z.unknown())
      .optional()
      .meta({ description: 'Connector-specific write settings' }),
  })
  .strict();

export const customEntitySchema = z
  .object({
    name: name('entity name'),
    description: z.string().optional().meta({ description: 'What the entity is, for people' }),
    refs: z.record(z.string(), z.string()).optional().meta({
      description: 'Fields holding references: field path → entity, e.g. { "productId": "product" }',
    }),
  })
  .strict();

/** How fields that no system owns are decided (`ownership.<entity>.unowned`). */
export const UNOWNED_POLICIES = ['any', 'newest'] as const;

export const entityOwnershipSchema = z
  .object({
    owners: z
      .record(z.string(), z.array(z.string().min(1)).min(1))
      .default({})
      .meta({
        description:
          'System name → the canonical fields (top level) it owns. A non-owner never changes them in the hub, and the hub leaves them out of updates to their owner',
        examples: [{ ut: ['name', 'fullName', 'inn', 'kpp', 'addresses'], crm: ['phones', 'emails'] }],
      }),
    unowned: z.enum(UNOWNED_POLICIES).default('any').meta({
      description:
        'Fields nobody owns: "any" (default) takes every change as it arrives; "newest" is last-writer-wins by the systems\' own change times: a change older than the stored one from another system is ignored and counted as stale',
    }),
  })
  .strict();

export const ownershipSchema = z
  .record(z.string(), entityOwnershipSchema)
  .default({})
  .meta({
    description:
      'Two-way sync per entity: which system owns which fields, and how the other fields are decided (default: every change wins as it arrives)',
    examples: [{ counterparty: { owners: { ut: ['name', 'inn', 'kpp'], crm: ['phones', 'emails'] } } }],
  });

export const configSchema = z
  .object({
    database: z
      .object({
        url: z.string().optional().meta({
          description:
            'postgres://… for the distributed set-up; a file path for SQLite (default ./data/obmen.db)',
          secret: true,
        }),
        historyVersions: z
          .number()
          .int()
          .positive()
          .default(20)
          .meta({ description: 'Versions kept per object' }),
      })
      .strict()
      .default({ historyVersions: 20 })
      .meta({ description: 'The hub store: SQLite file (embedded) or PostgreSQL (distributed)' }),
    api: z
      .object({
        host: z.string().default('127.0.0.1').meta({
          description: 'Address the API listens on (default 127.0.0.1; "0.0.0.0" for all interfaces)',
        }),
        port: z
          .number()
          .int()
          .min(0)
          .max(65535)
          .default(8080)
          .meta({ description: 'TCP port of the API and webhooks (default 8080; env OBMEN_API_PORT wins)' }),
        bodyLimit: z
          .number()
          .int()
          .positive()
          .default(10 * 1024 * 1024)
          .meta({ description: 'Largest accepted request body in bytes (default 10 MiB)' }),
      })
      .strict()
      .default({ host: '127.0.0.1', port: 8080, bodyLimit: 10 * 1024 * 1024 })
      .meta({ description: 'The HTTP API, dashboard and webhook intake' }),
    worker: z
      .object({
        leaseTime: durationSchema
          .default('60s')
          .meta({ description: 'How long a claim lasts without heartbeat' }),
        pollInterval: durationSchema
          .default('200ms')
          .meta({ description: 'How often an idle worker looks for due deliveries (default 200ms)' }),
        concurrency: z
          .number()
          .int()
          .positive()
          .default(4)
          .meta({ description: 'Routes delivered in parallel' }),
      })
      .strict()
      .default({ leaseTime: '60s', pollInterval: '200ms', concurrency: 4 })
      .meta({ description: 'Delivery workers' }),
    retry: z
      .object({
        maxAttempts: z
          .number()
          .int()
          .positive()
          .default(8)
          .meta({ description: 'Attempts before a delivery is parked as failed (default 8)' }),
        baseDelay: durationSchema.default('2s').meta({
          description: 'Delay before the first retry; doubles each attempt, with jitter (default 2s)',
        }),
        maxDelay: durationSchema
          .default('15m')
          .meta({ description: 'Longest delay between retries (default 15m)' }),
      })
      .strict()
      .default({ maxAttempts: 8, baseDelay: '2s', maxDelay: '15m' })
      .meta({ description: 'Retry policy for failed deliveries (exponential backoff with jitter)' }),
    retention: z
      .object({
        deliveredDays: z
          .number()
          .positive()
          .default(7)
          .meta({ description: 'Days to keep delivered outbox rows (default 7)' }),
        sessionsDays: z
          .number()
          .positive()
          .default(30)
          .meta({ description: 'Days to keep exchange sessions (default 30)' }),
        requestLogDays: z
          .number()
          .positive()
          .default(7)
          .meta({ description: 'Days to keep the request log of external calls (default 7)' }),
        historyDays: z
          .number()
          .positive()
          .default(90)
          .meta({ description: 'Days to keep old record versions (default 90)' }),
        inboxDays: z
          .number()
          .positive()
          .default(14)
          .meta({ description: 'Days to keep processed inbound payloads (default 14)' }),
        schedule: durationSchema.default('1h').meta({ description: 'How often pruning runs (default 1h)' }),
      })
      .strict()
      .default({
        deliveredDays: 7,
        sessionsDays: 30,
        requestLogDays: 7,
        historyDays: 90,
        inboxDays: 14,
        schedule: '1h',
      })
      .meta({ description: 'How long history and logs are kept' }),
    auth: z
      .object({
        sessionTtl: durationSchema
          .default('12h')
          .meta({ description: 'How long a dashboard login lasts (default 12h)' }),
        maxLoginFailures: z.number().int().positive().default(10).meta({
          description: 'Failed logins per login and address before logins are refused (default 10)',
        }),
        loginWindow: durationSchema
          .default('15m')
          .meta({ description: 'Window over which failed logins are counted (default 15m)' }),
      })
      .strict()
      .default({ sessionTtl: '12h', maxLoginFailures: 10, loginWindow: '15m' })
      .meta({ description: 'Dashboard and API authentication (users, sessions, API tokens)' }),
    alerts: z
      .object({
        interval: durationSchema
          .default('1m')
          .meta({ description: 'How often alert rules are checked (default 1m)' }),
        repeatInterval: durationSchema
          .default('1h')
          .meta({ description: 'Reminder interval while an alert keeps firing (default 1h)' }),
        language: z
          .enum(['ru', 'en'])
          .default('ru')
          .meta({ description: 'Language of alert texts (default ru)' }),
        dashboardUrl: z
          .string()
          .optional()
          .meta({
            description: 'Public dashboard address, put into alerts as a link',
            examples: ['https://obmen.example.ru'],
          }),
        channels: z
          .object({
            email: z
              .object({
                host: z.string().meta({ description: 'SMTP server host' }),
                port: z
                  .number()
                  .int()
                  .min(1)
                  .max(65535)
                  .default(587)
                  .meta({ description: 'SMTP port (default 587)' }),
                secure: z.boolean().default(false).meta({ description: 'TLS from the start (port 465)' }),
                user: z.string().optional().meta({ description: 'SMTP login' }),
                password: z.string().optional().meta({ description: 'SMTP password', secret: true }),
                from: z.string().meta({ description: 'Sender address', examples: ['obmen@example.ru'] }),
                to: z.array(z.string()).min(1).meta({ description: 'Recipients' }),
              })
              .strict()
              .optional(),
            telegram: z
              .object({
                botToken: z.string().meta({ description: 'Bot API token from @BotFather', secret: true }),
                chatId: z.union([z.string(), z.number()]).meta({ description: 'Chat, group or channel id' }),
                baseUrl: z
                  .string()
                  .default('https://api.telegram.org')
                  .meta({ description: 'Bot API base URL (a local Bot API server or a proxy)' }),
              })
              .strict()
              .optional(),
            webhook: z
              .object({
                url: z.string().meta({ description: 'Receives a JSON POST per alert' }),
                headers: z
                  .record(z.string(), z.string())
                  .optional()
                  .meta({ description: 'Extra headers (e.g. Authorization)', secret: true }),
              })
              .strict()
              .optional(),
          })
          .strict()
          .default({})
          .meta({ description: 'Where alerts go: e-mail, Telegram, a generic webhook' }),
        rules: z
          .array(
            z
              .object({
                name: name('alert rule name'),
                kind: z.enum(['failures', 'failure_rate', 'stuck', 'system_down', 'hold']).meta({
                  description:
                    'failures (parked count), failure_rate, stuck (no successful session), system_down, hold',
                }),
                route: z.string().optional().meta({ description: 'Only this route (default: every route)' }),
                source: z.string().optional().meta({ description: 'stuck: only this source or route name' }),
                system: z.string().optional().meta({ description: 'system_down: only this system' }),
                threshold: z.number().nonnegative().optional().meta({
                  description:
                    'failures: parked count (default 1); failure_rate/system_down: error share 0..1 (default 0.5 / 1)',
                }),
                window: durationSchema.optional().meta({
                  description:
                    'Time looked at (failure_rate, system_down; default 15m) or allowed silence (stuck; default 60m)',
                }),
                minCalls: z
                  .number()
                  .int()
                  .positive()
                  .optional()
                  .meta({ description: 'Least attempts before a rate counts (default 5)' }),
                channels: z
                  .array(z.enum(['email', 'telegram', 'webhook']))
                  .optional()
                  .meta({ description: 'Channels for this rule (default: every configured channel)' }),
              })
              .strict(),
          )
          .default([])
          .meta({ description: 'Alert rules' }),
      })
      .strict()
      .default({ interval: '1m', repeatInterval: '1h', language: 'ru', channels: {}, rules: [] })
      .meta({ description: 'Alerts about failures, stuck exchanges, systems down and parked holds' }),
    systems: z
      .record(z.string(), systemSchema)
      .default({})
      .meta({ description: 'External systems by name: 1C, Bitrix24, sites, marketplaces, generic HTTP' }),
    sources: z
      .array(sourceSchema)
      .default([])
      .meta({ description: 'What obmen reads: one entity from one system on a schedule' }),
    routes: z
      .array(routeSchema)
      .default([])
      .meta({ description: 'What obmen delivers: one entity to one target system' }),
    matching: matchingConfigSchema,
    ownership: ownershipSchema,
    entities: z
      .array(customEntitySchema)
      .default([])
      .meta({ description: 'Custom entities beside the canonical ones (product, order, …)' }),
  })
  .strict();

export type ObmenConfig = z.infer<typeof configSchema>;
export type SystemConfig = z.infer<typeof systemSchema>;
export type SourceConfig = z.infer<typeof sourceSchema>;
export type RouteConfig = z.infer<typeof routeSchema>;
export type LimitsConfig = z.infer<typeof limitsSchema>;
export type CustomEntityConfig = z.infer<typeof customEntitySchema>;
export type OwnershipConfig = z.infer<typeof ownershipSchema>;
export type EntityOwnershipConfig = z.infer<typeof entityOwnershipSchema>;
