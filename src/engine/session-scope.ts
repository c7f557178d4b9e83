import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * The exchange session the current async work belongs to, so the shared HTTP client can stamp
 * every request-log row with it (the dashboard shows a session's requests) without threading a
 * session id through every connector call.
 */
const scope = new AsyncLocalStorage<number>();

/** Runs `fn` with `sessionId` as the current session for everything it awaits. */
export function inSession<T>(sessionId: number, fn: () => Promise<T>): Promise<T> {
  return scope.run(sessionId, fn);
}

/** The session of the calling async context, or undefined outside any session. */
export function currentSessionId(): number | undefined {
  return scope.getStore();
}
