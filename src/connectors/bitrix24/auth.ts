import { randomUUID } from 'node:crypto';
import type { Clock } from '../../core/clock.ts';
import { configError, ObmenError } from '../../core/errors.ts';
import { createSecretBox, keyFromEnv, type SecretBox } from '../../core/secrets.ts';
import type { HttpClient } from '../../http/types.ts';
import type { Store } from '../../store/store.ts';
import { type Bitrix24ErrorBody, bitrix24Error } from './errors.ts';
import type { Bitrix24Auth } from './spec.ts';

/** How a call is authorised: where it goes and what it carries. */
export interface AuthSession {
  readonly kind: 'webhook' | 'oauth';
  /** Full URL of a method, e.g. https://portal/rest/1/code/crm.deal.add */
  url(method: string): Promise<string>;
  /** Parameters added to every call (`auth` for OAuth). */
  params(): Promise<Record<string, string>>;
  /** After a 401 expired_token/invalid_token: get new tokens (once per expiry, across workers). */
  refresh(failedAccessToken: string | undefined): Promise<void>;
  /** The access token the next call will carry (to tell whether someone else already refreshed). */
  currentToken(): Promise<string | undefined>;
  /** Portal moved (HTTP 302): calls go to the new origin from now on. */
  moveTo(origin: string): void;
}

function withOrigin(url: string, origin: string | undefined): string {
  if (!origin) return url;
  const u = new URL(url);
  const o = new URL(origin);
  u.protocol = o.protocol;
  u.host = o.host;
  return u.toString();
}

export function webhookAuth(baseUrl: string): AuthSession {
  let origin: string | undefined;
  return {
    kind: 'webhook',
    url: async (method) => `${withOrigin(baseUrl, origin)}${method}`,
    params: async () => ({}),
    refresh: async () => {
      throw configError(
        'the webhook code was refused; create a new inbound webhook in Bitrix24 and set credentials.webhookCode',
      );
    },
    currentToken: async () => undefined,
    moveTo: (o) => {
      origin = o;
    },
  };
}

export interface OAuthOptions {
  system: string;
  auth: Extract<Bitrix24Auth, { kind: 'oauth' }>;
  tokenServerUrl: string;
  http: HttpClient;
  clock: Clock;
  /** Token state lives here (table bitrix24_tokens); without a store, only in memory. */
  store: Store | undefined;
  /** Test hook: runs right after new tokens are committed, before they are used. */
  afterTokensSaved?: () => Promise<void>;
}

interface TokenState {
  accessToken: string;
  refreshToken: string;
  expiresAt: number;
  clientEndpoint: string | null;
  version: number;
}

/**
 * The token server's answer is awaited this long: abandoning an answer the server has already
 * given would lose the rotated refresh token just like a crash would.
 */
const TOKEN_TIMEOUT_MS = 60_000;
/** Longer than the wait for the token server, so a slow answer never lets a second refresher in. */
const LEASE_MS = TOKEN_TIMEOUT_MS + 30_000;
const WAIT_STEP_MS = 200;

/** The CLI command that authorises obmen again (named in every lock-out message). */
export const authorizeCommand = (system: string) => `obmen bitrix24 authorize ${system}`;

/**
 * The refresh token was refused (invalid_grant): spent by a refresh whose answer never reached
 * the database, revoked by reinstalling or removing the application, or older than 180 days.
 * Only a person can get new tokens.
 */
export function lockedOutError(system: string, cause?: unknown): ObmenError {
  return configError(
    `${system}: Bitrix24 refused the stored refresh token (invalid_grant): it was spent by a refresh whose answer never reached the database, or the application was reinstalled or removed, or the token is older than 180 days. Authorise obmen again as a portal administrator: run \`${authorizeCommand(system)}\` and open the link it prints; parked deliveries are queued again afterwards`,
    { system, code: 'AUTH_LOCKED_OUT', ...(cause === undefined ? {} : { cause }) },
  );
}

/**
 * OAuth 2.0 with single-use refresh tokens. The rules that keep the integration from locking
 * itself out:
 *  - refresh ONLY after the portal said expired_token/invalid_token (the docs warn that
 *    refreshing on a schedule gets apps blocked);
 *  - one refresher at a time: a lease on the token row (refresh_owner/refresh_until), taken with
 *    a version check, so two workers never spend the same refresh token;
 *  - the new pair is committed (version + 1) as the very next step after the token server
 *    answers, before any call uses it; a worker that finds a newer version simply reloads.
 */
