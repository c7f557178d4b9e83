/**
 * Failed-login counting per login and client address, in this process: ten wrong passwords
 * in fifteen minutes lock that pair out until the window passes. A lock on the login alone
 * would let anybody lock the admin out; a lock on the address alone would not stop a botnet
 * guessing one login slowly, which the scrypt cost already makes expensive.
 */
export interface LoginThrottle {
  /** Milliseconds until the pair may try again, or 0 when it may try now. */
  blockedFor(key: string, now: number): number;
  fail(key: string, now: number): void;
  succeed(key: string): void;
}

export function createLoginThrottle(maxFailures: number, windowMs: number): LoginThrottle {
  const failures = new Map<string, number[]>();
  const recent = (key: string, now: number) => {
    const times = (failures.get(key) ?? []).filter((t) => t > now - windowMs);
    if (times.length === 0) failures.delete(key);
    else failures.set(key, times);
    return times;
  };
  return {
    blockedFor(key, now) {
      const times = recent(key, now);
      if (times.length < maxFailures) return 0;
      return Math.max(1, times[times.length - maxFailures]! + windowMs - now);
    },
    fail(key, now) {
      const times = recent(key, now);
      times.push(now);
      failures.set(key, times);
      // Bound memory under a flood of random logins: the oldest keys go first.
      if (failures.size > 100_000) failures.delete(failures.keys().next().value as string);
    },
    succeed(key) {
      failures.delete(key);
    },
  };
}
