import type { Logger } from 'pino';
import { type Clock, systemClock } from '../core/clock.ts';
import { classify, classifyHttpStatus, ObmenError, parseRetryAfter, transientError } from '../core/errors.ts';
import type { RateLimiter } from '../engine/rate-limiter.ts';
import { backoffDelay as retryBackoff } from '../engine/retry-policy.ts';
import type { Store } from '../store/store.ts';
import { ConcurrencyLimit } from './concurrency.ts';
import { redactText, redactUrl } from './redact.ts';
import {
  DEFAULT_MAX_LOGGED_BODY,
  formatBodyForLog,
  formatStreamedBodyForLog,
  streamedHeadBytes,
  writeRequestLog,
} from './request-log.ts';
import { StreamedBody } from './streamed-body.ts';
import type { HttpClient, HttpRequest, HttpResponse, HttpStreamResponse } from './types.ts';

export interface HttpClientOptions {
  /** System name (logs, errors). */
  system: string;
  /** Request log destination (table request_log); omit → no log. */
  store?: Store;
  /** acquire() before every attempt, recordDuration() after. */
  limiter?: RateLimiter;
  /** `limits.concurrency`: requests in flight at once through this client (this process). */
  concurrency?: number;
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

/** What one attempt produced: a response, an error, or both (an error response); or a stream. */
interface AttemptResult {
  response?: HttpResponse;
  error?: ObmenError;
  stream?: HttpStreamResponse;
}

/** Bytes of a streamed 2xx body read before it is classified (an HTML error page shows in them). */
const STREAM_PEEK_BYTES = 1024;

export function createHttpClient(options: HttpClientOptions): HttpClient {
  const { system, store, limiter } = options;
  const clock = options.clock ?? systemClock;
  const maxRetries = options.maxRetries ?? 3;
  const baseDelayMs = options.baseDelayMs ?? 500;
  const secrets = options.secrets ?? [];
  const maxLoggedBody = options.maxLoggedBody ?? DEFAULT_MAX_LOGGED_BODY;
  const fetchImpl = options.fetchImpl ?? fetch;
  const random = options.random ?? Math.random;
  const slots = options.concurrency ? new ConcurrencyLimit(options.concurrency) : undefined;

  async function attempt(
    req: HttpRequest,
    url: string,
    endpoint: string,
    basic: string | undefined,
    wantStream: boolean,
    release: () => void,
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
    const failed = (caught: unknown) => networkError(caught, req, endpoint, timeoutMs, timeout.aborted);
    const finish = async (result: AttemptResult, loggedBody?: string | null) => {
      const durationMs = performance.now() - started;
      await log(req, url, headers.get('content-type'), body, at, durationMs, result, loggedBody);
      // Only time the system spent answering counts against an execution-time budget.
      if (limiter && result.response) await limiter.recordDuration(durationMs);
    };
    let res: Response;
    try {
      res = await fetchImpl(target, {
        method: req.method,
        headers,
        body: body as RequestInit['body'],
        signal,
        // Connectors handle redirects themselves (a moved Bitrix24 portal answers 302).
        redirect: 'manual',
      });
    } catch (caught) {
      const result = { error: failed(caught) };
      await finish(result);
      return result;
    }
    const success = res.status >= 200 && res.status < 300;
    if (!wantStream || !success || !res.body) {
      let result: AttemptResult;
      try {
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
        result = { error: failed(caught) };
      }
      await finish(result);
      return result;
    }

    // Streamed: classify on the first bytes, then hand the rest over as it arrives. Only the
    // first bytes are kept for the request log; its row is written when the body ends.
    let streamed: StreamedBody;
    try {
      streamed = await StreamedBody.open(
        res.body.getReader(),
        streamedHeadBytes(maxLoggedBody),
        STREAM_PEEK_BYTES,
      );
    } catch (caught) {
      const result = { error: failed(caught) };
      await finish(result);
      return result;
    }
    const contentType = res.headers.get('content-type');
    const logged = () =>
      formatStreamedBodyForLog(streamed.head(), streamed.total, contentType, secrets, maxLoggedBody);
    const response = makeResponse(
      res.status,
      res.headers,
      streamed.head(),
      performance.now() - started,
      endpoint,
      req,
    );
    const error = classifyResponse(req, response, endpoint);
    if (error) {
      await streamed.discard();
      const result = { response, error };
      await finish(result, logged());
      return result;
    }
    const handedOver = streamed.toResponse(res.status, res.headers, signal, failed, async (failure) => {
      try {
        await finish({ response, ...(failure ? { error: failure } : {}) }, logged());
      } finally {
        release();
      }
    });
    return { stream: handedOver };
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
    /** The response body as already formatted for the log (a streamed one). */
    loggedBody?: string | null,
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
        responseBody:
          loggedBody !== undefined
            ? loggedBody
            : response
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

  async function send(req: HttpRequest, wantStream: boolean): Promise<AttemptResult> {
    const { url, basic } = buildUrl(req);
    const endpoint = req.endpoint ?? redactUrl(new URL(url).pathname, secrets);
    const idempotent = req.idempotent ?? IDEMPOTENT_METHODS.has(req.method);
    for (let retry = 0; ; retry++) {
      // The slot first, then the rate limiter: a token taken while waiting for a slot would
      // let requests leave closer together than the rate allows.
      const release = slots ? await slots.acquire(req.signal) : () => {};
      let result: AttemptResult | undefined;
      try {
        if (limiter) await limiter.acquire(req.signal);
        result = await attempt(req, url, endpoint, basic, wantStream, release);
      } finally {
        // A streamed body keeps its slot until it ends.
        if (!result?.stream) release();
      }
      if (result.stream || (!result.error && result.response)) return result;
      const failure =
        result.error ?? transientError(`${system}: ${req.method} ${endpoint} gave no answer`, { system });
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

  return {
    async request(req) {
      return (await send(req, false)).response!;
    },
    async stream(req) {
      const result = await send(req, true);
      if (result.stream) return result.stream;
      // A 2xx without a body (204), or a non-2xx the request's classify accepted: one piece.
      const response = result.response!;
      return {
        status: response.status,
        headers: response.headers,
        body: (async function* () {
          if (response.body.byteLength > 0) yield response.body;
        })(),
        cancel: async () => {},
      };
    },
  };
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
