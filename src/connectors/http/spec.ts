import { z } from 'zod';
import type { SystemConfig } from '../../config/schema.ts';
import { configError } from '../../core/errors.ts';

/** Credentials of an `http` system: a bearer token, or a login and password (Basic). */
export const httpCredentialsSchema = z
  .object({
    token: z
      .string()
      .min(1)
      .optional()
      .meta({ description: 'Sent as "Authorization: Bearer <token>"', secret: true }),
    login: z.string().min(1).optional().meta({ description: 'Basic auth user (with password)' }),
    password: z.string().optional().meta({ description: 'Basic auth password (with login)', secret: true }),
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

/** An `http` system's configuration, checked and resolved once. */
export interface HttpSystemSettings {
  /** Base URL without a trailing slash. */
  baseUrl: string;
  healthPath: string;
  /** Value of the Authorization header, when credentials are set. */
  authorization: string | undefined;
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
  const { token, login, password } = credentials.data;
  if (token && login) {
    throw configError(`${where}.credentials: set either "token" or "login" + "password", not both`, {
      system: systemName,
    });
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
  let authorization: string | undefined;
  if (token) authorization = `Bearer ${token}`;
  else if (login !== undefined)
    authorization = `Basic ${Buffer.from(`${login}:${password}`).toString('base64')}`;
  return { baseUrl: url.toString().replace(/\/+$/, ''), healthPath: options.data.healthPath, authorization };
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
