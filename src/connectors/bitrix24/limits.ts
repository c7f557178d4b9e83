import type { LimitsConfig } from '../../config/schema.ts';
import type { Clock } from '../../core/clock.ts';
import { rateLimitedError } from '../../core/errors.ts';

/**
 * Bitrix24's documented leaky bucket (limits.md): 2/s burst 50, Enterprise 5/s burst 250 —
 * less a headroom of 2 in the burst. The portal measures arrival times, obmen send times: a
 * request delayed on the way arrives closer to the next one than it was sent, and with a full
 * bucket on both sides that alone earns a 503. Two requests of headroom absorb a second of such
 * jitter and cost nothing at the sustained rate.
 */
export const BURST_HEADROOM = 2;

/** The portal's documented request-rate limits for the plan, less the burst headroom. */
export function planLimits(plan: 'standard' | 'enterprise'): LimitsConfig {
  return plan === 'enterprise'
    ? { rate: '5/s', burst: 250 - BURST_HEADROOM }
    : { rate: '2/s', burst: 50 - BURST_HEADROOM };
}

/** Keep this much of the operating budget unused: the call that crosses the limit still runs long. */
const SAFETY_MS = 5_000;

/**
 * Per-method execution-time budget, fed from `time.operating` / `time.operating_reset_at` of
 * every answer (batch: from `result_time` per command). Bitrix24 blocks the method for this
 * app once the sum over 10 minutes passes the limit; obmen stops calling it just before and
 * reports rate_limited until the oldest minute drops out, so the engine reschedules instead of
 * earning 429s.
 */
export class OperatingBudget {
  private readonly methods = new Map<string, { operatingMs: number; resetAt: number }>();
  constructor(
    private readonly system: string,
    private readonly limitMs: number,
    private readonly clock: Clock,
  ) {}

  record(method: string, time: unknown): void {
    if (!time || typeof time !== 'object') return;
    const { operating, operating_reset_at: resetAt } = time as {
      operating?: unknown;
      operating_reset_at?: unknown;
    };
    if (typeof operating !== 'number') return;
    this.methods.set(method, {
      operatingMs: operating * 1000,
      resetAt: typeof resetAt === 'number' ? resetAt * 1000 : this.clock.now() + 600_000,
    });
  }

  /** Throws rate_limited when `method` is about to exhaust its budget. */
  check(method: string): void {
    const state = this.methods.get(method);
    if (!state) return;
    const now = this.clock.now();
    if (now >= state.resetAt) {
      this.methods.delete(method);
      return;
    }
    if (state.operatingMs >= this.limitMs - SAFETY_MS) {
      throw rateLimitedError(
        `${this.system}: Bitrix24 method ${method} used ${Math.round(state.operatingMs / 1000)} s of its ${this.limitMs / 1000} s per 10 min; waiting until ${new Date(state.resetAt).toISOString()}`,
        { system: this.system, code: 'OPERATION_TIME_LIMIT', retryAfterMs: state.resetAt - now },
      );
    }
  }

  /** Bitrix24 answered 429 for `method`: treat its budget as spent until the known reset. */
  markBlocked(method: string): void {
    const state = this.methods.get(method);
    this.methods.set(method, {
      operatingMs: this.limitMs,
      resetAt: state && state.resetAt > this.clock.now() ? state.resetAt : this.clock.now() + 60_000,
    });
  }

  /** The reset time Bitrix24 last reported for `method`, for a 429 without one. */
  retryAfterMs(method: string): number {
    const state = this.methods.get(method);
    return state ? Math.max(1000, state.resetAt - this.clock.now()) : 60_000;
  }
}
