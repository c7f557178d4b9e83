import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { ObmenError } from '../core/errors.ts';
import { redactWebhookCode } from '../http/redact.ts';
import { type ConfigPath, formatPath, interpolateEnv } from './env.ts';
import { configSchema, type ObmenConfig } from './schema.ts';
import { didYouMean, validateConfig } from './validate.ts';

/**
 * obmen.yaml → typed config in four stages (YAML syntax, ${ENV} interpolation, the zod
 * declaration, semantic checks). Each stage reports every problem it finds as one line
 * "path: what is wrong; what to do"; a later stage runs only when the earlier ones are clean,
 * so one mistake never shows up as three.
 */

/** The config cannot be used; `issues` holds one human line per problem. */
export class ConfigError extends ObmenError {
  readonly issues: string[];

  constructor(issues: string[], fileName = 'obmen.yaml') {
    super('config', [`${fileName} is not valid:`, ...issues].join('\n'));
    this.name = 'ConfigError';
    this.issues = issues;
  }
}

export interface ParseOptions {
  env?: NodeJS.ProcessEnv;
  fileName?: string;
}

const YAML_HINTS: Record<string, string> = {
  DUPLICATE_KEY: 'remove or rename the repeated key',
  TAB_AS_INDENT: 'indent with spaces, not tabs',
};

function yamlIssues(text: string): { data: unknown; issues: string[] } {
  const doc = parseDocument(text, { prettyErrors: true });
  const issues = doc.errors.map((error) => {
    const headline = error.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
    const where = error.linePos ? `line ${error.linePos[0].line}, column ${error.linePos[0].col}` : 'YAML';
    return `${where}: ${headline}; ${YAML_HINTS[error.code] ?? 'check the indentation (spaces only) and the quotes'}`;
  });
  return { data: issues.length > 0 ? undefined : doc.toJS({ maxAliasCount: 100 }), issues };
}

type AnyDef = {
  type: string;
  innerType?: z.core.$ZodType;
  shape?: Record<string, z.core.$ZodType>;
  element?: z.core.$ZodType;
  valueType?: z.core.$ZodType;
};
const defOf = (schema: z.core.$ZodType): AnyDef => schema._zod.def as AnyDef;
const WRAPPERS = new Set(['optional', 'default', 'nullable', 'prefault']);

/** The wrappers (default, optional) around a schema, outermost first, ending with the schema itself. */
function layers(schema: z.core.$ZodType): z.core.$ZodType[] {
  const out = [schema];
  let def = defOf(schema);
  while (WRAPPERS.has(def.type) && def.innerType) {
    out.push(def.innerType);
    def = defOf(def.innerType);
  }
  return out;
}

/** The zod schema of the value at `path` (still wrapped), to name the keys it knows and describe fields. */
function schemaAt(path: ConfigPath): z.core.$ZodType | undefined {
  let schema: z.core.$ZodType | undefined = configSchema;
  for (const segment of path) {
    if (!schema) return undefined;
    const def = defOf(layers(schema).at(-1)!);
    if (def.type === 'object') schema = def.shape?.[String(segment)];
    else if (def.type === 'array') schema = def.element;
    else if (def.type === 'record') schema = def.valueType;
    else return undefined;
  }
  return schema;
}

function descriptionAt(path: ConfigPath): string | undefined {
  const schema = schemaAt(path);
  if (!schema) return undefined;
  return layers(schema)
    .map((layer) => z.globalRegistry.get(layer)?.description)
    .find((description) => description !== undefined);
}

function knownKeys(path: ConfigPath): string[] {
  const schema = schemaAt(path);
  const shape = schema ? defOf(layers(schema).at(-1)!).shape : undefined;
  return shape ? Object.keys(shape) : [];
}

function valueAt(data: unknown, path: ConfigPath): unknown {
  let value = data;
  for (const segment of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<PropertyKey, unknown>)[segment as string];
  }
  return value;
}

