/** Splits a list so that no statement exceeds the database's bound-parameter limit. */
export function chunk<T>(items: readonly T[], size: number): T[][] {
  const result: T[][] = [];
  for (let i = 0; i < items.length; i += size) result.push(items.slice(i, i + size));
  return result;
}

/**
 * Lets the event loop run timers and I/O. On SQLite every query is synchronous and an awaited
 * chain of them never leaves the microtask queue, so without this an import or a drain holds
 * the API (same process) unanswered until it ends.
 */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
