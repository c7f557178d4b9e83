import type { Store } from '../../store/store.ts';

/** One state-changing action: who did what to which object, with details free of secrets. */
export interface AuditEntry {
  at: number;
  user: string;
  action: string;
  target: string | null;
  details: unknown;
  ip?: string | null;
}

/** Field names whose values never reach the audit log, at any depth. */
const SECRET_FIELD = /pass|secret|token|credential|authorization|cookie|api[-_]?key/i;

/**
 * Details as the audit log keeps them: secret-looking fields become "***", and the values of a
 * `credentials` object are dropped while its keys stay, so the log says *which* secret was
 * changed without holding it.
 */
export function auditDetails(value: unknown, depth = 0): unknown {
  if (depth > 5) return '…';
  if (Array.isArray(value)) return value.slice(0, 50).map((item) => auditDetails(item, depth + 1));
  if (!value || typeof value !== 'object') {
    return typeof value === 'string' && value.length > 500 ? `${value.slice(0, 500)}…` : value;
  }
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    if (key === 'credentials' && item && typeof item === 'object') {
      out[key] = Object.fromEntries(Object.keys(item).map((k) => [k, '***']));
    } else if (SECRET_FIELD.test(key)) {
      out[key] = '***';
    } else {
      out[key] = auditDetails(item, depth + 1);
    }
  }
  return out;
}

export async function writeAudit(store: Store, entry: AuditEntry): Promise<void> {
  await store.db
    .insertInto('audit_log')
    .values({
      at: entry.at,
      actor: entry.user,
      action: entry.action,
      target: entry.target,
      details: entry.details === undefined ? null : JSON.stringify(auditDetails(entry.details)),
      ip: entry.ip ?? null,
    })
    .execute();
}

export interface AuditView {
  id: number;
  at: number;
  user: string;
  action: string;
  target: string | null;
  details: unknown;
  ip: string | null;
}

export async function listAudit(store: Store, options: { limit: number; user?: string | undefined }) {
  let query = store.db.selectFrom('audit_log').selectAll();
  if (options.user) query = query.where('actor', '=', options.user);
  const rows = await query.orderBy('at', 'desc').orderBy('id', 'desc').limit(options.limit).execute();
  return rows.map(
    (row): AuditView => ({
      id: Number(row.id),
      at: row.at,
      user: row.actor,
      action: row.action,
      target: row.target,
      details: row.details === null ? null : safeParse(row.details),
      ip: row.ip,
    }),
  );
}

function safeParse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
