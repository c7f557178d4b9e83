import type { ObmenError } from '../core/errors.ts';

/** Retry settings in milliseconds (parsed from config.retry). */
export interface RetryPolicy {
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

/** What the engine does with an outbox row after a failed attempt. */
export type RetryDecision =
  | { action: 'retry'; attempts: number; nextAttemptAt: number }
  | { action: 'park'; attempts: number };

/** How long a rate-limited item waits when the system gave no Retry-After. */
export const DEFAULT_RATE_LIMIT_WAIT_MS = 1000;

/**
 * Capped exponential backoff with "equal jitter": half the delay is fixed, half random, so
 * many rows failing together do not come back at the same instant.
 */
export function backoffDelay(
  policy: RetryPolicy,
  attempts: number,
  random: () => number = Math.random,
): number {
  const exponent = Math.max(0, attempts - 1);
  const capped = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.min(exponent, 30));
  return Math.round(capped / 2 + (capped / 2) * random());
}

/**
 * The single place that decides what happens after a failure:
 * rate-limited → wait as told, the attempt is not counted;
 * transient → retry with backoff until maxAttempts, then park;
 * auth → park: the engine already refreshed the credentials and repeated the write once
 *   (auth-refresh.ts turns what is left into a config error naming the system), so the same
 *   credentials would only be refused again;
 * permanent / config → park at once (retrying the same data cannot help).
 */
export function decideRetry(
  policy: RetryPolicy,
  error: ObmenError,
  attemptsSoFar: number,
  now: number,
  random: () => number = Math.random,
): RetryDecision {
  switch (error.errorClass) {
    case 'rate_limited':
      return {
        action: 'retry',
        attempts: attemptsSoFar,
        nextAttemptAt: now + (error.retryAfterMs ?? DEFAULT_RATE_LIMIT_WAIT_MS),
      };
    case 'transient': {
      const attempts = attemptsSoFar + 1;
      if (attempts >= policy.maxAttempts) return { action: 'park', attempts };
      return { action: 'retry', attempts, nextAttemptAt: now + backoffDelay(policy, attempts, random) };
    }
    default:
      return { action: 'park', attempts: attemptsSoFar + 1 };
  }
}
