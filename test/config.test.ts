// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these tests write ${VAR} placeholders on purpose
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { configJsonSchema } from '../src/config/json-schema.ts';
import { ConfigError, loadConfig, parseConfig, redactConfig } from '../src/config/load.ts';
import { ObmenError } from '../src/core/errors.ts';

const SYSTEMS = `
systems:
  onec: { kind: onec-odata, url: "https://1c.example.ru/odata" }
  site1: { kind: bitrix-site, url: "https://shop.example.ru" }
`;

function issuesOf(text: string, env: NodeJS.ProcessEnv = {}): string[] {
  try {
    parseConfig(text, { env });
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected ConfigError, got ${String(error)}`);
    return error.issues;
  }
  assert.fail('the config was accepted');
}

describe('invalid configs name the path and the fix', () => {
  const cases: [string, string, string[], NodeJS.ProcessEnv?][] = [
    [
      'schedule that is not an interval',
      `${SYSTEMS}
routes:
  - { name: a, entity: product, target: onec }
  - { name: b, entity: product, target: site1 }
  - { name: c, entity: stock, target: site1, schedule: every 15 sec }`,
      [
        'routes[2].schedule: "every 15 sec" is not an interval; use e.g. "15s", "5m", "on-change" or a cron expression like "*/5 * * * *"',
      ],
    ],
    [
      'route to an undeclared system',
      `${SYSTEMS}
routes: [{ name: a, entity: product, target: b24 }]`,
      ['routes[0].target: system "b24" is not declared under systems (declared: onec, site1)'],
    ],
    [
      'misspelt system gets a suggestion',
      `${SYSTEMS}
sources: [{ name: a, system: onex, entity: product }]`,
      [
        'sources[0].system: system "onex" is not declared under systems (declared: onec, site1); did you mean "onec"?',
      ],
    ],
    [
      'misspelt entity',
      `${SYSTEMS}
sources:
  - { name: a, system: onec, entity: product }
  - { name: b, system: onec, entity: prodct }`,
      [
        'sources[1].entity: unknown entity "prodct"; did you mean "product"? (known: product, product_group, property, unit, price_type, price, warehouse, stock, counterparty, contact, order, order_status); declare custom ones under entities',
      ],
    ],
    [
      'unknown key in a route, with a spelling hint',
      `${SYSTEMS}
routes: [{ name: a, entity: product, target: onec, shedule: 5m }]`,
      ['unknown key "shedule" at routes[0]; remove it or check the spelling; did you mean "schedule"?'],
    ],
    [
      'unknown top-level key',
      'sytems: {}',
      ['unknown key "sytems" at the top level; remove it or check the spelling; did you mean "systems"?'],
    ],
    [
      'duplicate route names',
      `${SYSTEMS}
routes:
  - { name: a, entity: product, target: onec }
  - { name: a, entity: price, target: onec }`,
      ['routes[1].name: "a" is already used by routes[0]; every route needs its own name'],
    ],
    [
      'duplicate source names',
      `${SYSTEMS}
sources:
  - { name: s, system: onec, entity: product }
  - { name: s, system: onec, entity: price }`,
      ['sources[1].name: "s" is already used by sources[0]; every source needs its own name'],
    ],
    [
      'bad rate',
      `systems: { b24: { kind: bitrix24, limits: { rate: 2 per second } } }`,
      [
        'systems.b24.limits.rate: rate "2 per second" is not understood; write <count>/<interval> with interval s, sec, min, m, h, hour, d or day, e.g. "2/s", "100/min", "10/5s"',
      ],
    ],
    [
      'window times and rate',
      `systems:
  site: { kind: bitrix-site, limits: { windows: [{ from: "9:00", to: "21:00", rate: fast }] } }`,
      [
        'systems.site.limits.windows[0].from: "9:00" is not a time; use "HH:MM" from "00:00" to "23:59"',
        'systems.site.limits.windows[0].rate: rate "fast" is not understood; write <count>/<interval> with interval s, sec, min, m, h, hour, d or day, e.g. "2/s", "100/min", "10/5s"',
      ],
    ],
    [
      'bad duration',
      'worker: { leaseTime: 5 minutes }',
      [
        'worker.leaseTime: "5 minutes" is not a duration; use e.g. "500ms", "15s", "5m", "1h", "1d" or "1h30m" (a plain number means milliseconds)',
      ],
    ],
    [
      'duration of the wrong type',
      'retry: { baseDelay: true }',
      ['retry.baseDelay: expected a duration like "15s", "5m", "1h" or a number of milliseconds, got true'],
    ],
    [
      'quoted number',
      'api: { port: "8080" }',
      ['api.port: expected a number, got a string ("8080"); remove the quotes'],
    ],
    ['number out of range', 'api: { port: 70000 }', ['api.port: must be at most 65535, got 70000']],
    [
      'missing required field shows what it is for',
      `${SYSTEMS}
routes: [{ name: a, entity: product }]`,
      ['routes[0].target: is required, add it (Name of the system to write to)'],
    ],
    [
      'bad name',
      `${SYSTEMS}
routes: [{ name: Site Products, entity: product, target: site1 }]`,
      ['routes[0].name: route name must be lower-case letters, digits, "-" or "_" (e.g. "onec-main")'],
    ],
    [
      'missing environment variable',
      'systems: { onec: { kind: onec-odata, credentials: { password: "${ONEC_PASSWORD}" } } }',
      [
        'systems.onec.credentials.password: environment variable ONEC_PASSWORD is not set; export it or use ${ONEC_PASSWORD:-default}',
      ],
    ],
    [
      'unclosed placeholder',
      'systems: { onec: { kind: onec-odata, url: "https://${HOST/odata" } }',
      ['systems.onec.url: "${" is not closed; write ${NAME} or $${ for a literal "${"'],
    ],
    [
      'YAML syntax error with line and column',
      'api:\n  port: 1\n  port: 2\n',
      ['line 3, column 3: Map keys must be unique; remove or rename the repeated key'],
    ],
    [
      'YAML indentation error',
      'routes:\n  - name: a\n   target: b\n',
      [
        'line 3, column 1: Sequence item without - indicator; check the indentation (spaces only) and the quotes',
      ],
    ],
    [
      'top level is a list',
      '- a\n- b\n',
      [
        'the top level must be a mapping of sections (database, api, worker, systems, sources, routes …), not a list or a single value',
      ],
    ],
    [
      'on-change is for routes only',
      `${SYSTEMS}
sources: [{ name: s, system: onec, entity: product, schedule: on-change }]`,
      [
        'sources[0].schedule: "on-change" applies to routes only; a source polls, so give an interval like "5m" or a cron expression like "*/5 * * * *"',
      ],
    ],
    [
      'invalid cron expression',
      `${SYSTEMS}
routes: [{ name: a, entity: product, target: onec, schedule: "61 * * * *" }]`,
      [
        'routes[0].schedule: "61 * * * *" is not a valid cron expression (Constraint error, got value 61 expected range 0-59); use e.g. "15s", "5m", "on-change" or a cron expression like "*/5 * * * *"',
      ],
    ],
    [
      'system URL without scheme',
      'systems: { onec: { kind: onec-odata, url: 1c.local/odata } }',
      [
        'systems.onec.url: "1c.local/odata" is not an http(s) URL; write it in full, e.g. "https://example.ru/api"',
      ],
    ],
    [
      'time zone',
      'systems: { b24: { kind: bitrix24, limits: { timezone: Moscow } } }',
      ['systems.b24.limits.timezone: "Moscow" is not an IANA time zone; use e.g. "Europe/Moscow" or "UTC"'],
    ],
    [
      'retry delays the wrong way round',
      'retry: { baseDelay: 1h, maxDelay: 1m }',
      ['retry.baseDelay: 1h is longer than retry.maxDelay (1m); lower baseDelay or raise maxDelay'],
    ],
    [
      'custom entity shadowing a canonical one',
      'entities: [{ name: order }]',
      ['entities[0].name: "order" is a built-in entity; give the custom entity another name'],
    ],
    [
      'several problems are reported together',
      `${SYSTEMS}
routes:
  - { name: a, entity: prodct, target: b24, schedule: sometimes }`,
      [
        'routes[0].target: system "b24" is not declared under systems (declared: onec, site1)',
        'routes[0].entity: unknown entity "prodct"; did you mean "product"? (known: product, product_group, property, unit, price_type, price, warehouse, stock, counterparty, contact, order, order_status); declare custom ones under entities',
        'routes[0].schedule: "sometimes" is not an interval; use e.g. "15s", "5m", "on-change" or a cron expression like "*/5 * * * *"',
      ],
    ],
  ];

  for (const [title, text, expected, env] of cases) {
    test(title, () => assert.deepEqual(issuesOf(text, env), expected));
  }

  test('the message starts with the file name and lists every issue', () => {
    try {
      parseConfig('api: { port: "x" }\nfoo: 1', { env: {}, fileName: 'site.yaml' });
      assert.fail('accepted');
    } catch (error) {
      assert.ok(error instanceof ConfigError);
      assert.ok(error instanceof ObmenError && error.errorClass === 'config', 'part of the error taxonomy');
      assert.equal(
        error.message,
        [
          'site.yaml is not valid:',
          'api.port: expected a number, got a string ("x")',
          'unknown key "foo" at the top level; remove it or check the spelling',
        ].join('\n'),
      );
    }
  });
});

describe('valid configs', () => {
  test('an empty file gives every default', () => {
    const config = parseConfig('', { env: {} });
    assert.deepEqual(config, {
      database: { historyVersions: 20 },
      api: { host: '127.0.0.1', port: 8080, bodyLimit: 10 * 1024 * 1024 },
      worker: { leaseTime: '60s', pollInterval: '200ms', concurrency: 4 },
      retry: { maxAttempts: 8, baseDelay: '2s', maxDelay: '15m' },
      retention: {
        deliveredDays: 7,
        sessionsDays: 30,
        requestLogDays: 7,
        historyDays: 90,
        inboxDays: 14,
        schedule: '1h',
      },
      systems: {},
      sources: [],
      routes: [],
      matching: {},
      ownership: {},
      entities: [],
      auth: { sessionTtl: '12h', maxLoginFailures: 10, loginWindow: '15m' },
      alerts: { interval: '1m', repeatInterval: '1h', language: 'ru', channels: {}, rules: [] },
    });
  });

  test('source and route defaults, custom entities, cron and interval schedules', () => {
    const config = parseConfig(
      `${SYSTEMS}
entities: [{ name: loyalty_card, refs: { ownerId: counterparty } }]
sources:
  - { name: cards, system: onec, entity: loyalty_card }
  - { name: stock, system: onec, entity: stock, schedule: every 30s }
routes:
  - { name: site-cards, entity: loyalty_card, target: site1 }
  - { name: site-prices, entity: price, target: site1, schedule: "0 * * * *" }`,
      { env: {} },
    );
    assert.equal(config.sources[0]!.schedule, '5m');
    assert.equal(config.sources[0]!.batchSize, 500);
    assert.equal(config.routes[0]!.schedule, 'on-change');
    assert.equal(config.routes[0]!.batchSize, 50);
    assert.equal(config.routes[1]!.schedule, '0 * * * *');
  });

  const exampleEnv = {
    ONEC_LOGIN: 'obmen',
    ONEC_PASSWORD: 'onec-secret',
    B24_WEBHOOK_CODE: 'b24-hook-code',
    B24_ACCESS_TOKEN: 'b24-access',
    B24_CLIENT_ID: 'local.1',
    B24_CLIENT_SECRET: 'b24-secret',
    B24_REFRESH_TOKEN: 'b24-refresh',
    SITE_LOGIN: 'exchange',
    SITE_PASSWORD: 'site-secret',
    PRICELIST_TOKEN: 'price-token',
    PGPASSWORD: 'pg-secret',
  };

  test('examples/obmen.yaml parses', () => {
    const config = parseConfig(readFileSync('examples/obmen.yaml', 'utf8'), { env: exampleEnv });
    assert.equal(config.systems['onec']!.credentials!['password'], 'onec-secret');
    assert.equal(config.systems['onec']!.credentials!['login'], 'obmen', 'default applies when unset');
    assert.ok(config.routes.length >= 5);
    assert.ok(Object.values(config.systems).some((s) => s.kind === 'http'));
  });

  test('examples/obmen.postgres.yaml parses', () => {
    const config = parseConfig(readFileSync('examples/obmen.postgres.yaml', 'utf8'), { env: exampleEnv });
    assert.equal(config.database.url, 'postgres://obmen:pg-secret@db.internal:5432/obmen');
    assert.deepEqual(
      config.entities.map((e) => e.name),
      ['loyalty_card'],
    );
  });

  test('the examples need their secrets from the environment', () => {
    const issues = issuesOf(readFileSync('examples/obmen.yaml', 'utf8'), {});
    assert.ok(issues.length > 0 && issues.every((i) => i.includes('environment variable')));
  });
});

describe('environment interpolation', () => {
  const text = `systems:
  onec:
    kind: onec-odata
    url: "https://\${ONEC_HOST:-1c.local}/odata"
    credentials: { login: "\${ONEC_LOGIN:-obmen}", password: "\${ONEC_PASSWORD}" }
    options: { note: "cost $\${PRICE} and \${EMPTY:-fallback}", list: ["\${ONEC_PASSWORD}"], "\${KEY}": 1 }`;

  test('values, defaults, escapes; keys untouched', () => {
    const config = parseConfig(text, { env: { ONEC_PASSWORD: 'p@ss', EMPTY: '', KEY: 'k' } });
    const onec = config.systems['onec']!;
    assert.equal(onec.url, 'https://1c.local/odata');
    assert.deepEqual(onec.credentials, { login: 'obmen', password: 'p@ss' });
    assert.deepEqual(onec.options, { note: 'cost ${PRICE} and fallback', list: ['p@ss'], '${KEY}': 1 });
  });

  test('a set variable wins over its default', () => {
    const config = parseConfig(text, { env: { ONEC_PASSWORD: 'x', ONEC_HOST: '10.0.0.5' } });
    assert.equal(config.systems['onec']!.url, 'https://10.0.0.5/odata');
  });

  test('every missing variable is reported with its path', () => {
    assert.deepEqual(issuesOf(text, {}), [
      'systems.onec.credentials.password: environment variable ONEC_PASSWORD is not set; export it or use ${ONEC_PASSWORD:-default}',
      'systems.onec.options.list[0]: environment variable ONEC_PASSWORD is not set; export it or use ${ONEC_PASSWORD:-default}',
    ]);
  });
});

describe('loadConfig', () => {
  const dir = mkdtempSync(join(tmpdir(), 'obmen-config-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('no file at all gives the defaults', () => {
    const { config, path } = loadConfig(undefined, { env: {}, cwd: dir });
    assert.equal(path, undefined);
    assert.equal(config.api.port, 8080);
  });

  test('./obmen.yaml is found, then $OBMEN_CONFIG, then the explicit path', () => {
    writeFileSync(join(dir, 'obmen.yaml'), 'api: { port: 9001 }');
    writeFileSync(join(dir, 'other.yaml'), 'api: { port: 9002 }');
    writeFileSync(join(dir, 'third.yaml'), 'api: { port: 9003 }');
    const local = loadConfig(undefined, { env: {}, cwd: dir });
    assert.equal(local.path, join(dir, 'obmen.yaml'));
    assert.equal(local.config.api.port, 9001);
    assert.equal(
      loadConfig(undefined, { env: { OBMEN_CONFIG: 'other.yaml' }, cwd: dir }).config.api.port,
      9002,
    );
    const explicit = loadConfig(join(dir, 'third.yaml'), { env: { OBMEN_CONFIG: 'other.yaml' } });
    assert.equal(explicit.config.api.port, 9003);
  });

  test('environment overrides database.url and api.port', () => {
    const { config } = loadConfig(join(dir, 'obmen.yaml'), {
      env: { OBMEN_DATABASE_URL: 'postgres://u:p@127.0.0.1/obmen', OBMEN_API_PORT: '0' },
    });
    assert.equal(config.database.url, 'postgres://u:p@127.0.0.1/obmen');
    assert.equal(config.api.port, 0);
  });

  test('a bad OBMEN_API_PORT is named', () => {
    assert.throws(() => loadConfig(undefined, { env: { OBMEN_API_PORT: 'http' }, cwd: dir }), {
      message: `${join(dir, 'obmen.yaml')} is not valid:\nOBMEN_API_PORT: "http" is not a port; set a number from 0 to 65535 or unset it`,
    });
  });

  test('a missing explicit file is an error, not silent defaults', () => {
    assert.throws(
      () => loadConfig(undefined, { env: { OBMEN_CONFIG: 'nope.yaml' }, cwd: dir }),
      (error: unknown) =>
        error instanceof ConfigError &&
        error.issues[0] ===
          `file ${join(dir, 'nope.yaml')} (from OBMEN_CONFIG) does not exist; check the path, or start from examples/obmen.yaml`,
    );
  });

  test('errors name the file', () => {
    writeFileSync(join(dir, 'broken.yaml'), 'routes: 5');
    assert.throws(() => loadConfig(join(dir, 'broken.yaml'), { env: {} }), {
      message: `${join(dir, 'broken.yaml')} is not valid:\nroutes: expected a list, got a number (5)`,
    });
  });
});

describe('redactConfig', () => {
  test('hides credentials, URL passwords and secret-looking options, keeps the rest', () => {
    const config = parseConfig(
      `database: { url: "postgres://obmen:pg-secret@db:5432/obmen?sslpassword=ssl-secret&application_name=obmen" }
systems:
  b24:
    kind: bitrix24
    url: https://example.bitrix24.ru
    credentials: { webhook: "\${HOOK}", clientSecret: cs-secret }
    options: { apiToken: tok-secret, portal: { accessKey: key-secret, region: ru } }
  site: { kind: bitrix-site, url: "https://user:site-secret@shop.example.ru/bitrix/admin/1c_exchange.php" }
  crm: { kind: bitrix24, url: "https://crm.example.ru/rest/1/whcode1secret/" }`,
      { env: { HOOK: 'hook-secret' } },
    );
    const redacted = redactConfig(config) as typeof config;
    const text = JSON.stringify(redacted);
    for (const secret of [
      'pg-secret',
      'ssl-secret',
      'hook-secret',
      'cs-secret',
      'tok-secret',
      'key-secret',
      'site-secret',
      'whcode1secret',
    ]) {
      assert.ok(!text.includes(secret), `${secret} leaked: ${text}`);
    }
    assert.equal(
      redacted.database.url,
      'postgres://obmen:***@db:5432/obmen?sslpassword=***&application_name=obmen',
    );
    assert.deepEqual(redacted.systems['b24']!.credentials, { webhook: '***', clientSecret: '***' });
    assert.equal(
      redacted.systems['crm']!.url,
      'https://crm.example.ru/rest/1/***/',
      'a webhook code in the URL',
    );
    assert.equal(
      redacted.systems['b24']!.url,
      'https://example.bitrix24.ru',
      'URLs without secrets stay as written',
    );
    assert.deepEqual(redacted.systems['b24']!.options, {
      apiToken: '***',
      portal: { accessKey: '***', region: 'ru' },
    });
    assert.equal(
      config.systems['b24']!.credentials!['clientSecret'],
      'cs-secret',
      'the original is not changed',
    );
  });

  test('a SQLite path is kept', () => {
    const config = parseConfig('database: { url: ./data/obmen.db }', { env: {} });
    assert.equal((redactConfig(config) as typeof config).database.url, './data/obmen.db');
  });
});

type JsonSchema = {
  type?: string;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  description?: string;
};

/** Just enough JSON Schema to check a config against the generated schema (no extra packages). */
function check(schema: JsonSchema, value: unknown, path: string, errors: string[]): void {
  if (schema.anyOf) {
    if (!schema.anyOf.some((branch) => checkCount(branch, value) === 0))
      errors.push(`${path}: matches no branch`);
    return;
  }
  const actual = Array.isArray(value) ? 'array' : value === null ? 'null' : typeof value;
  if (schema.type === 'integer' ? !Number.isInteger(value) : schema.type && schema.type !== actual) {
    errors.push(`${path}: expected ${schema.type}, got ${actual}`);
    return;
  }
  if (schema.type === 'object' && value && typeof value === 'object') {
    const record = value as Record<string, unknown>;
    for (const key of schema.required ?? []) if (!(key in record)) errors.push(`${path}.${key}: required`);
    for (const [key, item] of Object.entries(record)) {
      const sub = schema.properties?.[key];
      if (sub) check(sub, item, `${path}.${key}`, errors);
      else if (schema.additionalProperties === false) errors.push(`${path}.${key}: not allowed`);
      else if (typeof schema.additionalProperties === 'object')
        check(schema.additionalProperties, item, `${path}.${key}`, errors);
    }
  }
  if (schema.type === 'array' && Array.isArray(value) && schema.items) {
    for (const [i, item] of value.entries()) check(schema.items, item, `${path}[${i}]`, errors);
  }
}
function checkCount(schema: JsonSchema, value: unknown): number {
  const errors: string[] = [];
  check(schema, value, '', errors);
  return errors.length;
}

describe('configJsonSchema', () => {
  const schema = configJsonSchema() as JsonSchema & { $schema: string; title: string };
  const sample = {
    api: { port: 8081 },
    systems: {
      onec: {
        kind: 'onec-odata',
        url: 'https://1c',
        credentials: { password: '${X}' },
        limits: { rate: '2/s' },
      },
    },
    sources: [{ name: 'p', system: 'onec', entity: 'product' }],
    routes: [{ name: 'r', entity: 'product', target: 'onec', schedule: '15s' }],
  };

  test('has the JSON Schema header and the top-level sections', () => {
    assert.equal(schema.$schema, 'https://json-schema.org/draft/2020-12/schema');
    assert.equal(schema.title, 'obmen.yaml');
    assert.equal(schema.type, 'object');
    assert.deepEqual(Object.keys(schema.properties!).sort(), [
      'alerts',
      'api',
      'auth',
      'database',
      'entities',
      'matching',
      'ownership',
      'retention',
      'retry',
      'routes',
      'sources',
      'systems',
      'worker',
    ]);
    assert.equal(schema.additionalProperties, false);
  });

  test('defaults are optional on input, required fields are required', () => {
    assert.equal(schema.required, undefined);
    const route = schema.properties!['routes']!.items!;
    assert.deepEqual(route.required?.sort(), ['entity', 'name', 'target']);
  });

  test('carries descriptions and the secret flag', () => {
    const route = schema.properties!['routes']!.items!;
    assert.match(route.properties!['schedule']!.description!, /on-change/);
    const system = schema.properties!['systems']!.additionalProperties as JsonSchema;
    assert.equal((system.properties!['credentials'] as { secret?: boolean }).secret, true);
  });

  test('a sample config validates and broken ones do not', () => {
    assert.equal(checkCount(schema, sample), 0);
    assert.equal(checkCount(schema, { ...sample, extra: 1 }), 1);
    assert.equal(checkCount(schema, { routes: [{ name: 'r', entity: 'product' }] }), 1);
    assert.equal(checkCount(schema, { worker: { leaseTime: true } }), 1);
    // The same sample is accepted by the real parser, so schema and parser agree.
    parseConfig(JSON.stringify(sample), { env: { X: 'x' } });
  });
});
