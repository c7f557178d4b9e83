import type { ObmenError } from '../core/errors.ts';

/** One outbound request through the shared client. */
export interface HttpRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'HEAD';
  url: string;
  headers?: Record<string, string>;
  query?: Record<string, string | number | boolean | undefined>;
  /** Sent as application/json. */
  json?: unknown;
  body?: string | Uint8Array;
  /** Overrides the system's timeout. */
  timeoutMs?: number;
  /** Short label for the request log and metrics, e.g. "crm.deal.add" (defaults to the path). */
  endpoint?: string;
  /** Only idempotent requests are retried by the client itself on transient errors. */
  idempotent?: boolean;
  /**
   * Connector-specific classification of a response (Bitrix24's 503 QUERY_LIMIT_EXCEEDED,
   * 1C's HTTP 500 business errors). Return undefined to accept the response as success.
   */
  classify?: (response: HttpResponse) => ObmenError | undefined;
  signal?: AbortSignal;
}

export interface HttpResponse {
  status: number;
  headers: Headers;
  /** Raw body bytes. */
  body: Uint8Array;
  /** Body decoded as UTF-8. */
  text(): string;
  json<T = unknown>(): T;
  durationMs: number;
}

/** The one shared outbound HTTP client: timeouts, retries, limits, request log. */
export interface HttpClient {
  request(request: HttpRequest): Promise<HttpResponse>;
}
