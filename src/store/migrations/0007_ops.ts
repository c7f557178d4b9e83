import type { ColumnDefinitionBuilder, CreateTableBuilder, Kysely } from 'kysely';
import type { DialectCapabilities } from '../capabilities.ts';

// biome-ignore lint/suspicious/noExplicitAny: migrations describe tables that the typed schema does not know yet
type AnyDb = Kysely<any>;
// biome-ignore lint/suspicious/noExplicitAny: same reason
type Table = CreateTableBuilder<any, any>;

function autoId(table: Table, caps: DialectCapabilities): Table {
  return table.addColumn('id', caps.autoIdType, (c: ColumnDefinitionBuilder) =>
    caps.autoIdType === 'integer' ? c.primaryKey().autoIncrement() : c.primaryKey(),
  );
}

/**
 * Operations: dashboard users, API tokens, login sessions, the audit log, system settings
 * edited in the dashboard (secrets encrypted), and alert state/history. Every credential is
 * stored hashed (passwords with scrypt, tokens and session ids with SHA-256 since they are
 * random 256-bit values) or encrypted (system secrets), never in clear.
 */
export async function up(db: AnyDb, caps: DialectCapabilities): Promise<void> {
  const ts = caps.timestampType;

  await db.schema
    .createTable('users')
    .addColumn('login', 'text', (c) => c.primaryKey())
    .addColumn('role', 'text', (c) => c.notNull())
    .addColumn('password_hash', 'text', (c) => c.notNull())
    .addColumn('disabled', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', ts, (c) => c.notNull())
    .addColumn('updated_at', ts, (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('api_tokens')
    .addColumn('token_hash', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('role', 'text', (c) => c.notNull())
    .addColumn('created_by', 'text')
    .addColumn('created_at', ts, (c) => c.notNull())
    .addColumn('expires_at', ts)
    .addColumn('last_used_at', ts)
    .addColumn('revoked', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();

  await db.schema
    .createTable('auth_sessions')
    .addColumn('id_hash', 'text', (c) => c.primaryKey())
    .addColumn('login', 'text', (c) => c.notNull())
    .addColumn('created_at', ts, (c) => c.notNull())
    .addColumn('expires_at', ts, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('auth_sessions_expires').on('auth_sessions').column('expires_at').execute();

  await autoId(db.schema.createTable('audit_log'), caps)
    .addColumn('at', ts, (c) => c.notNull())
    .addColumn('actor', 'text', (c) => c.notNull())
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('target', 'text')
    .addColumn('details', 'text')
    .addColumn('ip', 'text')
    .execute();
  await db.schema.createIndex('audit_log_at').on('audit_log').column('at').execute();

  // One row per system edited in the dashboard: JSON of the overrides; credentials are a JSON
  // object of encrypted values (each `v1:…` from the secret box).
  await db.schema
    .createTable('system_settings')
    .addColumn('system', 'text', (c) => c.primaryKey())
    .addColumn('settings', 'text', (c) => c.notNull())
    .addColumn('credentials', 'text')
    .addColumn('updated_by', 'text')
    .addColumn('updated_at', ts, (c) => c.notNull())
    .execute();

  // An alert is one rule firing for one target (a route, a system, a source): grouping and the
  // repeat interval work on this row, so a failing route sends one message, not one per object.
  await db.schema
    .createTable('alert_state')
    .addColumn('rule', 'text', (c) => c.notNull())
    .addColumn('target', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('first_at', ts, (c) => c.notNull())
    .addColumn('last_sent_at', ts)
    .addColumn('resolved_at', ts)
    .addColumn('message', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('alert_state_pk', ['rule', 'target'])
    .execute();

  await autoId(db.schema.createTable('alert_history'), caps)
    .addColumn('at', ts, (c) => c.notNull())
    .addColumn('rule', 'text', (c) => c.notNull())
    .addColumn('target', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('system', 'text')
    .addColumn('route', 'text')
    .addColumn('message', 'text', (c) => c.notNull())
    .addColumn('channel', 'text', (c) => c.notNull())
    .addColumn('delivered', 'integer', (c) => c.notNull())
    .addColumn('error', 'text')
    .execute();
  await db.schema.createIndex('alert_history_at').on('alert_history').column('at').execute();
}
