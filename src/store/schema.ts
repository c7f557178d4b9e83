import type { Generated } from 'kysely';

/**
 * Table shapes for Kysely. Times are epoch milliseconds (bigint in PostgreSQL, integer in
 * SQLite); JSON is stored as text on both, so the two databases behave the same.
 */
export interface RecordsTable {
  entity: string;
  id: string;
  version: number;
  hash: string;
  data: string;
  origin: string;
  deleted: number;
  source_updated_at: number | null;
  created_at: number;
  updated_at: number;
}

export interface RecordHistoryTable {
  entity: string;
  id: string;
  version: number;
  hash: string;
  data: string;
  origin: string;
  deleted: number;
  changed_at: number;
}

export interface LinksTable {
  entity: string;
  record_id: string;
  system: string;
  external_id: string;
  /** Hash of the content this system is known to hold (written by us or read from it). */
  last_hash: string | null;
  updated_at: number;
}

export type OutboxState = 'pending' | 'in_flight' | 'delivered' | 'failed' | 'waiting';

export interface OutboxTable {
  route: string;
  record_id: string;
  entity: string;
  state: OutboxState;
  /** Latest record version that should reach the target. */
  want_version: number;
  attempts: number;
  next_attempt_at: number;
  lease_owner: string | null;
  lease_expires_at: number | null;
  /** Version being delivered by the current lease holder. */
  lease_version: number | null;
  last_error: string | null;
  last_error_class: string | null;
  /** JSON list of "entity:recordId" this row waits for (state waiting). */
  waiting_for: string | null;
  /** Resend even if the target already holds this hash (replay). */
  force: number;
  delivered_hash: string | null;
  delivered_version: number | null;
  delivered_at: number | null;
  created_at: number;
  updated_at: number;
}

export interface InboxTable {
  id: Generated<number>;
  system: string;
  kind: string;
  received_at: number;
  headers: string | null;
  payload: string;
  state: 'received' | 'processed' | 'failed';
  processed_at: number | null;
  error: string | null;
}

export interface SessionsTable {
  id: Generated<number>;
  kind: string;
  system: string | null;
  name: string;
  owner: string | null;
  started_at: number;
  finished_at: number | null;
  status: 'running' | 'ok' | 'partial' | 'failed';
  counts: string;
  error: string | null;
}

export interface RequestLogTable {
  id: Generated<number>;
  at: number;
  system: string;
  method: string;
  url: string;
  status: number | null;
  duration_ms: number;
  request_body: string | null;
  response_body: string | null;
  error: string | null;
  session_id: number | null;
}

export interface JobsTable {
  id: Generated<number>;
  name: string;
  kind: string;
  payload: string;
  state: 'queued' | 'running' | 'done' | 'failed';
  run_after: number;
  lease_owner: string | null;
  lease_expires_at: number | null;
  attempts: number;
  last_error: string | null;
  created_at: number;
  finished_at: number | null;
}

export interface SchedulesTable {
  name: string;
  next_run_at: number;
  last_run_at: number | null;
}

export interface LocksTable {
  name: string;
  owner: string;
  expires_at: number;
}

export interface RateLimitsTable {
  system: string;
  tokens: number;
  refilled_at: number;
  blocked_until: number;
  budget_used_ms: number;
  budget_window_start: number;
}

export interface CursorsTable {
  source: string;
  value: string;
  updated_at: number;
}

export interface Database {
  records: RecordsTable;
  record_history: RecordHistoryTable;
  links: LinksTable;
  outbox: OutboxTable;
  inbox: InboxTable;
  sessions: SessionsTable;
  request_log: RequestLogTable;
  jobs: JobsTable;
  schedules: SchedulesTable;
  locks: LocksTable;
  rate_limits: RateLimitsTable;
  cursors: CursorsTable;
}
