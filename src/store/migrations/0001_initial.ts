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

export async function up(db: AnyDb, caps: DialectCapabilities): Promise<void> {
  const ts = caps.timestampType;

  await db.schema
    .createTable('records')
    .addColumn('entity', 'text', (c) => c.notNull())
    .addColumn('id', 'text', (c) => c.notNull())
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('hash', 'text', (c) => c.notNull())
    .addColumn('data', 'text', (c) => c.notNull())
    .addColumn('origin', 'text', (c) => c.notNull())
    .addColumn('deleted', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('source_updated_at', ts)
    .addColumn('created_at', ts, (c) => c.notNull())
    .addColumn('updated_at', ts, (c) => c.notNull())
    .addPrimaryKeyConstraint('records_pk', ['entity', 'id'])
    .execute();
  await db.schema
    .createIndex('records_entity_updated')
    .on('records')
    .columns(['entity', 'updated_at'])
    .execute();

  await db.schema
    .createTable('record_history')
    .addColumn('entity', 'text', (c) => c.notNull())
    .addColumn('id', 'text', (c) => c.notNull())
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('hash', 'text', (c) => c.notNull())
    .addColumn('data', 'text', (c) => c.notNull())
    .addColumn('origin', 'text', (c) => c.notNull())
    .addColumn('deleted', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('changed_at', ts, (c) => c.notNull())
    .addPrimaryKeyConstraint('record_history_pk', ['entity', 'id', 'version'])
    .execute();
  await db.schema.createIndex('record_history_changed').on('record_history').column('changed_at').execute();

  // The identity map, unique both ways: one external id per object per system, and one
  // object per external id.
  await db.schema
    .createTable('links')
    .addColumn('entity', 'text', (c) => c.notNull())
    .addColumn('record_id', 'text', (c) => c.notNull())
    .addColumn('system', 'text', (c) => c.notNull())
    .addColumn('external_id', 'text', (c) => c.notNull())
    .addColumn('last_hash', 'text')
    .addColumn('updated_at', ts, (c) => c.notNull())
    .addPrimaryKeyConstraint('links_pk', ['entity', 'system', 'external_id'])
    .execute();
  await db.schema
    .createIndex('links_by_record')
    .on('links')
    .columns(['entity', 'record_id', 'system'])
    .unique()
    .execute();

  await db.schema
    .createTable('outbox')
    .addColumn('route', 'text', (c) => c.notNull())
    .addColumn('record_id', 'text', (c) => c.notNull())
    .addColumn('entity', 'text', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('want_version', 'integer', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('next_attempt_at', ts, (c) => c.notNull())
    .addColumn('lease_owner', 'text')
    .addColumn('lease_expires_at', ts)
    .addColumn('lease_version', 'integer')
    .addColumn('last_error', 'text')
    .addColumn('last_error_class', 'text')
    .addColumn('waiting_for', 'text')
    .addColumn('force', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('delivered_hash', 'text')
    .addColumn('delivered_version', 'integer')
    .addColumn('delivered_at', ts)
    .addColumn('created_at', ts, (c) => c.notNull())
    .addColumn('updated_at', ts, (c) => c.notNull())
    .addPrimaryKeyConstraint('outbox_pk', ['route', 'record_id'])
    .execute();
  // The claim query walks this index: due rows of one route in due order.
  await db.schema
    .createIndex('outbox_claim')
    .on('outbox')
    .columns(['route', 'state', 'next_attempt_at'])
    .execute();
  await db.schema.createIndex('outbox_state').on('outbox').columns(['state', 'updated_at']).execute();

  await autoId(db.schema.createTable('inbox'), caps)
    .addColumn('system', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('received_at', ts, (c) => c.notNull())
    .addColumn('headers', 'text')
    .addColumn('payload', 'text', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('processed_at', ts)
    .addColumn('error', 'text')
    .execute();
  await db.schema.createIndex('inbox_state').on('inbox').columns(['state', 'received_at']).execute();

  await autoId(db.schema.createTable('sessions'), caps)
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('system', 'text')
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('owner', 'text')
    .addColumn('started_at', ts, (c) => c.notNull())
    .addColumn('finished_at', ts)
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('counts', 'text', (c) => c.notNull())
    .addColumn('error', 'text')
    .execute();
  await db.schema.createIndex('sessions_started').on('sessions').column('started_at').execute();

  await autoId(db.schema.createTable('request_log'), caps)
    .addColumn('at', ts, (c) => c.notNull())
    .addColumn('system', 'text', (c) => c.notNull())
    .addColumn('method', 'text', (c) => c.notNull())
    .addColumn('url', 'text', (c) => c.notNull())
    .addColumn('status', 'integer')
    .addColumn('duration_ms', caps.realType, (c) => c.notNull())
    .addColumn('request_body', 'text')
    .addColumn('response_body', 'text')
    .addColumn('error', 'text')
    .addColumn('session_id', 'integer')
    .execute();
  await db.schema.createIndex('request_log_at').on('request_log').columns(['system', 'at']).execute();

  await autoId(db.schema.createTable('jobs'), caps)
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('payload', 'text', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('run_after', ts, (c) => c.notNull())
    .addColumn('lease_owner', 'text')
    .addColumn('lease_expires_at', ts)
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('last_error', 'text')
    .addColumn('created_at', ts, (c) => c.notNull())
    .addColumn('finished_at', ts)
    .execute();
  await db.schema.createIndex('jobs_claim').on('jobs').columns(['state', 'run_after']).execute();

  await db.schema
    .createTable('schedules')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('next_run_at', ts, (c) => c.notNull())
    .addColumn('last_run_at', ts)
    .execute();

  await db.schema
    .createTable('locks')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('owner', 'text', (c) => c.notNull())
    .addColumn('expires_at', ts, (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('rate_limits')
    .addColumn('system', 'text', (c) => c.primaryKey())
    .addColumn('tokens', caps.realType, (c) => c.notNull())
    .addColumn('refilled_at', ts, (c) => c.notNull())
    .addColumn('blocked_until', ts, (c) => c.notNull())
    .addColumn('budget_used_ms', caps.realType, (c) => c.notNull())
    .addColumn('budget_window_start', ts, (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('cursors')
    .addColumn('source', 'text', (c) => c.primaryKey())
    .addColumn('value', 'text', (c) => c.notNull())
    .addColumn('updated_at', ts, (c) => c.notNull())
    .execute();
}
