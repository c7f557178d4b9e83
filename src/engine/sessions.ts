import type { Store } from '../store/store.ts';

/** Outcome of one exchange session; `running` until finishSession (or failStaleSessions) ends it. */
export type SessionStatus = 'running' | 'ok' | 'partial' | 'failed';

/** Per-session counters, e.g. read, ingested, unchanged, delivered, failed, skipped, waiting. */
export interface SessionCounts {
  [k: string]: number;
}

export type SessionKind = 'pull' | 'deliver' | 'exchange' | 'replay';

/** Error text written when a session's process stopped before finishing it. */
export const INTERRUPTED_ERROR = 'interrupted (process stopped)';

// A session error is shown in the dashboard and API lists; a multi-megabyte stack or response
// body there helps nobody, and the full detail is in the request log.
const MAX_ERROR_LENGTH = 4000;

/** Records the start of one pull/delivery/exchange/replay run; returns the session id. */
export async function startSession(
  store: Store,
  s: { kind: SessionKind; system?: string; name: string; owner?: string },
  now: number = Date.now(),
): Promise<number> {
  const row = await store.db
    .insertInto('sessions')
    .values({
      kind: s.kind,
      system: s.system ?? null,
      name: s.name,
      owner: s.owner ?? null,
      started_at: now,
      finished_at: null,
      status: 'running',
      counts: '{}',
      error: null,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return Number(row.id);
}

/**
 * Ends a session with its outcome. A session that failStaleSessions already marked as
 * interrupted is overwritten: its process was alive after all, and the real outcome is better.
 */
export async function finishSession(
  store: Store,
  id: number,
  r: { status: SessionStatus; counts: SessionCounts; error?: string },
  now: number = Date.now(),
): Promise<void> {
  await store.db
    .updateTable('sessions')
    .set({
      status: r.status,
      counts: JSON.stringify(r.counts),
      error: r.error === undefined ? null : truncate(r.error),
      finished_at: r.status === 'running' ? null : now,
    })
    .where('id', '=', id)
    .execute();
}

/**
 * Marks `running` sessions started before `olderThan` (epoch ms) as failed with
 * "interrupted (process stopped)": their owner died without finishing them, and left running
 * they would read as "still in progress" forever. Callers pass their own start time at boot
 * (a single process cannot have a live session from before it started) or now minus a bound
 * longer than any healthy session; `aliveOwners` keeps sessions of processes known to be alive.
 * Returns how many sessions were marked.
 */
export async function failStaleSessions(
  store: Store,
  olderThan: number,
  options: { aliveOwners?: readonly string[]; now?: number } = {},
): Promise<number> {
  let query = store.db
    .updateTable('sessions')
    .set({ status: 'failed', error: INTERRUPTED_ERROR, finished_at: options.now ?? Date.now() })
    .where('status', '=', 'running')
    .where('started_at', '<', olderThan);
  const alive = options.aliveOwners ?? [];
  if (alive.length > 0) {
    query = query.where((eb) => eb.or([eb('owner', 'is', null), eb('owner', 'not in', alive)]));
  }
  const result = await query.executeTakeFirst();
  return Number(result.numUpdatedRows);
}

/** Parses the stored counts JSON; a corrupt value reads as no counts rather than failing a listing. */
export function parseCounts(text: string): SessionCounts {
  try {
    const value = JSON.parse(text) as unknown;
    return value && typeof value === 'object' && !Array.isArray(value) ? (value as SessionCounts) : {};
  } catch {
    return {};
  }
}

function truncate(text: string): string {
  return text.length > MAX_ERROR_LENGTH ? `${text.slice(0, MAX_ERROR_LENGTH)}…` : text;
}
