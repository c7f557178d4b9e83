/** One item of a write request as the target received it (the generic http protocol). */
export interface IncomingItem {
  id: string;
  externalId: string | null;
  version: number;
  hash: string;
  deleted: boolean;
  data: Record<string, unknown>;
}

/** Misbehaviour the emulator can be told to show, to test retries, limits and per-item errors. */
export interface Faults {
  /** Delay before every protocol answer. */
  latencyMs: number;
  /** Share (0..1) of protocol requests answered 503. */
  errorRate: number;
  /** Token bucket; a request finding it empty is answered 429 with Retry-After. */
  rateLimit?: { perSecond: number; burst: number };
  /** Returns a message to reject one item with a per-item permanent error. */
  rejectWhen?: (item: IncomingItem) => string | undefined;
  /** The next N protocol requests are answered 503, then the counter is spent. */
  failNextRequests: number;
}

export const DEFAULT_FAULTS: Faults = { latencyMs: 0, errorRate: 0, failNextRequests: 0 };

/** What the fault layer decided for one request. */
export type FaultVerdict =
  | { kind: 'pass' }
  | { kind: 'unavailable'; reason: string }
  | { kind: 'rate_limited'; retryAfterMs: number };

/**
 * Applies the configured faults in a fixed order (forced failures, then the rate limit, then
 * random errors) so a test that sets one fault is never surprised by another.
 */
export class FaultGate {
  private faults: Faults;
  private tokens = 0;
  private refilledAt = 0;

  constructor(
    faults: Partial<Faults> = {},
    private readonly now: () => number = Date.now,
    private readonly random: () => number = Math.random,
  ) {
    this.faults = { ...DEFAULT_FAULTS, ...faults };
    this.resetBucket();
  }

  get current(): Faults {
    return this.faults;
  }

  update(faults: Partial<Faults>): void {
    const limitChanged = 'rateLimit' in faults;
    this.faults = { ...this.faults, ...faults };
    if (limitChanged) this.resetBucket();
  }

  decide(): FaultVerdict {
    if (this.faults.failNextRequests > 0) {
      this.faults.failNextRequests--;
      return { kind: 'unavailable', reason: 'forced failure (failNextRequests)' };
    }
    const limit = this.faults.rateLimit;
    if (limit) {
      this.refill(limit);
      if (this.tokens < 1) {
        const retryAfterMs = Math.max(1, Math.ceil(((1 - this.tokens) / limit.perSecond) * 1000));
        return { kind: 'rate_limited', retryAfterMs };
      }
      this.tokens -= 1;
    }
    if (this.faults.errorRate > 0 && this.random() < this.faults.errorRate) {
      return { kind: 'unavailable', reason: 'random failure (errorRate)' };
    }
    return { kind: 'pass' };
  }

  private resetBucket(): void {
    this.tokens = this.faults.rateLimit?.burst ?? 0;
    this.refilledAt = this.now();
  }

  private refill(limit: { perSecond: number; burst: number }): void {
    const now = this.now();
    const elapsed = Math.max(0, now - this.refilledAt) / 1000;
    this.tokens = Math.min(limit.burst, this.tokens + elapsed * limit.perSecond);
    this.refilledAt = now;
  }
}
