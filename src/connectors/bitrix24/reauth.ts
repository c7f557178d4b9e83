import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { Clock } from '../../core/clock.ts';
import { configError, ObmenError } from '../../core/errors.ts';
import { keyFromEnv } from '../../core/secrets.ts';
import { retryFailures } from '../../engine/operations.ts';
import type { Runtime } from '../../engine/runtime.ts';
import type { HttpClient } from '../../http/types.ts';
import type { Store } from '../../store/store.ts';
import { authorizeCommand, saveAuthorizedTokens, tokenRequest } from './auth.ts';
import type { Bitrix24Auth } from './spec.ts';

/** An authorisation link is good for this long. */
const STATE_TTL_MS = 10 * 60_000;

/** Path of the redirect target; Bitrix24 sends the browser there with `code` and `state`. */
export const authorizePath = (system: string) => `/webhooks/bitrix24/${system}/oauth`;

function sign(body: string): string {
  const key = createHmac('sha256', keyFromEnv()).update('obmen bitrix24 oauth state').digest();
  return createHmac('sha256', key).update(body).digest('base64url');
}

/** An unguessable `state` tied to the system and an expiry, checked without storing it. */
export function newState(system: string, now: number): string {
  const body = `${system}.${now + STATE_TTL_MS}.${randomBytes(9).toString('base64url')}`;
  return `${body}.${sign(body)}`;
}

/** Why a `state` is not one obmen issued for this system (or has expired); undefined when it is. */
export function stateProblem(system: string, state: string, now: number): string | undefined {
  const parts = state.split('.');
  const signature = parts.pop() ?? '';
  const [name, expires] = parts;
  const expected = Buffer.from(sign(parts.join('.')));
  const given = Buffer.from(signature);
  if (name !== system || given.length !== expected.length || !timingSafeEqual(given, expected))
    return `the link was not issued by obmen for system ${system}`;
  if (!(Number(expires) > now)) return 'the link has expired (it is good for 10 minutes)';
  return undefined;
}

/**
 * Getting tokens again when the stored refresh token is lost (see lockedOutError): the full OAuth
 * protocol of the docs (settings/oauth/index.md). A portal administrator opens the authorisation
 * link; Bitrix24 sends the browser to the application's address with a `code` that lives 30 s;
 * obmen exchanges it at the token server (grant_type=authorization_code) and stores the new pair.
 * The code reaches obmen either at `/webhooks/bitrix24/<system>/oauth` (when that is the
 * application's address) or pasted into `obmen bitrix24 authorize <system> --code …`.
 */
export class Reauthorization {
  constructor(
    private readonly system: string,
    private readonly auth: Extract<Bitrix24Auth, { kind: 'oauth' }>,
    private readonly tokenServerUrl: string,
    private readonly http: HttpClient,
    private readonly store: Store,
    private readonly clock: Clock,
  ) {}

  /** The link a portal administrator opens: `https://<portal>/oauth/authorize/?client_id=…&state=…`. */
  link(): string {
    const portal = this.auth.restUrl.replace(/rest\/$/, '');
    const query = new URLSearchParams({
      client_id: this.auth.clientId,
      state: newState(this.system, this.clock.now()),
    });
    return `${portal}oauth/authorize/?${query}`;
  }

  /**
   * Exchanges a code, stores the tokens and queues again the deliveries parked by the lock-out
   * (on `routes`, the routes to this system). Throws a config error naming what went wrong.
   */
  async withCode(code: string, routes: readonly string[]): Promise<{ version: number; requeued: number }> {
    if (!/^[A-Za-z0-9]+$/.test(code))
      throw configError(`${this.system}: "${code.slice(0, 60)}" is not a Bitrix24 authorisation code`, {
        system: this.system,
      });
    const answer = await tokenRequest({
      http: this.http,
      system: this.system,
      url: this.tokenServerUrl,
      label: 'authorization code',
      query: {
        grant_type: 'authorization_code',
        client_id: this.auth.clientId,
        client_secret: this.auth.clientSecret,
        code,
      },
      now: this.clock.now(),
    }).catch((error: unknown) => {
      if (error instanceof ObmenError && error.code === 'invalid_grant')
        throw configError(
          `${this.system}: the token server refused the authorisation code (invalid_grant); a code lives 30 seconds and works once: run \`${authorizeCommand(this.system)}\` again`,
          { system: this.system, code: 'AUTH_CODE_REFUSED', cause: error },
        );
      throw error;
    });
    // A mass-market application's client_id works on every portal: a code from another portal
    // must never point obmen at that portal's data.
    const expected = new URL(this.auth.restUrl).host;
    const got = answer.clientEndpoint ? new URL(answer.clientEndpoint).host : expected;
    if (got !== expected)
      throw configError(
        `${this.system}: the authorisation came from portal ${got}, but systems.${this.system}.url is ${expected}; open the link while logged in to ${expected}`,
        { system: this.system, code: 'AUTH_WRONG_PORTAL' },
      );
    const version = await saveAuthorizedTokens(this.store, this.system, answer, this.clock.now());
    return { version, requeued: await this.requeueLockedOut(routes) };
  }

  /** Deliveries parked because the integration was locked out go back to the queue. */
  private async requeueLockedOut(routes: readonly string[]): Promise<number> {
    let requeued = 0;
    for (const route of routes) {
      const rows = await this.store.db
        .selectFrom('outbox')
        .select('record_id')
        .where('route', '=', route)
        .where('state', '=', 'failed')
        .where('last_error', 'like', `%${authorizeCommand(this.system)}%`)
        .execute();
      if (rows.length === 0) continue;
      const result = await retryFailures(
        this.store,
        { route, recordIds: rows.map((r) => r.record_id) },
        this.clock.now(),
      );
      requeued += result.retried;
    }
    return requeued;
  }
}

/**
 * GET /webhooks/bitrix24/<system>/oauth: where Bitrix24 sends the administrator's browser after
 * the authorisation link (when the application's address points here). The `state` must be one
 * obmen issued for this system in the last 10 minutes.
 */
export function mountAuthorizeEndpoint(
  app: FastifyInstance,
  runtime: Runtime,
  system: string,
  reauth: Reauthorization,
): void {
  app.get<{ Querystring: Record<string, string | undefined> }>(
    authorizePath(system),
    async (request, reply) => {
      const { code, state, error } = request.query;
      reply.type('text/plain; charset=utf-8');
      if (error) return reply.code(400).send(`obmen: Bitrix24 did not authorise (${error.slice(0, 100)})`);
      const problem =
        !code || !state ? 'code and state are missing' : stateProblem(system, state, runtime.clock.now());
      if (problem)
        return reply.code(400).send(`obmen: ${problem}; run \`${authorizeCommand(system)}\` for a new link`);
      try {
        const routes = runtime.config.routes.filter((r) => r.target === system).map((r) => r.name);
        const done = await reauth.withCode(code!, routes);
        runtime.log.info(
          { system, version: done.version, requeued: done.requeued },
          'bitrix24 authorised again',
        );
        return reply.send(
          `obmen: Bitrix24 system ${system} is authorised again; ${done.requeued} parked deliveries are queued again. This page can be closed.`,
        );
      } catch (caught) {
        const message = caught instanceof Error ? caught.message : String(caught);
        return reply
          .code(caught instanceof ObmenError && caught.errorClass === 'config' ? 400 : 502)
          .send(`obmen: ${message}`);
      }
    },
  );
}
