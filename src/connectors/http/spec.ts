import { z } from 'zod';
import type { SystemConfig } from '../../config/schema.ts';
import { configError } from '../../core/errors.ts';

/**
 * Credentials of an `http` system: a bearer token, a login and password (Basic), or an OAuth 2.0
 * client (clientId + clientSecret, with options.tokenUrl) whose access tokens obmen gets itself.
 */
export const httpCredentialsSchema = z
  .object({
    token: z
      .string()
      .min(1)
      .optional()
      .meta({ description: 'Sent as "Authorization: Bearer <token>"', secret: true }),
    login: z.string().min(1).optional().meta({ description: 'Basic auth user (with password)' }),
    password: z.string().optional().meta({ description: 'Basic auth password (with login)', secret: true }),
    clientId: z
      .string()
      .min(1)
      .optional()
      .meta({ description: 'OAuth 2.0 client id (client credentials grant, with options.tokenUrl)' }),
    clientSecret: z
      .string()
      .min(1)
      .optional()
      .meta({ description: 'OAuth 2.0 client secret (with clientId)', secret: true }),
  })
  .strict();

/** `systems.<name>.options` of an `http` system. */
export const httpSystemOptionsSchema = z
  .object({
    healthPath: z
      .string()
      .startsWith('/')
      .default('/health')
      .meta({ description: 'Path answered 2xx when the system is up and the credentials are right' }),
    tokenUrl: z
      .url()
      .optional()
      .meta({
        description: 'OAuth 2.0 token endpoint: obmen gets access tokens there with clientId + clientSecret',
        examples: ['https://erp.example.com/oauth/token'],
      }),
    scope: z.string().optional().meta({ description: 'OAuth 2.0 scope asked with the token' }),
  })
  .strict();

/** `routes[].options` / `sources[].options` for an `http` system. */
export const httpPathOptionsSchema = z
  .object({
    path: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9_.\-/]*$/)
      .optional()
      .meta({
        description: 'Collection path under the base URL (default: the entity name)',
        examples: ['catalog/items'],
      }),
  })
  .passthrough();

/** An OAuth 2.0 client of an `http` system (client credentials grant, RFC 6749 §4.4). */
export interface HttpOAuthClient {
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
  scope: string | undefined;
}

/** An `http` system's configuration, checked and resolved once. */
export interface HttpSystemSettings {
  /** Base URL without a trailing slash. */
  baseUrl: string;
  healthPath: string;
  /** Value of the Authorization header, when static credentials (token, login) are set. */
  authorization: string | undefined;
  /** Set when access tokens come from a token endpoint. */
  oauth: HttpOAuthClient | undefined;
}

/** Validates an `http` system; every problem becomes a config error naming the setting to fix. */
export function resolveHttpSystem(systemName: string, system: SystemConfig): HttpSystemSettings {
  const where = `systems.${systemName}`;
  if (!system.url) {
    throw configError(`${where}: url is required for kind "http" (e.g. url: https://erp.example.com/obmen)`, {
      system: systemName,
    });
  }
  let url: URL;
  try {
    url = new URL(system.url);
  } catch (cause) {
    throw configError(
      `${where}.url "${system.url}" is not a URL; write it like https://erp.example.com/obmen`,
      {
        system: systemName,
        cause,
      },
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw configError(`${where}.url must start with http:// or https://`, { system: systemName });
  }
  const credentials = httpCredentialsSchema.safeParse(system.credentials ?? {});
  if (!credentials.success) {
    // Only key names are shown: the values are secrets.
    const keys = Object.keys(system.credentials ?? {}).join(', ');
    throw configError(
      `${where}.credentials: use either "token" or "login" + "password" (found: ${keys || 'nothing'})`,
      { system: systemName },
    );
  }
  const { token, login, password, clientId, clientSecret } = credentials.data;
  const kinds = [token, login, clientId ?? clientSecret].filter((value) => value !== undefined).length;
  if (kinds > 1) {
    throw configError(
      `${where}.credentials: set one of "token", "login" + "password" or "clientId" + "clientSecret"`,
      { system: systemName },
    );
  }
  if ((clientId === undefined) !== (clientSecret === undefined)) {
    throw configError(
      `${where}.credentials: "clientId" and "clientSecret" go together; set both or neither`,
      {
        system: systemName,
      },
    );
  }
  if ((login === undefined) !== (password === undefined)) {
    throw configError(`${where}.credentials: "login" and "password" go together; set both or neither`, {
      system: systemName,
    });
  }
  const options = httpSystemOptionsSchema.safeParse(system.options ?? {});
  if (!options.success) {
    throw configError(`${where}.options: ${options.error.issues.map((issue) => issue.message).join('; ')}`, {
      system: systemName,
    });
  }
  const { tokenUrl, scope } = options.data;
  if ((clientId !== undefined) !== (tokenUrl !== undefined)) {
    throw configError(
      clientId === undefined
        ? `${where}.options.tokenUrl is set, so credentials need "clientId" and "clientSecret"`
        : `${where}.options.tokenUrl is required with "clientId": the OAuth token endpoint, e.g. https://erp.example.com/oauth/token`,
      { system: systemName },
    );
  }
  let authorization: string | undefined;
  if (token) authorization = `Bearer ${token}`;
  else if (login !== undefined)
    authorization = `Basic ${Buffer.from(`${login}:${password}`).toString('base64')}`;
  const oauth =
    clientId !== undefined && clientSecret !== undefined && tokenUrl !== undefined
      ? { tokenUrl, clientId, clientSecret, scope }
      : undefined;
  return {
    baseUrl: url.toString().replace(/\/+$/, ''),
    healthPath: options.data.healthPath,
    authorization,
    oauth,
  };
}

/** The collection path for an entity: `options.path` when set, else the entity name. */
export function collectionPath(entity: string, options: Record<string, unknown> | undefined): string {
  const parsed = httpPathOptionsSchema.safeParse(options ?? {});
  if (!parsed.success) {
    throw configError(
      `options.path "${String(options?.['path'])}" must be a relative path like "catalog/items"`,
    );
  }
  return parsed.data.path ?? entity;
}