export function oauthSession(options: OAuthOptions): AuthSession {
  const { system, store, clock, http } = options;
  const owner = `${process.pid}-${randomUUID().slice(0, 8)}`;
  let box: SecretBox | undefined;
  let memory: TokenState | undefined;
  let cached: TokenState | undefined;
  let origin: string | undefined;
  let refreshing: Promise<void> | undefined;
  /** The token version the token server refused (invalid_grant); a re-authorisation moves past it. */
  let lockedVersion: number | undefined;

  const secrets = (): SecretBox => {
    box ??= createSecretBox(keyFromEnv());
    return box;
  };

  async function load(): Promise<TokenState> {
    if (!store) {
      memory ??= {
        accessToken: options.auth.accessToken,
        refreshToken: options.auth.refreshToken,
        expiresAt: 0,
        clientEndpoint: null,
        version: 1,
      };
      return memory;
    }
    let row = await store.db
      .selectFrom('bitrix24_tokens')
      .selectAll()
      .where('system', '=', system)
      .executeTakeFirst();
    if (!row) {
      // First start: the tokens from the config seed the row; later ones only ever live here.
      const now = clock.now();
      await store.db
        .insertInto('bitrix24_tokens')
        .values({
          system,
          access_token: secrets().encrypt(options.auth.accessToken),
          refresh_token: secrets().encrypt(options.auth.refreshToken),
          expires_at: 0,
          client_endpoint: null,
          version: 1,
          refresh_owner: null,
          refresh_until: null,
          updated_at: now,
        })
        .onConflict((oc) => oc.column('system').doNothing())
        .execute();
      row = await store.db
        .selectFrom('bitrix24_tokens')
        .selectAll()
        .where('system', '=', system)
        .executeTakeFirstOrThrow();
    }
    return {
      accessToken: secrets().decrypt(row.access_token),
      refreshToken: secrets().decrypt(row.refresh_token),
      expiresAt: Number(row.expires_at),
      clientEndpoint: row.client_endpoint,
      version: Number(row.version),
    };
  }

  async function state(): Promise<TokenState> {
    cached ??= await load();
    return cached;
  }

  /** Takes the refresh lease if the row is still at `version` and nobody holds a live lease. */
  async function claim(version: number): Promise<boolean> {
    if (!store) return true;
    const now = clock.now();
    const result = await store.db
      .updateTable('bitrix24_tokens')
      .set({ refresh_owner: owner, refresh_until: now + LEASE_MS })
      .where('system', '=', system)
      .where('version', '=', version)
      .where((eb) => eb.or([eb('refresh_until', 'is', null), eb('refresh_until', '<', now)]))
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  async function save(previous: TokenState, next: TokenState): Promise<void> {
    if (!store) {
      memory = next;
      return;
    }
    const result = await store.tx((trx) =>
      trx
        .updateTable('bitrix24_tokens')
        .set({
          access_token: secrets().encrypt(next.accessToken),
          refresh_token: secrets().encrypt(next.refreshToken),
          expires_at: next.expiresAt,
          client_endpoint: next.clientEndpoint,
          version: next.version,
          refresh_owner: null,
          refresh_until: null,
          updated_at: clock.now(),
        })
        .where('system', '=', system)
        .where('version', '=', previous.version)
        .executeTakeFirst(),
    );
    if (Number(result.numUpdatedRows) !== 1) {
      // Cannot happen while the lease holds; if it does, the row moved on and ours is stale.
      throw new ObmenError(
        'transient',
        `${system}: the OAuth token row changed during a refresh; retrying with the stored tokens`,
        { system, code: 'TOKEN_RACE' },
      );
    }
  }

  async function callTokenServer(current: TokenState): Promise<TokenState> {
    const answer = await tokenRequest({
      http,
      system,
      url: options.tokenServerUrl,
      label: 'refresh',
      query: {
        grant_type: 'refresh_token',
        client_id: options.auth.clientId,
        client_secret: options.auth.clientSecret,
        refresh_token: current.refreshToken,
      },
      now: clock.now(),
    });
    return { ...answer, version: current.version + 1 };
  }

  /** Gives the lease back after a failed refresh, so other workers need not wait it out. */
  async function release(version: number): Promise<void> {
    if (!store) return;
    await store.db
      .updateTable('bitrix24_tokens')
      .set({ refresh_owner: null, refresh_until: null })
      .where('system', '=', system)
      .where('version', '=', version)
      .where('refresh_owner', '=', owner)
      .execute();
  }

  async function doRefresh(failedAccessToken: string | undefined): Promise<void> {
    const deadline = clock.now() + LEASE_MS + 10_000;
    for (;;) {
      cached = await load();
      // Someone (another worker, or this one earlier) already replaced the token that failed.
      if (failedAccessToken !== undefined && cached.accessToken !== failedAccessToken) return;
      // This pair was refused already: fail at once, without another refused call.
      if (lockedVersion === cached.version) throw lockedOutError(system);
      if (await claim(cached.version)) {
        let next: TokenState;
        try {
          next = await callTokenServer(cached);
        } catch (error) {
          await release(cached.version).catch(() => {});
          if (error instanceof ObmenError && error.code === 'invalid_grant') {
            lockedVersion = cached.version;
            throw lockedOutError(system, error);
          }
          throw error;
        }
        // Nothing may come between the token server's answer and this commit: the old refresh
        // token is spent now, and the new one exists only in memory until the commit.
        await save(cached, next);
        cached = next;
        await options.afterTokensSaved?.();
        return;
      }
      if (clock.now() > deadline) {
        throw new ObmenError(
          'transient',
          `${system}: another worker is refreshing the Bitrix24 OAuth token; will retry`,
          { system, code: 'TOKEN_BUSY' },
        );
      }
      await clock.sleep(WAIT_STEP_MS);
    }
  }

  return {
    kind: 'oauth',
    async url(method) {
      const s = await state();
      return `${withOrigin(s.clientEndpoint ?? options.auth.restUrl, origin)}${method}`;
    },
    async params() {
      return { auth: (await state()).accessToken };
    },
    async currentToken() {
      return (await state()).accessToken;
    },
    refresh(failedAccessToken) {
      // One refresh at a time inside this process; other processes are held off by the lease.
      refreshing ??= doRefresh(failedAccessToken).finally(() => {
        refreshing = undefined;
      });
      return refreshing;
    },
    moveTo(o) {
      origin = o;
    },
  };
}

/** What the token server answers (refresh or authorisation code), parsed. */
export interface TokenAnswer {
  accessToken: string;
  refreshToken: string;
  expiresAt: number;
  clientEndpoint: string | null;
  memberId: string | null;
}

/**
 * One call to the token server (`GET oauth/token/?grant_type=…`, as the docs show it). Never
 * repeated by the HTTP client: a refresh spends the refresh token, a code lives 30 s and is
 * single-use.
 */
export async function tokenRequest(options: {
  http: HttpClient;
  system: string;
  url: string;
  label: 'refresh' | 'authorization code';
  query: Record<string, string>;
  now: number;
}): Promise<TokenAnswer> {
  const { system } = options;
  const method = `oauth/token (${options.label})`;
  const response = await options.http.request({
    method: 'GET',
    url: options.url,
    query: options.query,
    endpoint: 'oauth/token',
    idempotent: false,
    timeoutMs: TOKEN_TIMEOUT_MS,
    classify: (res) => {
      if (res.status < 400) return undefined;
      let body: Bitrix24ErrorBody = {};
      try {
        body = res.json<Bitrix24ErrorBody>();
      } catch {
        body = { error: `HTTP_${res.status}` };
      }
      return bitrix24Error(system, method, body, res.status);
    },
  });
  const body = response.json<{
    access_token?: string;
    refresh_token?: string;
    expires?: number;
    expires_in?: number;
    client_endpoint?: string;
    member_id?: string;
    error?: string;
    error_description?: string;
  }>();
  if (!body.access_token || !body.refresh_token) {
    throw bitrix24Error(system, method, {
      error: body.error ?? 'invalid_grant',
      error_description: body.error_description ?? 'no tokens in the answer',
    });
  }
  return {
    accessToken: body.access_token,
    refreshToken: body.refresh_token,
    expiresAt: body.expires ? body.expires * 1000 : options.now + (body.expires_in ?? 3600) * 1000,
    clientEndpoint: body.client_endpoint ?? null,
    memberId: body.member_id ?? null,
  };
}

/**
 * Stores the pair of a new authorisation (an exchanged code) in place of whatever the row held:
 * version + 1 and any refresh lease cleared, in one transaction. Running workers notice at their
 * next 401: the row's access token is no longer the one that failed, so they reload it.
 */
export async function saveAuthorizedTokens(
  store: Store,
  system: string,
  tokens: TokenAnswer,
  now: number,
): Promise<number> {
  const box = createSecretBox(keyFromEnv());
  const values = {
    access_token: box.encrypt(tokens.accessToken),
    refresh_token: box.encrypt(tokens.refreshToken),
    expires_at: tokens.expiresAt,
    client_endpoint: tokens.clientEndpoint,
    refresh_owner: null,
    refresh_until: null,
    updated_at: now,
  };
  return store.tx(async (trx) => {
    const row = await trx
      .selectFrom('bitrix24_tokens')
      .select('version')
      .where('system', '=', system)
      .executeTakeFirst();
    if (!row) {
      await trx
        .insertInto('bitrix24_tokens')
        .values({ system, version: 1, ...values })
        .execute();
      return 1;
    }
    const version = Number(row.version) + 1;
    await trx
      .updateTable('bitrix24_tokens')
      .set({ ...values, version })
      .where('system', '=', system)
      .execute();
    return version;
  });
}