const TYPE_NAMES: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  array: 'a list',
  object: 'a mapping (key: value)',
  record: 'a mapping (key: value)',
};

function describeValue(value: unknown): string {
  if (value === null || value === undefined) return 'an empty value';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return `a string (${JSON.stringify(value)})`;
  if (typeof value === 'number') return `a number (${value})`;
  return String(value);
}

function zodIssueText(issue: z.core.$ZodIssue, data: unknown): string[] {
  const path = issue.path as ConfigPath;
  const where = formatPath(path);
  const value = valueAt(data, path);
  switch (issue.code) {
    case 'unrecognized_keys': {
      const known = knownKeys(path);
      const at = where === '' ? 'the top level' : where;
      return issue.keys.map(
        (key) => `unknown key "${key}" at ${at}; remove it or check the spelling${didYouMean(key, known)}`,
      );
    }
    case 'invalid_type': {
      const expected = TYPE_NAMES[issue.expected] ?? issue.expected;
      if (value === undefined) {
        const description = descriptionAt(path);
        return [`${where}: is required, add it${description ? ` (${description})` : ''}`];
      }
      const unquote =
        issue.expected === 'number' && typeof value === 'string' && /^\d+(\.\d+)?$/.test(value)
          ? '; remove the quotes'
          : '';
      return [`${where}: expected ${expected}, got ${describeValue(value)}${unquote}`];
    }
    case 'invalid_union': {
      const expected = new Set(
        issue.errors.flatMap((branch) => branch.map((e) => (e.code === 'invalid_type' ? e.expected : ''))),
      );
      if (expected.has('number') && expected.has('string')) {
        return [
          `${where}: expected a duration like "15s", "5m", "1h" or a number of milliseconds, got ${describeValue(value)}`,
        ];
      }
      return [`${where}: ${describeValue(value)} does not match any allowed form`];
    }
    case 'too_big':
      return [
        issue.origin === 'array' || issue.origin === 'string'
          ? `${where}: is too long, at most ${issue.maximum} allowed`
          : `${where}: must be ${issue.inclusive ? 'at most' : 'less than'} ${issue.maximum}, got ${String(value)}`,
      ];
    case 'too_small':
      if (issue.origin === 'string' && Number(issue.minimum) === 1) return [`${where}: must not be empty`];
      return [
        issue.origin === 'array' || issue.origin === 'string'
          ? `${where}: is too short, at least ${issue.minimum} needed`
          : `${where}: must be ${issue.inclusive ? 'at least' : 'more than'} ${issue.minimum}, got ${String(value)}`,
      ];
    case 'invalid_value':
      return [
        `${where}: ${describeValue(value)} is not allowed; use one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`,
      ];
    default:
      return [`${where === '' ? 'config' : where}: ${issue.message}`];
  }
}

/** Applies OBMEN_DATABASE_URL and OBMEN_API_PORT on top of the file (the environment wins). */
function applyEnvOverrides(data: Record<string, unknown>, env: NodeJS.ProcessEnv, issues: string[]): void {
  const section = (key: string): Record<string, unknown> => {
    const current = data[key];
    const copy =
      current !== null && typeof current === 'object' && !Array.isArray(current) ? { ...current } : {};
    data[key] = copy;
    return copy;
  };
  if (env.OBMEN_DATABASE_URL) section('database')['url'] = env.OBMEN_DATABASE_URL;
  if (env.OBMEN_API_PORT) {
    const port = Number(env.OBMEN_API_PORT);
    if (!/^\d+$/.test(env.OBMEN_API_PORT) || port > 65535) {
      issues.push(
        `OBMEN_API_PORT: "${env.OBMEN_API_PORT}" is not a port; set a number from 0 to 65535 or unset it`,
      );
    } else section('api')['port'] = port;
  }
}

