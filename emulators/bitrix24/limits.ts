/**
 * The two Bitrix24 limits (https://apidocs.bitrix24.com/limits.html):
 *  - a leaky bucket per portal: every request adds 1; above `burst` the request is refused with
 *    503 QUERY_LIMIT_EXCEEDED; the counter drains `rate` per second;
 *  - per method and per app/webhook, the execution time ("operating") summed over 10 one-minute
 *    baskets: once it exceeds the limit the NEXT call of that method gets 429
 *    OPERATION_TIME_LIMIT (the call that crosses it still completes).
 */
export interface LimitSettings {
  rate: number;
  burst: number;
  /** Execution time allowed per method per 10 minutes, ms (Bitrix24 example: 480 s). */
  operatingLimitMs: number;
}

export const STANDARD_LIMITS: LimitSettings = { rate: 2, burst: 50, operatingLimitMs: 480_000 };
export const ENTERPRISE_LIMITS: LimitSettings = { rate: 5, burst: 250, operatingLimitMs: 480_000 };

const WINDOW_MS = 600_000;
const BASKET_MS = 60_000;

export class LeakyBucket {
  private level = 0;
  private at: number;
  constructor(
    private readonly settings: () => LimitSettings,
    now: number,
  ) {
    this.at = now;
  }
  /** True when the request may run (and is counted). */
  admit(now: number): boolean {
    const { rate, burst } = this.settings();
    this.level = Math.max(0, this.level - ((now - this.at) / 1000) * rate);
    this.at = now;
    if (this.level + 1 > burst + 1e-9) return false;
    this.level += 1;
    return true;
  }
  current(): number {
    return this.level;
  }
}

interface Basket {
  start: number;
  ms: number;
}

/** Operating time of one method for one app/webhook. */
export class OperatingMeter {
  private readonly baskets = new Map<string, Basket[]>();
  constructor(private readonly settings: () => LimitSettings) {}

  private live(key: string, now: number): Basket[] {
    const list = (this.baskets.get(key) ?? []).filter((b) => b.start + WINDOW_MS > now);
    this.baskets.set(key, list);
    return list;
  }
  /** Seconds used and the unix time (s) the oldest basket drops out. */
  state(key: string, now: number): { operating: number; resetAt: number } {
    const list = this.live(key, now);
    const used = list.reduce((sum, b) => sum + b.ms, 0);
    const oldest = list[0]?.start ?? now;
    return { operating: used / 1000, resetAt: Math.ceil((oldest + WINDOW_MS) / 1000) };
  }
  blocked(key: string, now: number): boolean {
    return this.state(key, now).operating * 1000 > this.settings().operatingLimitMs;
  }
  add(key: string, ms: number, now: number): void {
    const list = this.live(key, now);
    const last = list[list.length - 1];
    if (last && now - last.start < BASKET_MS) last.ms += ms;
    else list.push({ start: now, ms });
  }
}
