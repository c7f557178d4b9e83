import { randomBytes } from 'node:crypto';
import { RestError } from './errors.ts';

/** Access tokens live one hour (docs: settings/oauth/auto-renewal.md). */
export const ACCESS_TOKEN_TTL_MS = 3_600_000;
/** An authorisation code lives 30 seconds and works once (docs: settings/oauth/index.md). */
export const CODE_TTL_MS = 30_000;

export interface TokenPair {
  access_token: string;
  refresh_token: string;
  expires: number;
  expires_in: number;
}

/**
 * The OAuth side of the emulated portal and of oauth.bitrix.info. Refresh tokens ROTATE: each
 * refresh issues a new one and the old one stops working at once. The Bitrix24 docs describe no
 * grace period for the previous refresh token, so none is emulated: a client that loses the new
 * refresh token is locked out, exactly as it would be against the real portal.
 */
export class OAuthServer {
  private readonly access = new Map<string, number>();
  private readonly refresh = new Set<string>();
  private readonly codes = new Map<string, number>();
  refreshes = 0;
  /** Token requests of every grant, refused ones included. */
  tokenRequests = 0;

  constructor(
    readonly clientId: string,
    readonly clientSecret: string,
    private readonly now: () => number,
    /** The application's address, where /oauth/authorize/ sends the browser with the code. */
    public redirectUri: string | undefined = undefined,
  ) {}

  /**
   * GET https://<portal>/oauth/authorize/?client_id=…&state=… as a logged-in administrator: the
   * URL the browser is sent to, `redirectUri` with code, state, domain, member_id, scope and
   * server_domain (the docs' list).
   */
  authorizeRedirect(params: Record<string, unknown>, domain: string): string {
    if (params['client_id'] !== this.clientId)
      throw new RestError(400, 'invalid_client', 'The application is not installed on this portal');
    if (!this.redirectUri)
      throw new RestError(400, 'invalid_request', 'The application has no address to return to');
    const code = randomBytes(16).toString('hex');
    this.codes.set(code, this.now() + CODE_TTL_MS);
    const query = new URLSearchParams({
      code,
      state: String(params['state'] ?? ''),
      domain,
      member_id: 'emulated-member',
      scope: 'crm,catalog',
      server_domain: 'oauth.bitrix.info',
    });
    return `${this.redirectUri}${this.redirectUri.includes('?') ? '&' : '?'}${query}`;
  }

  /** Tokens as after the app was installed (what the admin pastes into the config). */
  issue(): TokenPair {
    const access = randomBytes(16).toString('hex');
    const refresh = randomBytes(16).toString('hex');
    const expiresAt = this.now() + ACCESS_TOKEN_TTL_MS;
    this.access.set(access, expiresAt);
    this.refresh.add(refresh);
    return {
      access_token: access,
      refresh_token: refresh,
      expires: Math.floor(expiresAt / 1000),
      expires_in: ACCESS_TOKEN_TTL_MS / 1000,
    };
  }

  /** Throws the REST error a portal answers for a bad or expired access token. */
  authorize(token: string | undefined): void {
    if (!token) throw new RestError(401, 'NO_AUTH_FOUND', 'Wrong authorization data');
    const expiresAt = this.access.get(token);
    if (expiresAt === undefined) {
      throw new RestError(401, 'invalid_token', 'The access token provided is invalid.');
    }
    if (expiresAt <= this.now()) {
      throw new RestError(401, 'expired_token', 'The access token provided has expired.');
    }
  }

  /** grant_type=refresh_token or authorization_code at /oauth/token/. */
  exchange(params: Record<string, unknown>): TokenPair {
    this.tokenRequests++;
    const grant = params['grant_type'];
    if (grant !== 'refresh_token' && grant !== 'authorization_code') {
      throw new RestError(400, 'invalid_request', 'Unsupported grant_type');
    }
    if (params['client_id'] !== this.clientId || params['client_secret'] !== this.clientSecret) {
      throw new RestError(401, 'invalid_client', 'Invalid client credentials');
    }
    if (grant === 'authorization_code') {
      const code = String(params['code'] ?? '');
      const expiresAt = this.codes.get(code);
      this.codes.delete(code);
      if (expiresAt === undefined || expiresAt <= this.now())
        throw new RestError(400, 'invalid_grant', 'Invalid authorization code');
      return this.issue();
    }
    const token = String(params['refresh_token'] ?? '');
    if (!this.refresh.has(token)) throw new RestError(400, 'invalid_grant', 'Invalid refresh token');
    this.refresh.delete(token);
    this.refreshes++;
    return this.issue();
  }

  /** Test hook: make every access token expired now (as one hour passing would). */
  expireAll(): void {
    for (const key of this.access.keys()) this.access.set(key, 0);
  }
}
