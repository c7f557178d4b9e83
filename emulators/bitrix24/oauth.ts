import { randomBytes } from 'node:crypto';
import { RestError } from './errors.ts';

/** Access tokens live one hour (docs: settings/oauth/auto-renewal.md). */
export const ACCESS_TOKEN_TTL_MS = 3_600_000;

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
  refreshes = 0;

  constructor(
    readonly clientId: string,
    readonly clientSecret: string,
    private readonly now: () => number,
  ) {}

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

  /** grant_type=refresh_token at /oauth/token/. */
  exchange(params: Record<string, unknown>): TokenPair {
    if (params['grant_type'] !== 'refresh_token') {
      throw new RestError(400, 'invalid_request', 'Unsupported grant_type');
    }
    if (params['client_id'] !== this.clientId || params['client_secret'] !== this.clientSecret) {
      throw new RestError(401, 'invalid_client', 'Invalid client credentials');
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
