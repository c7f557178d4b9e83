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
  /**
   * Resend even if the target already holds this hash (replay): 0 no, 1 yes, 2 yes and asked
   * while a lease was out, so that lease's own write does not count (engine/operations.ts).
   */
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

/** A session of 1C's CommerceML exchange; the cookie and sessid are stored only as hashes. */
export interface ExchangeSessionsTable {
  cookie_hash: string;
  key: string;
  system: string;
  type: string;
  sessid_hash: string;
  login: string;
  version: string | null;
  timestamp: number;
  created_at: number;
}

/** OAuth token state of a Bitrix24 system (migration 0005); tokens are encrypted. */
export interface Bitrix24TokensTable {
  system: string;
  access_token: string;
  refresh_token: string;
  expires_at: number;
  client_endpoint: string | null;
  version: number;
  refresh_owner: string | null;
  refresh_until: number | null;
  updated_at: number;
}

export interface Database {
  bitrix24_tokens: Bitrix24TokensTable;
  exchange_sessions: ExchangeSessionsTable;
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
  users: UsersTable;
  api_tokens: ApiTokensTable;
  auth_sessions: AuthSessionsTable;
  audit_log: AuditLogTable;
  system_settings: SystemSettingsTable;
  alert_state: AlertStateTable;
  alert_history: AlertHistoryTable;
  match_keys: MatchKeysTable;
  holds: HoldsTable;
  mapping_versions: MappingVersionsTable;
}

/** Dashboard users (migration 0007); password_hash is `scrypt$N$r$p$salt$hash`. */
export interface UsersTable {
  login: string;
  role: string;
  password_hash: string;
  disabled: number;
  created_at: number;
  updated_at: number;
}

/** API tokens for scripts; only the SHA-256 of the token is kept. */
export interface ApiTokensTable {
  token_hash: string;
  name: string;
  role: string;
  created_by: string | null;
  created_at: number;
  expires_at: number | null;
  last_used_at: number | null;
  revoked: number;
}

/** Dashboard login sessions; only the SHA-256 of the cookie value is kept. */
export interface AuthSessionsTable {
  id_hash: string;
  login: string;
  created_at: number;
  expires_at: number;
}

export interface AuditLogTable {
  id: Generated<number>;
  at: number;
  actor: string;
  action: string;
  target: string | null;
  details: string | null;
  ip: string | null;
}

/** Per-system overrides edited in the dashboard; credentials hold secret-box ciphertexts only. */
export interface SystemSettingsTable {
  system: string;
  settings: string;
  credentials: string | null;
  updated_by: string | null;
  updated_at: number;
}

export interface AlertStateTable {
  rule: string;
  target: string;
  status: 'firing' | 'resolved';
  first_at: number;
  last_sent_at: number | null;
  resolved_at: number | null;
  message: string;
}

export interface AlertHistoryTable {
  id: Generated<number>;
  at: number;
  rule: string;
  target: string;
  /** firing, repeat or resolved. */
  kind: string;
  system: string | null;
  route: string | null;
  message: string;
  channel: string;
  delivered: number;
  error: string | null;
}

/** Matching keys per record (migration 0006): normalised INN/KPP, e-mail, phone, article, barcode. */
export interface MatchKeysTable {
  entity: string;
  rule: string;
  key: string;
  record_id: string;
}

/** Items waiting for a person (migration 0006): possible duplicates, missing reference values. */
export interface HoldsTable {
  id: Generated<number>;
  kind: 'possible_duplicate' | 'missing_value';
  state: 'open' | 'resolved';
  entity: string;
  system: string | null;
  external_id: string | null;
  route: string | null;
  record_id: string | null;
  field: string | null;
  value: string | null;
  message: string;
  /** JSON: the incoming object, as it was when held. */
  data: string | null;
  /** JSON list of { recordId, rule, key, name }. */
  candidates: string | null;
  /** JSON: { link: recordId } | { create: true, recordId } | { retry: true }. */
  resolution: string | null;
  resolved_by: string | null;
  resolved_at: number | null;
  created_at: number;
  updated_at: number;
}

/** Each stored version of a mapping (migration 0006), with who changed it and the diff. */
export interface MappingVersionsTable {
  name: string;
  version: number;
  hash: string;
  spec: string;
  diff: string | null;
  actor: string;
  created_at: number;
}
