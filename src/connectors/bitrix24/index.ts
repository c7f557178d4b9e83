import type { FastifyInstance } from 'fastify';
import type { RouteConfig } from '../../config/schema.ts';
import { type Clock, systemClock } from '../../core/clock.ts';
import type {
  Connector,
  ConnectorContext,
  ConnectorFactory,
  DeliveryItem,
  ReadRequest,
} from '../../core/connector.ts';
import { configError, ObmenError } from '../../core/errors.ts';
import type { Runtime } from '../../engine/runtime.ts';
import type { Store } from '../../store/store.ts';
import { type AuthSession, oauthSession, webhookAuth } from './auth.ts';
import { Bitrix24Client } from './client.ts';
import { bitrix24Defaults } from './defaults.ts';
import { OperatingBudget, planLimits } from './limits.ts';
import { mountAuthorizeEndpoint, Reauthorization } from './reauth.ts';
import type { ResourceContext } from './resources/common.ts';
import { catalogIblock } from './resources/iblock.ts';
import { UserFields } from './resources/userfield.ts';
import { VatRates } from './resources/vat.ts';
import { WRITABLE_ENTITIES, writeBatch } from './sink.ts';
import { readSource } from './source.ts';
import { bitrix24OptionsSchema, resolveBitrix24System } from './spec.ts';
import { bindEvents, mountWebhook } from './webhook.ts';

/**
 * What the bitrix24 connector can use beyond the common context: the store keeps OAuth tokens
 * (and shares the rate limiter between processes), the clock drives waits in tests.
 */
export interface Bitrix24Context extends ConnectorContext {
  store?: Store;
  clock?: Clock;
  /** Test hook: runs right after refreshed OAuth tokens are committed. */
  afterTokensSaved?: () => Promise<void>;
}

/** A bitrix24 connector; OAuth systems can be authorised again (see reauth.ts). */
export interface Bitrix24Connector extends Connector {
  reauthorization: Reauthorization | undefined;
}

/** The re-authorisation of a system's connector, when it is a bitrix24 OAuth one. */
export function reauthorizationOf(connector: Connector | undefined): Reauthorization | undefined {
  return connector && 'reauthorization' in connector
    ? (connector as Bitrix24Connector).reauthorization
    : undefined;
}

/**
 * References the Bitrix24 writers never read (resources/product.ts, price.ts): the connector does
 * not write groups (a section comes from the route's mapping, `iblockSectionId`), units or
 * properties, so products and prices must not wait for them to reach the portal.
 */
const UNUSED_REFS: Record<string, readonly string[]> = {
  product: ['groupId', 'baseUnitId', 'properties[].propertyId'],
  price: ['unitId'],
};

/** Bitrix24 REST (cloud or self-hosted portal): CRM, catalogue, stock; events in, batches out. */
export const bitrix24Connector: ConnectorFactory = {
  kind: 'bitrix24',
  // The portal's leaky bucket (limits.md): the runtime's limiter for the system enforces it when
  // the user set no limits.rate, so every caller and process shares one bucket.
  defaultLimits(system) {
    const plan = bitrix24OptionsSchema.shape.plan.safeParse(system.options?.['plan']);
    return planLimits(plan.success ? plan.data : 'standard');
  },
  defaults: bitrix24Defaults,
  accepts: () => WRITABLE_ENTITIES,
  ignoredRefs: (entity) => UNUSED_REFS[entity],
  create(base: ConnectorContext): Bitrix24Connector {
    const ctx = base as Bitrix24Context;
    const name = ctx.systemName;
    const settings = resolveBitrix24System(name, ctx.system);
    const clock = ctx.clock ?? systemClock;
    const auth: AuthSession =
      settings.auth.kind === 'webhook'
        ? webhookAuth(settings.auth.baseUrl)
        : oauthSession({
            system: name,
            auth: settings.auth,
            tokenServerUrl: settings.options.tokenServerUrl,
            http: ctx.http,
            clock,
            store: ctx.store,
            ...(ctx.afterTokensSaved ? { afterTokensSaved: ctx.afterTokensSaved } : {}),
          });
    const reauthorization =
      settings.auth.kind === 'oauth' && ctx.store
        ? new Reauthorization(
            name,
            settings.auth,
            settings.options.tokenServerUrl,
            ctx.http,
            ctx.store,
            clock,
          )
        : undefined;
    const budget = new OperatingBudget(name, settings.options.operatingLimitSeconds * 1000, clock);
    const client = new Bitrix24Client(ctx.http, name, auth, budget, ctx.signal);
    const resources: ResourceContext = {
      client,
      system: name,
      options: settings.options,
      userFields: new UserFields(client),
      vatRates: new VatRates(client),
      iblockId: catalogIblock(client, name, settings.options.iblockId, `systems.${name}.options.iblockId`),
    };
    let closed = false;
    const ensureOpen = () => {
      if (closed)
        throw new ObmenError('config', `${name}: the bitrix24 connector was closed; create a new one`);
      if (oauthWithoutStore) throw oauthWithoutStore;
    };
    // Refresh tokens are single-use: kept only in memory, the next restart would present a spent
    // one and lock the integration out. Without the store, OAuth is refused outright.
    const oauthWithoutStore =
      settings.auth.kind === 'oauth' && !ctx.store
        ? configError(
            `${name}: Bitrix24 OAuth needs the database to keep refreshed tokens, and this process did not give the connector one; use an inbound webhook, or run obmen with a version that passes the store to connectors`,
            { system: name, code: 'NO_TOKEN_STORE' },
          )
        : undefined;

    return {
      reauthorization,
      async check() {
        ensureOpen();
        try {
          await client.call('scope');
        } catch (error) {
          if (error instanceof ObmenError && error.errorClass === 'config') throw error;
          const reason = error instanceof Error ? error.message : String(error);
          const hint =
            error instanceof ObmenError && error.errorClass === 'permanent'
              ? `check systems.${name}.url and credentials`
              : `check systems.${name}.url and that the portal is reachable`;
          throw new ObmenError('config', `${name}: Bitrix24 check failed (${reason}); ${hint}`, {
            system: name,
            code: 'CHECK_FAILED',
            cause: error,
          });
        }
        if (auth.kind === 'oauth' && settings.options.eventHandlerUrl) {
          await bindEvents(resources, settings.options.eventHandlerUrl);
        }
      },
      async discover() {
        ensureOpen();
        const out: Array<{ name: string; fields: string[] }> = [];
        for (const entity of ['contact', 'company', 'deal'] as const) {
          const r = await client.call<Record<string, unknown>>(`crm.${entity}.fields`);
          out.push({ name: `crm.${entity}`, fields: Object.keys(r.result ?? {}) });
        }
        return out;
      },
      read(request: ReadRequest) {
        ensureOpen();
        return readSource(resources, request);
      },
      async write(route: RouteConfig, items: DeliveryItem[]) {
        ensureOpen();
        return writeBatch(resources, route, items);
      },
      async mountInbound(app: FastifyInstance, runtime: Runtime) {
        await mountWebhook(app, runtime, {
          system: name,
          applicationToken: settings.applicationToken,
          resources,
        });
        if (reauthorization) mountAuthorizeEndpoint(app, runtime, name, reauthorization);
      },
      async close() {
        closed = true;
      },
    };
  },
};

export { resolveBitrix24System } from './spec.ts';
export { bindEvents, processInbox } from './webhook.ts';
