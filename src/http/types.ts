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

/**
 * A response whose body is handed over as it arrives (`HttpClient.stream`), for answers too big
 * to hold (1C's $metadata is 15 MB). Read `body` to the end, or `cancel()`: until then the
 * request keeps its concurrency slot, and its request-log row (status, duration, size and the
 * first bytes) is written when the body ends.
 */
export interface HttpStreamResponse {
  status: number;
  headers: Headers;
  /** The body in the pieces the network delivers; iterate it once. */
  body: AsyncIterable<Uint8Array>;
  /** Stops reading (the rest is discarded); safe to call after the end. */
  cancel(): Promise<void>;
}

/** The one shared outbound HTTP client: timeouts, retries, limits, request log. */
export interface HttpClient {
  request(request: HttpRequest): Promise<HttpResponse>;
  /**
   * Like request(), but a 2xx body is not buffered: it streams to the caller. Retries and
   * classification happen before the body is handed over; `classify` then sees the status,
   * the headers and the first bytes of the body (other statuses: the whole, small, body).
   * Errors while the body streams (a reset, the timeout) are thrown by the iteration.
   */
  stream(request: HttpRequest): Promise<HttpStreamResponse>;
}
