import type { z } from 'zod';
import { ObmenError, parseRetryAfter } from '../../core/errors.ts';
import type { HttpClient, HttpResponse } from '../../http/types.ts';
import type { ClientCredentialsTokens } from './oauth.ts';
import { errorBodySchema } from './protocol.ts';
import type { HttpSystemSettings } from './spec.ts';

const EXCERPT_CHARS = 300;

/**
 * Transport of the generic http protocol: base URL, auth header, and the protocol's own
 * meaning of HTTP statuses. All traffic goes through the shared client (ctx.http), which owns
 * timeouts, retries, rate limits and the request log.
 */
export class HttpProtocolClient {
  constructor(
    private readonly http: HttpClient,
    private readonly systemName: string,
    private readonly settings: HttpSystemSettings,
    private readonly signal: AbortSignal | undefined,
    /** Access tokens from the token endpoint, when the system uses OAuth client credentials. */
    private readonly tokens?: ClientCredentialsTokens,
  ) {}

  get baseUrl(): string {
    return this.settings.baseUrl;
  }

  async getJson<T>(
    path: string,
    schema: z.ZodType<T>,
    query?: Record<string, string | number | undefined>,
  ): Promise<T> {
    const response = await this.http.request({
      method: 'GET',
      url: this.url(path),
      query,
      headers: await this.headers(),
      endpoint: `GET ${path}`,
      classify: (res) => this.classify(res, 'GET', path),
      signal: this.signal,
    });
    return this.parse(response, schema, 'GET', path);
  }

  /** Writes are idempotent upserts keyed by id, so the shared client may retry them. */
  async postJson<T>(path: string, body: unknown, schema: z.ZodType<T>): Promise<T> {
    const response = await this.http.request({
      method: 'POST',
      url: this.url(path),
      json: body,
      headers: await this.headers(),
      endpoint: `POST ${path}`,
      idempotent: true,
      classify: (res) => this.classify(res, 'POST', path),
      signal: this.signal,
    });
    return this.parse(response, schema, 'POST', path);
  }

  /** Raw request for check(): the caller decides what a non-2xx answer means. */
  async probe(path: string): Promise<HttpResponse> {
    return this.http.request({
      method: 'GET',
      url: this.url(path),
      headers: await this.headers(),
      endpoint: `GET ${path}`,
      // A health probe answers "now"; retrying only delays telling the user what is wrong.
      idempotent: false,
      classify: () => undefined,
      signal: this.signal,
    });
  }

  url(path: string): string {
    return `${this.settings.baseUrl}${path.startsWith('/') ? '' : '/'}${path}`;
  }

  private async headers(): Promise<Record<string, string>> {
    const headers: Record<string, string> = { accept: 'application/json' };
    const authorization = this.tokens ? await this.tokens.header() : this.settings.authorization;
    if (authorization) headers['authorization'] = authorization;
    return headers;
  }

  /**
   * The protocol's status mapping. 401/403 are set-up problems, except a 401 to an OAuth access
   * token: tokens expire, so that one is auth_refresh (the engine gets a new token and retries).
   */
  classify(response: HttpResponse, method: string, path: string): ObmenError | undefined {
    const { status } = response;
    if (status >= 200 && status < 300) return undefined;
    const system = this.systemName;
    const remote = remoteError(response);
    const said = remote.message ? `: ${remote.message}` : '';
    const where = `${method} ${this.url(path)}`;
    const options = { system, code: remote.code ?? `HTTP_${status}`, detail: remote.excerpt };
    if (status === 401 && this.tokens) {
      return new ObmenError(
        'auth_refresh',
        `${system}: ${where} refused the access token (HTTP 401)${said}; obmen gets a new one from ${this.settings.oauth?.tokenUrl} and tries again`,
        options,
      );
    }
    if (status === 401 || status === 403) {
      return new ObmenError(
        'config',
        `${system}: ${where} refused the credentials (HTTP ${status})${said}; check systems.${system}.credentials`,
        options,
      );
    }
    if (status === 429) {
      return new ObmenError('rate_limited', `${system}: ${where} asked to slow down (HTTP 429)${said}`, {
        ...options,
        retryAfterMs: parseRetryAfter(response.headers.get('retry-after')),
      });
    }
    if (status >= 500) {
      return new ObmenError(
        'transient',
        `${system}: ${where} failed on the system's side (HTTP ${status})${said}; it will be retried`,
        options,
      );
    }
    if (status >= 300 && status < 400) {
      return new ObmenError(
        'config',
        `${system}: ${where} redirects (HTTP ${status}) to ${response.headers.get('location') ?? '?'}; ` +
          `set systems.${system}.url to the final address`,
        options,
      );
    }
    return new ObmenError(
      'permanent',
      `${system}: ${where} was refused (HTTP ${status})${said}; fix the data or the mapping, then retry`,
      options,
    );
  }

  private parse<T>(response: HttpResponse, schema: z.ZodType<T>, method: string, path: string): T {
    const parsed = schema.safeParse(response.json());
    if (parsed.success) return parsed.data;
    const issue = parsed.error.issues[0];
    throw new ObmenError(
      'permanent',
      `${this.systemName}: the answer to ${method} ${this.url(path)} does not follow the obmen http protocol ` +
        `(${issue ? `${issue.path.join('.') || 'body'}: ${issue.message}` : 'unexpected shape'}); ` +
        'see docs/connectors/http.md',
      { system: this.systemName, code: 'PROTOCOL', detail: response.text().slice(0, EXCERPT_CHARS) },
    );
  }
}

function remoteError(response: HttpResponse): { code?: string; message?: string; excerpt: string } {
  const text = response.text();
  const excerpt = text.slice(0, EXCERPT_CHARS);
  try {
    const body = errorBodySchema.safeParse(JSON.parse(text));
    if (body.success) return { code: body.data.error.code, message: body.data.error.message, excerpt };
  } catch {
    // Not JSON: the excerpt alone goes to the detail.
  }
  return { excerpt };
}
