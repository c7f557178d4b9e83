import type { Logger } from 'pino';
import { type Clock, systemClock } from '../core/clock.ts';
import { classify, classifyHttpStatus, ObmenError, parseRetryAfter, transientError } from '../core/errors.ts';
import type { RateLimiter } from '../engine/rate-limiter.ts';
import { backoffDelay as retryBackoff } from '../engine/retry-policy.ts';
import type { Store } from '../store/store.ts';
import { redactText, redactUrl } from './redact.ts';
import { DEFAULT_MAX_LOGGED_BODY, formatBodyForLog, writeRequestLog } from './request-log.ts';
import type { HttpClient, HttpRequest, HttpResponse } from './types.ts';

export interface HttpClientOptions {
  /** System name (logs, errors). */
  system: string;
  /** Request log destination (table request_log); omit → no log. */
  store?: Store;
  /** acquire() before every attempt, recordDuration() after. */
  limiter?: RateLimiter;
  clock?: Clock;
  /** Default 30000. */
  timeoutMs?: number;
  /** Default 3; only idempotent requests are retried, and only on transient errors. */
  maxRetries?: number;
  /** Default 500: capped exponential backoff with jitter, at most MAX_BACKOFF_MS. */
  baseDelayMs?: number;
  /** Literal values to redact wherever they appear (URLs, headers, bodies). */
  secrets?: string[];
  /** Default 8192 chars; longer bodies are truncated with a marker. */
  maxLoggedBody?: number;
  /** Current exchange session, stored in request_log.session_id. */
  sessionId?: () => number | undefined;
  /** Default global fetch. */
  fetchImpl?: typeof fetch;
  /** Where a failed request-log write is reported (it never fails the request). */
  logger?: Pick<Logger, 'warn'>;
  /** Jitter source, for tests that pin the backoff. */
  random?: () => number;
}

export const DEFAULT_TIMEOUT_MS = 30_000;
export const MAX_BACKOFF_MS = 10_000;
const IDEMPOTENT_METHODS = new Set(['GET', 'HEAD', 'PUT', 'DELETE']);
const ERROR_BODY_CHARS = 300;

/**
 * Delay before retry number `attempt` (0-based) of one request. The formula is the engine's
 * (capped exponential with equal jitter, `engine/retry-policy.ts`), capped lower here because
 * the request is still waiting for its answer.
 */
export function backoffDelay(
  attempt: number,
  baseDelayMs: number,
  random: () => number = Math.random,
): number {
  return retryBackoff(
    { maxAttempts: Number.POSITIVE_INFINITY, baseDelayMs, maxDelayMs: MAX_BACKOFF_MS },
    attempt + 1,
    random,
  );
}

/** What one attempt produced: a response, an error, or both (an error response). */
interface AttemptResult {
  response?: HttpResponse;
  error?: ObmenError;
}

