// Shapes of the dashboard API (/work/briefs/api-contract.md, served under /api/v1).

export type Role = 'viewer' | 'operator' | 'admin';

export interface User {
  login: string;
  role: Role;
}

export interface AuthInfo {
  user: User;
  csrfToken: string;
}

export interface SystemHealth {
  name: string;
  kind: string;
  lastSuccessAt: number | string | null;
  lastErrorAt: number | string | null;
  errorRate: number;
  calls1h: number;
  limiter: { rate: string | number | null; waitingMs: number | null };
}

export interface QueueRow {
  route: string;
  entity: string | null;
  target: string | null;
  pending: number;
  waiting: number;
  inFlight: number;
  failed: number;
  delivered24h: number;
}

export interface Session {
  id: number | string;
  kind: string;
  name: string;
  system: string | null;
  status: string;
  startedAt: number | string;
  finishedAt: number | string | null;
  durationMs: number | null;
  counts: Record<string, number>;
  error: string | null;
}

export interface PerDay {
  day: string;
  entity: string;
  system: string;
  count: number;
}

export interface SuccessRate {
  entity: string;
  delivered: number;
  failed: number;
  rate: number;
}

export interface Overview {
  systems: SystemHealth[];
  queue: QueueRow[];
  sessions: Session[];
  perDay: PerDay[];
  successRate: SuccessRate[];
}

export interface Page<T> {
  items: T[];
  nextCursor?: string | null;
}

export interface SessionDetail {
  session: Session;
  errors: Array<{ message: string; recordId?: string; externalId?: string }>;
}

export interface Failure {
  route: string;
  entity: string;
  recordId: string;
  attempts: number;
  errorClass: string;
  error: string;
  lastAttemptAt: number | string | null;
  title: string | null;
}

export interface FailureGroup {
  route: string;
  errorClass: string;
  count: number;
  sample: string;
}

export interface SearchHit {
  entity: string;
  id: string;
  title: string;
  matchedBy: 'name' | 'article' | 'inn' | 'externalId';
  system?: string;
}

export interface Journey {
  record: {
    entity: string;
    id: string;
    version?: number;
    data?: Record<string, unknown>;
    [key: string]: unknown;
  };
  versions: Array<{
    version: number;
    hash: string;
    createdAt: number | string;
    data: unknown;
    diff: Array<{ path: string; before: unknown; after: unknown }>;
  }>;
  links: Array<{ system: string; externalId: string }>;
  deliveries: Array<{
    route: string;
    state: string;
    attempts: number;
    deliveredVersion: number | null;
    lastError: string | null;
  }>;
  requests: Array<{
    id: number | string;
    at: number | string;
    system: string;
    method: string;
    endpoint: string;
    status: number | null;
    durationMs: number | null;
  }>;
}

export interface RequestItem {
  id: number | string;
  at: number | string;
  system: string;
  method: string;
  url: string;
  endpoint: string;
  status: number | null;
  durationMs: number | null;
  error: string | null;
}

export interface RequestDetail extends RequestItem {
  requestHeaders: unknown;
  requestBody: unknown;
  responseHeaders: unknown;
  responseBody: unknown;
}

export interface SystemSettings {
  name: string;
  kind: string;
  url: string | null;
  limits: Record<string, unknown> | null;
  options: Record<string, unknown> | null;
  credentials: Record<string, { set: boolean }>;
  source: 'config' | 'dashboard';
}

export interface Hold {
  id: number;
  kind: 'possible_duplicate' | 'missing_value' | string;
  state: string;
  entity: string;
  system: string | null;
  externalId: string | null;
  route: string | null;
  recordId: string | null;
  field: string | null;
  value: string | null;
  message: string;
  candidates: Array<{ recordId: string; rule: string; key: string; name?: string | null }>;
  createdAt: number | string;
}

export interface EffectiveField {
  field: string;
  key: string;
  source: 'default' | 'mapping' | 'dropped';
  rule: string;
  overrides?: string;
  required?: boolean;
}

/** The route's effective field table (src/mapping/show.ts). */
export interface EffectiveMapping {
  entity: string;
  target: string;
  targetKind: string;
  extends: 'default' | 'none';
  filter?: string;
  filterExit: 'deactivate' | 'keep';
  deletion: string;
  exitDeactivates: boolean;
  objects: Array<{ object: string; when?: string; fields: EffectiveField[] }>;
  added: EffectiveField[];
  notes: string[];
}

export interface MappingView {
  route: string;
  /** null: the route has no mapping of its own (the connector's defaults apply). */
  spec: unknown;
  versions: unknown;
  effective: EffectiveMapping;
}

export interface MappingTest {
  input: unknown;
  output: unknown;
  trace: unknown;
}
