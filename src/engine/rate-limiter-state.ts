import type { LimitsConfig } from '../config/schema.ts';
import { hostTimezone, isValidTime, parseDuration } from '../config/units.ts';
import { configError } from '../core/errors.ts';

/**
 * The pure arithmetic of the rate limiter: which rate applies now, and what taking a token or
 * recording a duration does to the shared bucket. No I/O here, so the same code runs inside a
 * database transaction or on in-memory state, and tests can drive it with exact times.
 */

/** The persisted bucket of one system (mirrors table rate_limits). */
export interface Bucket {
  tokens: number;
  refilledAt: number;
  blockedUntil: number;
  budgetUsedMs: number;
  /** 0 while no budget window is open (it opens at the first recorded use). */
  budgetWindowStart: number;
}

/** The rate in force at one moment. */
export interface Policy {
  count: number;
  perMs: number;
  burst: number;
  /** "09:00-21:00" when a time-of-day window applies. */
  window?: string;
  /** Ms until the policy may change (the next window boundary); undefined without windows. */
  untilChangeMs?: number;
}

/** Limits with every string already parsed. */
export interface CompiledLimits {
  base?: { count: number; perMs: number; burst: number };
  windows: { from: number; to: number; label: string; count: number; perMs: number; burst: number }[];
  budget?: { limitMs: number; perMs: number };
  /** The zone the windows are read in ('UTC', unused, when there are none). */
  timezone: string;
}

const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1000,
  sec: 1000,
  m: 60_000,
  min: 60_000,
  h: 3_600_000,
  hour: 3_600_000,
  d: 86_400_000,
  day: 86_400_000,
};

/** "2/s", "100/min", "500/h", "10/5s": requests per interval. */
export function parseRate(text: string): { count: number; perMs: number } {
  const match = /^\s*(\d+(?:\.\d+)?)\s*\/\s*(\d+(?:\.\d+)?)?\s*([a-z]+)\s*$/i.exec(text);
  const unit = match ? UNIT_MS[match[3]!.toLowerCase()] : undefined;
  const count = match ? Number(match[1]) : 0;
  const multiple = match?.[2] === undefined ? 1 : Number(match[2]);
  if (!match || unit === undefined || count <= 0 || multiple <= 0) {
    throw new Error(
      `rate "${text}" is not understood; write <count>/<interval> with interval s, sec, min, m, h, hour, d or day, ` +
        'e.g. "2/s", "100/min", "10/5s"',
    );
  }
  return { count, perMs: multiple * unit };
}

function minutesOf(hhmm: string, where: string): number {
  if (!isValidTime(hhmm)) throw configError(`${where}: "${hhmm}" is not a time; write "HH:MM", e.g. "09:00"`);
  const [h, m] = hhmm.split(':').map(Number);
  return h! * 60 + m!;
}

function rateOf(text: string, where: string): { count: number; perMs: number } {
  try {
    return parseRate(text);
  } catch (error) {
    throw configError(`${where}: ${(error as Error).message}`, { cause: error });
  }
}

/** Parses limits once; throws a config error naming the system and the field. */
export function compileLimits(system: string, limits: LimitsConfig | undefined): CompiledLimits {
  const where = `systems.${system}.limits`;
  // Only windows are read in a time zone. Without them none is looked up: the first use of
  // Intl.DateTimeFormat maps ~5 MB of ICU's data into the process (its RSS, for good).
  const zoned = limits?.timezone !== undefined || (limits?.windows?.length ?? 0) > 0;
  const timezone = limits?.timezone ?? (zoned ? hostTimezone() : 'UTC');
  if (zoned) {
    try {
      new Intl.DateTimeFormat('en-GB', { timeZone: timezone });
    } catch {
      throw configError(
        `${where}.timezone: "${timezone}" is not an IANA time zone; write e.g. "Europe/Moscow"`,
      );
    }
  }
  const compiled: CompiledLimits = { windows: [], timezone };
  if (limits?.rate) {
    const rate = rateOf(limits.rate, `${where}.rate`);
    compiled.base = { ...rate, burst: limits.burst ?? Math.max(1, Math.floor(rate.count)) };
  }
  for (const [i, window] of (limits?.windows ?? []).entries()) {
    const at = `${where}.windows[${i}]`;
    const rate = rateOf(window.rate, `${at}.rate`);
    compiled.windows.push({
      from: minutesOf(window.from, `${at}.from`),
      to: minutesOf(window.to, `${at}.to`),
      label: `${window.from}-${window.to}`,
      ...rate,
      burst: window.burst ?? Math.max(1, Math.floor(rate.count)),
    });
  }
  if (limits?.budget) {
    let perMs: number;
    try {
      perMs = parseDuration(limits.budget.per);
    } catch (error) {
      throw configError(`${where}.budget.per: ${(error as Error).message}`, { cause: error });
    }
    compiled.budget = { limitMs: limits.budget.seconds * 1000, perMs };
  }
  return compiled;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** Local time of day in `timezone` as ms since local midnight. */
export function localMsOfDay(now: number, timezone: string): number {
  let format = formatters.get(timezone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-GB', {
      timeZone: timezone,
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hourCycle: 'h23',
    });
    formatters.set(timezone, format);
  }
  const parts: Record<string, number> = {};
  for (const part of format.formatToParts(now)) parts[part.type] = Number(part.value);
  const ms = ((now % 1000) + 1000) % 1000;
  return ((parts['hour'] ?? 0) * 3600 + (parts['minute'] ?? 0) * 60 + (parts['second'] ?? 0)) * 1000 + ms;
}