export function createHttpClient(options: HttpClientOptions): HttpClient {
  const { system, store, limiter } = options;
  const clock = options.clock ?? systemClock;
  const maxRetries = options.maxRetries ?? 3;
  const baseDelayMs = options.baseDelayMs ?? 500;
  const secrets = options.secrets ?? [];
  const maxLoggedBody = options.maxLoggedBody ?? DEFAULT_MAX_LOGGED_BODY;
  const fetchImpl = options.fetchImpl ?? fetch;
  const random = options.random ?? Math.random;

  async function attempt(
    req: HttpRequest,
    url: string,
    endpoint: string,
    basic?: string,
  ): Promise<AttemptResult> {
    const headers = new Headers(req.headers);
    if (basic && !headers.has('authorization')) headers.set('authorization', basic);
    const target = basic ? withoutCredentials(url) : url;
    let body: string | Uint8Array | undefined = req.body;
    if (req.json !== undefined) {
      body = JSON.stringify(req.json);
      if (!headers.has('content-type')) headers.set('content-type', 'application/json');
    }
    const timeoutMs = req.timeoutMs ?? options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = req.signal ? AbortSignal.any([timeout, req.signal]) : timeout;
    const at = clock.now();
    const started = performance.now();
    let result: AttemptResult;
    try {
      const res = await fetchImpl(target, {
        method: req.method,
        headers,
        body: body as RequestInit['body'],
        signal,
        // Connectors handle redirects themselves (a moved Bitrix24 portal answers 302).
        redirect: 'manual',
      });
      const bytes = new Uint8Array(await res.arrayBuffer());
      const response = makeResponse(
        res.status,
        res.headers,
        bytes,
        performance.now() - started,
        endpoint,
        req,
      );
      result = { response, error: classifyResponse(req, response, endpoint) };
    } catch (caught) {
      result = { error: networkError(caught, req, endpoint, timeoutMs, timeout.aborted) };
    }
    const durationMs = performance.now() - started;
    await log(req, url, headers.get('content-type'), body, at, durationMs, result);
    // Only time the system spent answering counts against an execution-time budget.
    if (limiter && result.response) await limiter.recordDuration(durationMs);
    return result;
  }

  function makeResponse(
    status: number,
    headers: Headers,
    body: Uint8Array,
    durationMs: number,
    endpoint: string,
    req: HttpRequest,
  ): HttpResponse {
    const text = () => new TextDecoder().decode(body);
    return {
      status,
      headers,
      body,
      durationMs,
      text,
      json<T>(): T {
        try {
          return JSON.parse(text()) as T;
        } catch (error) {
          throw new ObmenError(
            'permanent',
            `${system}: the answer to ${req.method} ${endpoint} (HTTP ${status}) is not JSON: ` +
              `${redactText(text().slice(0, ERROR_BODY_CHARS), secrets)}; check the URL points at the API`,
            { system, code: 'INVALID_JSON', cause: error },
          );
        }
      },
    };
  }

  function classifyResponse(
    req: HttpRequest,
    response: HttpResponse,
    endpoint: string,
  ): ObmenError | undefined {
    let error: ObmenError | undefined;
    if (req.classify) {
      error = req.classify(response);
    } else {
      const errorClass = classifyHttpStatus(response.status);
      if (errorClass) {
        const excerpt = redactText(response.text().slice(0, ERROR_BODY_CHARS), secrets);
        error = new ObmenError(
          errorClass,
          `${system}: HTTP ${response.status} from ${req.method} ${endpoint}: ${excerpt}`,
          { system, code: `HTTP_${response.status}` },
        );
      }
    }
    if (!error) return undefined;
    const retryAfterMs =
      error.retryAfterMs ?? parseRetryAfter(response.headers.get('retry-after'), clock.now());
    if (retryAfterMs === undefined || error.retryAfterMs !== undefined) return error;
    return new ObmenError(error.errorClass, error.message, {
      code: error.code,
      system: error.system ?? system,
      detail: error.detail,
      cause: error.cause,
      retryAfterMs,
    });
  }

  function networkError(
    caught: unknown,
    req: HttpRequest,
    endpoint: string,
    timeoutMs: number,
    timedOut: boolean,
  ): ObmenError {
    if (timedOut) {
      return transientError(
        `${system}: no answer to ${req.method} ${endpoint} within ${timeoutMs} ms; ` +
          'check the system is up, or raise limits.timeout',
        { system, code: 'TIMEOUT', cause: caught },
      );
    }
    if (req.signal?.aborted) {
      return transientError(`${system}: ${req.method} ${endpoint} was cancelled`, {
        system,
        code: 'CANCELLED',
        cause: caught,
      });
    }
    const base = classify(caught, system);
    const reason = base.code ?? (caught instanceof Error ? caught.message : String(caught));
    return new ObmenError(
      base.errorClass,
      `${system}: ${req.method} ${endpoint} failed: ${redactText(reason, secrets)}; check the URL and that the system is reachable`,
      { system, code: base.code, cause: caught },
    );
  }

  async function log(
    req: HttpRequest,
    url: string,
    requestType: string | null,
    body: string | Uint8Array | undefined,
    at: number,
    durationMs: number,
    result: AttemptResult,
  ): Promise<void> {
    if (!store) return;
    try {
      const response = result.response;
      await writeRequestLog(store, {
        at,
        system,
        method: req.method,
        url: redactUrl(url, secrets),
        status: response?.status ?? null,
        durationMs,
        requestBody: formatBodyForLog(body, requestType, secrets, maxLoggedBody),
        responseBody: response
          ? formatBodyForLog(response.body, response.headers.get('content-type'), secrets, maxLoggedBody)
          : null,
        error: result.error ? redactText(result.error.message, secrets) : null,
        sessionId: options.sessionId?.() ?? null,
      });
    } catch (error) {
      options.logger?.warn(
        { system, err: redactText(String(error), secrets) },
        'request log write failed; the request itself went on',
      );
    }
  }

  async function request(req: HttpRequest): Promise<HttpResponse> {
    const { url, basic } = buildUrl(req);
    const endpoint = req.endpoint ?? redactUrl(new URL(url).pathname, secrets);
    const idempotent = req.idempotent ?? IDEMPOTENT_METHODS.has(req.method);
    for (let retry = 0; ; retry++) {
      if (limiter) await limiter.acquire(req.signal);
      const { response, error } = await attempt(req, url, endpoint, basic);
      if (!error && response) return response;
      const failure =
        error ?? transientError(`${system}: ${req.method} ${endpoint} gave no answer`, { system });
      if (failure.errorClass === 'rate_limited') {
        // Everyone sharing this system's limiter must hold back, not only this caller.
        if (limiter && failure.retryAfterMs !== undefined)
          await limiter.blockUntil(clock.now() + failure.retryAfterMs);
        throw failure;
      }
      const canRetry =
        failure.errorClass === 'transient' && idempotent && retry < maxRetries && !req.signal?.aborted;
      if (!canRetry) throw failure;
      const delay = failure.retryAfterMs ?? backoffDelay(retry, baseDelayMs, random);
      // A system asking for a long pause is better served by the engine's rescheduling.
      if (delay > MAX_BACKOFF_MS) throw failure;
      await clock.sleep(delay, req.signal);
    }
  }

  return { request };
}

/** The URL to fetch, with the query appended; credentials in it become a Basic header (fetch refuses them). */
function buildUrl(req: HttpRequest): { url: string; basic?: string } {
  let url: URL;
  try {
    url = new URL(req.url);
  } catch (error) {
    throw new ObmenError(
      'config',
      `"${redactUrl(req.url)}" is not a valid URL; check the system's url setting`,
      {
        code: 'INVALID_URL',
        cause: error,
      },
    );
  }
  for (const [key, value] of Object.entries(req.query ?? {})) {
    if (value !== undefined) url.searchParams.append(key, String(value));
  }
  let basic: string | undefined;
  if (url.username || url.password) {
    const user = decodeURIComponent(url.username);
    const password = decodeURIComponent(url.password);
    basic = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
  }
  return { url: url.toString(), basic };
}

function withoutCredentials(url: string): string {
  const parsed = new URL(url);
  parsed.username = '';
  parsed.password = '';
  return parsed.toString();
}
