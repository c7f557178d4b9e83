import { z } from 'zod';
import { type Clock, systemClock } from '../../core/clock.ts';
import { ObmenError, parseRetryAfter } from '../../core/errors.ts';
import type { HttpClient, HttpResponse } from '../../http/types.ts';
import type { HttpOAuthClient } from './spec.ts';

/** RFC 6749 §5.1 (a successful answer) and §5.2 (an error). */
const tokenAnswerSchema = z.object({
  access_token: z.string().min(1),
  token_type: z.string().optional(),
  expires_in: z.coerce.number().positive().optional(),
});
const tokenErrorSchema = z.object({ error: z.string(), error_description: z.string().optional() });

/** A token is renewed this long before it expires, so a request never leaves with a dying one. */
const EARLY_MS = 30_000;

/**
 * Access tokens of an OAuth 2.0 client (client credentials grant, RFC 6749 §4.4), got through
 * the shared HTTP client (limits, request log with the token redacted). A token is fetched on
 * first use and again shortly before `expires_in` runs out; `refresh()` is what the engine calls
 * when the system refused a token early (revoked, or its clock differs): connector.refreshAuth.
 * Concurrent callers share one token request.
 */
export class ClientCredentialsTokens {
  private current: { value: string; expiresAt: number } | undefined;
  private fetching: Promise<string> | undefined;

  constructor(
    private readonly http: HttpClient,
    private readonly systemName: string,
    private readonly client: HttpOAuthClient,
    private readonly signal: AbortSignal | undefined,
    private readonly clock: Clock = systemClock,
  ) {}

  /** The Authorization header value: the current token, or a new one. */
  async header(): Promise<string> {
    const current = this.current;
    if (current && current.expiresAt - EARLY_MS > this.clock.now()) return `Bearer ${current.value}`;
    return `Bearer ${await this.fetch()}`;
  }

  /** Drops the current token and gets a new one; throws a config error when the client is refused. */
  async refresh(): Promise<void> {
    this.current = undefined;
    await this.fetch();
  }

  private fetch(): Promise<string> {
    this.fetching ??= this.request().finally(() => {
      this.fetching = undefined;
    });
    return this.fetching;
  }

  private async request(): Promise<string> {
    const { tokenUrl, clientId, clientSecret, scope } = this.client;
    const form = new URLSearchParams({ grant_type: 'client_credentials' });
    if (scope) form.set('scope', scope);
    // RFC 6749 §2.3.1: the client authenticates with Basic, its id and secret form-encoded first.
    const basic = Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`).toString(
      'base64',
    );
    const response = await this.http.request({
      method: 'POST',
      url: tokenUrl,
      headers: {
        authorization: `Basic ${basic}`,
        'content-type': 'application/x-www-form-urlencoded',
        accept: 'application/json',
      },
      body: form.toString(),
      endpoint: 'POST oauth token',
      // Asking for a token twice does no harm.
      idempotent: true,
      classify: (res) => this.classify(res),
      ...(this.signal ? { signal: this.signal } : {}),
    });
    let parsed: z.infer<typeof tokenAnswerSchema> | undefined;
    try {
      parsed = tokenAnswerSchema.safeParse(JSON.parse(response.text())).data;
    } catch {
      parsed = undefined;
    }
    if (!parsed) {
      throw new ObmenError(
        'config',
        `${this.systemName}: ${tokenUrl} did not answer with an OAuth access token; check systems.${this.systemName}.options.tokenUrl`,
        { system: this.systemName, code: 'OAUTH_ANSWER' },
      );
    }
    // Without expires_in the token lives until the system refuses it (then refreshAuth).
    const lifetimeMs = (parsed.expires_in ?? 365 * 24 * 3600) * 1000;
    this.current = { value: parsed.access_token, expiresAt: this.clock.now() + lifetimeMs };
    return parsed.access_token;
  }

  private classify(response: HttpResponse): ObmenError | undefined {
    const { status } = response;
    if (status >= 200 && status < 300) return undefined;
    const system = this.systemName;
    const where = `the token endpoint ${this.client.tokenUrl}`;
    let said: z.infer<typeof tokenErrorSchema> | undefined;
    try {
      said = tokenErrorSchema.safeParse(JSON.parse(response.text())).data;
    } catch {
      said = undefined;
    }
    const reason = said
      ? `: ${said.error}${said.error_description ? ` (${said.error_description})` : ''}`
      : '';
    const options = { system, code: said?.error ?? `HTTP_${status}` };
    if (status === 429)
      return new ObmenError('rate_limited', `${system}: ${where} asked to slow down (HTTP 429)`, {
        ...options,
        retryAfterMs: parseRetryAfter(response.headers.get('retry-after')),
      });
    if (status >= 500)
      return new ObmenError(
        'transient',
        `${system}: ${where} failed (HTTP ${status})${reason}; it will be retried`,
        options,
      );
    return new ObmenError(
      'config',
      `${system}: ${where} refused to issue a token (HTTP ${status})${reason}; ` +
        `check systems.${system}.credentials clientId and clientSecret (and options.scope)`,
      options,
    );
  }
}