function parse(text: string, env: NodeJS.ProcessEnv, fileName: string, overrides: boolean): ObmenConfig {
  const fail = (issues: string[]): never => {
    throw new ConfigError(issues, fileName);
  };
  const { data: raw, issues: syntax } = yamlIssues(text);
  if (syntax.length > 0) fail(syntax);

  const top = raw === null || raw === undefined ? {} : raw;
  if (typeof top !== 'object' || Array.isArray(top)) {
    fail([
      'the top level must be a mapping of sections (database, api, worker, systems, sources, routes …), not a list or a single value',
    ]);
  }

  const issues: string[] = [];
  const data = interpolateEnv(top, env, issues) as Record<string, unknown>;
  if (overrides) applyEnvOverrides(data, env, issues);
  if (issues.length > 0) fail(issues);

  const result = configSchema.safeParse(data);
  if (!result.success) fail(result.error.issues.flatMap((issue) => zodIssueText(issue, data)));

  const config = result.data as ObmenConfig;
  const semantic = validateConfig(config);
  if (semantic.length > 0) fail(semantic);
  return config;
}

/** YAML text → interpolated, validated config with defaults. Throws ConfigError listing every problem. */
export function parseConfig(text: string, options: ParseOptions = {}): ObmenConfig {
  return parse(text, options.env ?? process.env, options.fileName ?? 'obmen.yaml', false);
}

/**
 * Finds and loads the config: `path`, else $OBMEN_CONFIG, else ./obmen.yaml if present, else
 * an all-defaults config, because obmen must start with no file at all (demo, first run).
 */
export function loadConfig(
  path?: string,
  options: { env?: NodeJS.ProcessEnv; cwd?: string } = {},
): { config: ObmenConfig; path: string | undefined } {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const asked = path ?? (env.OBMEN_CONFIG || undefined);
  let chosen: string | undefined;
  if (asked !== undefined) {
    chosen = resolve(cwd, asked);
    if (!existsSync(chosen)) {
      const via = path === undefined ? ' (from OBMEN_CONFIG)' : '';
      throw new ConfigError(
        [`file ${chosen}${via} does not exist; check the path, or start from examples/obmen.yaml`],
        asked,
      );
    }
  } else if (existsSync(resolve(cwd, 'obmen.yaml'))) {
    chosen = resolve(cwd, 'obmen.yaml');
  }
  const text = chosen === undefined ? '' : readFileSync(chosen, 'utf8');
  return { config: parse(text, env, chosen ?? 'obmen.yaml', true), path: chosen };
}

const SECRET_KEY = /pass|secret|token|key|auth|credential/i;
const MASK = '***';

function redactUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return url;
  }
  const secretParams = [...parsed.searchParams.keys()].filter((key) => SECRET_KEY.test(key));
  // Re-serialising normalises the URL; leave URLs without secrets exactly as written.
  if (!parsed.password && secretParams.length === 0) return redactWebhookCode(url);
  if (parsed.password) parsed.password = MASK;
  for (const key of secretParams) parsed.searchParams.set(key, MASK);
  // URL encodes "*" in the password; show the mask as people will read it.
  return redactWebhookCode(parsed.toString().replaceAll('%2A%2A%2A', MASK));
}

function redactOptions(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redactOptions);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [
        key,
        SECRET_KEY.test(key) && (typeof item === 'string' || typeof item === 'number')
          ? MASK
          : redactOptions(item),
      ]),
    );
  }
  return value;
}

/** A copy safe to print: credentials, passwords in URLs and secret-looking options become "***". */
export function redactConfig(config: ObmenConfig): unknown {
  const copy = structuredClone(config);
  if (copy.database.url) copy.database.url = redactUrl(copy.database.url);
  for (const system of Object.values(copy.systems)) {
    if (system.credentials) {
      system.credentials = Object.fromEntries(Object.keys(system.credentials).map((key) => [key, MASK]));
    }
    if (system.url) system.url = redactUrl(system.url);
    if (system.options) system.options = redactOptions(system.options) as Record<string, unknown>;
  }
  for (const item of [...copy.sources, ...copy.routes]) {
    if (item.options) item.options = redactOptions(item.options) as Record<string, unknown>;
  }
  return copy;
}
