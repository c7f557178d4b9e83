import { ObmenError } from '../../core/errors.ts';
import type { HttpClient, HttpResponse, HttpStreamResponse } from '../../http/types.ts';
import { classifyOnecResponse } from './errors.ts';
import { buildQuery, encodePath, type QueryOptions } from './query.ts';
import type { OnecSystemSettings } from './spec.ts';

/** A collection answer: `{"odata.metadata": …, "value": [...]}`. */
export interface OnecCollection {
  value: Array<Record<string, unknown>>;
}

/**
 * Transport of 1C's standard OData interface: service URL, Basic auth, JSON, 1C's errors.
 * Every request goes through the shared client (ctx.http), which owns timeouts, retries, rate
 * limits and the request log; this class only says what 1C's answers mean.
 */
export class OnecODataClient {
  constructor(
    private readonly http: HttpClient,
    private readonly systemName: string,
    private readonly settings: OnecSystemSettings,
    private readonly signal: AbortSignal | undefined,
  ) {}

  get serviceUrl(): string {
    return this.settings.serviceUrl;
  }

  /** Reads a page of a set or virtual table (`Catalog_X`, `AccumulationRegister_X/Balance()`). */
  async list(path: string, query: QueryOptions, entitySet: string): Promise<OnecCollection> {
    const what = `GET ${path}`;
    const response = await this.send('GET', path, query, undefined, {
      what,
      entitySet,
      phase: 'read',
      expect: 'json',
    });
    const body = this.json(response, what);
    const value = (body as { value?: unknown }).value;
    if (!Array.isArray(value)) {
      throw new ObmenError(
        'permanent',
        `${this.systemName}: the answer to ${what} has no "value" list; is the URL a 1C OData publication?`,
        { system: this.systemName, code: 'PROTOCOL', detail: response.text().slice(0, 300) },
      );
    }
    return { value: value as Array<Record<string, unknown>> };
  }

  /** POST (create) or PATCH (update) one object; returns the object as 1C stored it. */
  async save(
    method: 'POST' | 'PATCH',
    path: string,
    body: Record<string, unknown>,
    entitySet: string,
  ): Promise<Record<string, unknown>> {
    const what = `${method} ${path}`;
    const response = await this.send(method, path, {}, body, {
      what,
      entitySet,
      phase: 'write',
      expect: 'json',
    });
    if (response.status === 204 || response.body.length === 0) return {};
    return this.json(response, what) as Record<string, unknown>;
  }

  /** A bound action such as `Document_X(guid'…')/Post`; 1C may answer with an empty body. */
  async action(path: string, extra: Record<string, string>, entitySet: string): Promise<void> {
    await this.send('POST', path, { extra }, undefined, {
      what: `POST ${path}`,
      entitySet,
      phase: 'write',
      expect: 'any',
    });
  }

  /**
   * `$metadata` (XML; 1C has no JSON metadata) as a stream: real ones are 15 MB, and the shared
   * client hands the body over piece by piece instead of holding it.
   */
  async metadata(): Promise<HttpStreamResponse> {
    return this.http.stream({
      method: 'GET',
      url: `${this.settings.serviceUrl}/$metadata`,
      headers: this.headers('application/xml'),
      endpoint: 'GET $metadata',
      // Real $metadata is 15 MB and takes ~20 s to build on the 1C side.
      timeoutMs: 120_000,
      classify: (res) =>
        classifyOnecResponse(res, {
          system: this.systemName,
          what: 'GET $metadata',
          phase: 'check',
          expect: 'xml',
        }),
      signal: this.signal,
    });
  }

  /** The service root with auth, for check(): no retries, the caller wants the answer now. */
  async probe(): Promise<HttpResponse> {
    return this.http.request({
      method: 'GET',
      url: `${this.settings.serviceUrl}/${buildQuery()}`,
      headers: this.headers('application/json'),
      endpoint: 'GET service root',
      idempotent: false,
      classify: () => undefined,
      signal: this.signal,
    });
  }

  private async send(
    method: 'GET' | 'POST' | 'PATCH',
    path: string,
    query: QueryOptions,
    body: Record<string, unknown> | undefined,
    ctx: Omit<Parameters<typeof classifyOnecResponse>[1], 'system'>,
  ): Promise<HttpResponse> {
    return this.http.request({
      method,
      url: `${this.settings.serviceUrl}/${encodePath(path)}${buildQuery(query)}`,
      headers: this.headers('application/json'),
      ...(body === undefined ? {} : { json: body }),
      // The endpoint label keeps GUIDs out so request metrics group by set.
      endpoint: `${method} ${path.replace(/\(guid'[^']*'\)/g, '(…)')}`,
      classify: (res) => classifyOnecResponse(res, { ...ctx, system: this.systemName }),
      signal: this.signal,
    });
  }

  private headers(accept: string): Record<string, string> {
    return { accept, authorization: this.settings.authorization };
  }

  private json(response: HttpResponse, what: string): unknown {
    const text = response.text().replace(/^\uFEFF/, '');
    try {
      return JSON.parse(text);
    } catch (cause) {
      throw new ObmenError(
        'transient',
        `${this.systemName}: the answer to ${what} (HTTP ${response.status}) is not JSON; 1C or its web server ` +
          'sent something else (an error page?); it will be retried',
        { system: this.systemName, code: 'INVALID_JSON', detail: text.slice(0, 300), cause },
      );
    }
  }
}
