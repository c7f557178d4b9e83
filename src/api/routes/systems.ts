import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { limitsSchema } from '../../config/schema.ts';
import { principalOf } from '../../ops/auth/guard.ts';
import { testConnection } from '../../ops/settings/connection-test.ts';
import {
  dashboardSettings,
  loadSystemOverrides,
  mergeSystem,
  saveSystemOverride,
} from '../../ops/settings/overrides.ts';
import type { ApiContext } from '../context.ts';
import { ApiError, notFound } from '../errors.ts';
import { parseInput } from '../validation.ts';

const SECRET_OPTION = /pass|secret|token|credential|api[-_]?key/i;

const httpUrl = z
  .string({ error: 'must be a URL' })
  .max(2000, { error: 'must be at most 2000 characters' })
  .refine(
    (value) => {
      try {
        return ['http:', 'https:'].includes(new URL(value).protocol);
      } catch {
        return false;
      }
    },
    { error: 'must be an http:// or https:// URL' },
  );

const putBody = z
  .object({
    url: httpUrl.optional(),
    limits: limitsSchema.optional(),
    options: z
      .record(z.string(), z.unknown(), { error: 'must be an object of connector settings' })
      .optional(),
    credentials: z
      .record(
        z.string().min(1).max(100),
        z.union(
          [z.string().min(1, { error: 'must not be empty (send null to clear it)' }).max(10000), z.null()],
          {
            error: 'must be the secret as text, or null to clear it',
          },
        ),
        { error: 'must be an object of secret names and values' },
      )
      .optional(),
  })
  .strict();

function knownSystem(ctx: ApiContext, name: string) {
  const system = ctx.config.systems[name];
  if (system) return system;
  const names = Object.keys(ctx.config.systems).sort().join(', ') || 'none';
  throw notFound('unknown_system', `no system "${name}" in obmen.yaml; configured systems: ${names}`);
}

/** Options as shown: values of secret-looking keys are masked (an option may hold a key by mistake). */
function shownOptions(options: Record<string, unknown> | undefined): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(options ?? {}).map(([key, value]) => [key, SECRET_OPTION.test(key) ? '***' : value]),
  );
}

export function systemsRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.get('/systems', async () => {
    const saved = await dashboardSettings(ctx.store);
    const items = Object.entries(ctx.config.systems)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([name, base]) => {
        const override = saved.get(name);
        const system = override ? mergeSystem(base, override.settings) : base;
        const keys = new Set([...Object.keys(base.credentials ?? {}), ...(override?.credentialKeys ?? [])]);
        return {
          name,
          kind: system.kind,
          url: system.url ?? null,
          limits: system.limits ?? {},
          options: shownOptions(system.options),
          credentials: Object.fromEntries(
            [...keys].sort().map((key) => [
              key,
              {
                set: Boolean(base.credentials?.[key]) || (override?.credentialKeys.includes(key) ?? false),
                source: override?.credentialKeys.includes(key) ? 'dashboard' : 'config',
              },
            ]),
          ),
          source: override ? 'dashboard' : 'config',
        };
      });
    return { items };
  });

  app.put<{ Params: { name: string } }>(
    '/systems/:name',
    { config: { access: 'admin', action: 'system.update', doc: { body: putBody } } },
    async (request) => {
      const name = request.params.name;
      knownSystem(ctx, name);
      const body = parseInput(putBody, request.body, 'body field');
      if (Object.keys(body).length === 0) {
        throw new ApiError(
          400,
          'invalid_parameter',
          'send at least one of url, limits, options, credentials',
        );
      }
      if (body.credentials && Object.values(body.credentials).some((v) => v !== null) && !ctx.box) {
        throw new ApiError(
          409,
          'no_secret_key',
          'OBMEN_SECRET_KEY is not set, so credentials cannot be stored encrypted; set it for obmen and restart',
        );
      }
      await saveSystemOverride(ctx.store, ctx.box, name, body, principalOf(request).login, ctx.now());
      return { saved: true, restartNeeded: true };
    },
  );

  app.post<{ Params: { name: string } }>(
    '/systems/:name/test',
    { config: { access: 'admin', action: 'system.test' } },
    async (request) => {
      const name = request.params.name;
      const base = knownSystem(ctx, name);
      const overrides = await loadSystemOverrides(ctx.store, ctx.box);
      const effective = overrides[name] ? mergeSystem(base, overrides[name]) : base;
      return testConnection(name, effective, ctx.store);
    },
  );
}