const DAY_MS = 86_400_000;

function inWindow(minute: number, from: number, to: number): boolean {
  if (from === to) return true;
  return from < to ? minute >= from && minute < to : minute >= from || minute < to;
}

/** The rate in force at `now`; undefined when no rate limits this system. */
export function policyAt(limits: CompiledLimits, now: number): Policy | undefined {
  if (limits.windows.length === 0) return limits.base;
  const local = localMsOfDay(now, limits.timezone);
  const minute = Math.floor(local / 60_000);
  // Waiting for a token never sleeps past a boundary: the next rate may grant sooner.
  let untilChangeMs = DAY_MS;
  for (const w of limits.windows) {
    for (const boundary of [w.from, w.to]) {
      const delta = (boundary * 60_000 - local + DAY_MS) % DAY_MS || DAY_MS;
      untilChangeMs = Math.min(untilChangeMs, delta);
    }
  }
  const active = limits.windows.find((w) => inWindow(minute, w.from, w.to));
  if (active) {
    return {
      count: active.count,
      perMs: active.perMs,
      burst: active.burst,
      window: active.label,
      untilChangeMs,
    };
  }
  return limits.base ? { ...limits.base, untilChangeMs } : { count: 0, perMs: 0, burst: 0, untilChangeMs };
}

/** A bucket that has never been used: full, unblocked, no budget window open. */
export function freshBucket(policy: Policy | undefined, now: number): Bucket {
  return {
    tokens: policy?.burst ?? 0,
    refilledAt: now,
    blockedUntil: 0,
    budgetUsedMs: 0,
    budgetWindowStart: 0,
  };
}

/**
 * Tokens added since the last refill, each stretch at the rate that was in force then (so the
 * minute before 21:00 refills at the day rate), capped at the burst of each stretch.
 */
export function refill(bucket: Bucket, limits: CompiledLimits, now: number): Bucket {
  let tokens = bucket.tokens;
  let from = bucket.refilledAt;
  // Past a few boundaries (an idle day) the bucket is full anyway.
  for (let stretch = 0; from < now && stretch < 6; stretch++) {
    const policy = policyAt(limits, from);
    const to = policy?.untilChangeMs === undefined ? now : Math.min(now, from + policy.untilChangeMs);
    if (policy && policy.count > 0)
      tokens = Math.min(policy.burst, tokens + ((to - from) * policy.count) / policy.perMs);
    from = to;
  }
  const current = policyAt(limits, now);
  const burst = current?.burst ?? 0;
  tokens = from < now ? burst : Math.min(burst, tokens);
  return { ...bucket, tokens, refilledAt: Math.max(now, bucket.refilledAt) };
}

/** Closes a budget window that has run its length. */
export function rollBudget(bucket: Bucket, limits: CompiledLimits, now: number): Bucket {
  if (!limits.budget || bucket.budgetWindowStart === 0) return bucket;
  if (now < bucket.budgetWindowStart + limits.budget.perMs) return bucket;
  return { ...bucket, budgetUsedMs: 0, budgetWindowStart: 0 };
}

// Floating-point refill (e.g. 3 × 1/3) must not make a due token wait one more millisecond.
const EPSILON = 1e-9;

/**
 * Tries to take one token. Returns the new bucket and 0 when granted, or the unchanged-in-
 * meaning bucket and how long to wait before trying again.
 */
export function take(
  bucket: Bucket,
  limits: CompiledLimits,
  now: number,
): { bucket: Bucket; waitMs: number } {
  if (bucket.blockedUntil > now) return { bucket, waitMs: bucket.blockedUntil - now };
  let next = rollBudget(bucket, limits, now);
  if (limits.budget && next.budgetUsedMs >= limits.budget.limitMs) {
    return { bucket: next, waitMs: next.budgetWindowStart + limits.budget.perMs - now };
  }
  const policy = policyAt(limits, now);
  next = refill(next, limits, now);
  if (!policy || policy.count === 0) {
    // Outside every window with no base rate: nothing limits this moment.
    return { bucket: next, waitMs: 0 };
  }
  if (next.tokens >= 1 - EPSILON) {
    return { bucket: { ...next, tokens: Math.max(0, next.tokens - 1) }, waitMs: 0 };
  }
  const dueMs = Math.ceil(((1 - next.tokens) * policy.perMs) / policy.count);
  return { bucket: next, waitMs: Math.max(1, Math.min(dueMs, policy.untilChangeMs ?? dueMs)) };
}

/** Adds a finished request's execution time to the budget window (opening one if none is open). */
export function addDuration(bucket: Bucket, limits: CompiledLimits, ms: number, now: number): Bucket {
  if (!limits.budget) return bucket;
  const rolled = rollBudget(bucket, limits, now);
  return {
    ...rolled,
    budgetUsedMs: rolled.budgetUsedMs + ms,
    budgetWindowStart: rolled.budgetWindowStart === 0 ? now : rolled.budgetWindowStart,
  };
}
