/**
 * The one error taxonomy. Every failure anywhere in obmen is classified once, here, into a
 * class that decides what the engine does next:
 *  - transient:     network trouble, 5xx, timeouts → retry with capped exponential backoff
 *  - rate_limited:  the system said "slow down" → wait as told, never counts as an attempt
 *  - auth_refresh:  credentials expired → refresh them and retry once
 *  - permanent:     the data is wrong for the target (validation, missing reference) → park
 *  - config:        obmen is set up wrongly (bad URL, bad credentials, no route) → park
 *
 * `message` is for people (it names the object, the system, the field and what to do);
 * `detail` is for logs and developers.
 */
export type ErrorClass = 'transient' | 'rate_limited' | 'auth_refresh' | 'permanent' | 'config';

export const ERROR_CLASSES: readonly ErrorClass[] = [
  'transient',
  'rate_limited',
  'auth_refresh',
  'permanent',
  'config',
];

export interface ObmenErrorOptions {
  /** Machine-readable code, e.g. the remote system's own error code. */
  code?: string;
  /** How long the system asked us to wait (rate_limited). */
  retryAfterMs?: number;
  /** Which system the error came from. */
  system?: string;
  /** Technical detail for logs (never shown as the headline). */
  detail?: string;
  cause?: unknown;
}

export class ObmenError extends Error {
  readonly errorClass: ErrorClass;
  readonly code: string | undefined;
  readonly retryAfterMs: number | undefined;
  readonly system: string | undefined;
  readonly detail: string | undefined;

  constructor(errorClass: ErrorClass, message: string, options: ObmenErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ObmenError';
    this.errorClass = errorClass;
    this.code = options.code;
    this.retryAfterMs = options.retryAfterMs;
    this.system = options.system;
    this.detail = options.detail;
  }

  /** Whether the engine may try the same operation again automatically. */
  get retryable(): boolean {
    return (
      this.errorClass === 'transient' ||
      this.errorClass === 'rate_limited' ||
      this.errorClass === 'auth_refresh'
    );
  }
}

export const transientError = (message: string, options?: ObmenErrorOptions) =>
  new ObmenError('transient', message, options);
export const rateLimitedError = (message: string, options?: ObmenErrorOptions) =>
  new ObmenError('rate_limited', message, options);
export const permanentError = (message: string, options?: ObmenErrorOptions) =>
  new ObmenError('permanent', message, options);
export const configError = (message: string, options?: ObmenErrorOptions) =>
  new ObmenError('config', message, options);
export const authRefreshError = (message: string, options?: ObmenErrorOptions) =>
  new ObmenError('auth_refresh', message, options);

/** Node's network error codes that mean "try again later". */
const TRANSIENT_NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ECONNABORTED',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CLOSED',
]);

function networkCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current && typeof current === 'object'; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && TRANSIENT_NETWORK_CODES.has(code)) return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/**
 * Turns anything thrown into an ObmenError. Unknown errors are treated as transient on the
 * network and as permanent otherwise: a bug in a mapping must not be retried forever.
 */
export function classify(error: unknown, system?: string): ObmenError {
  if (error instanceof ObmenError) return error;
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) {
    return transientError(`${system ? `${system}: ` : ''}request timed out`, { system, cause: error });
  }
  const code = networkCode(error);
  if (code) {
    return transientError(`${system ? `${system}: ` : ''}network error ${code}`, {
      system,
      code,
      cause: error,
    });
  }
  const text = error instanceof Error ? error.message : String(error);
  return permanentError(text, { system, cause: error });
}

/**
 * Default meaning of an HTTP status; a connector may override it (Bitrix24 uses 503 for
 * rate limits, 1C uses 500 for business errors).
 */
export function classifyHttpStatus(status: number): ErrorClass | undefined {
  if (status < 400) return undefined;
  if (status === 429) return 'rate_limited';
  if (status === 401) return 'auth_refresh';
  if (status === 403) return 'config';
  if (status === 408 || status === 425) return 'transient';
  if (status >= 500) return 'transient';
  return 'permanent';
}

/** Parses a Retry-After header (seconds or HTTP date) into milliseconds. */
export function parseRetryAfter(
  value: string | null | undefined,
  now: number = Date.now(),
): number | undefined {
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  if (Number.isFinite(date)) return Math.max(0, date - now);
  return undefined;
}
