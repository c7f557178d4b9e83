import type { ColumnDefinitionBuilder, Kysely } from 'kysely';
import type { DialectCapabilities } from '../capabilities.ts';

// biome-ignore lint/suspicious/noExplicitAny: migrations describe tables that the typed schema does not know yet
type AnyDb = Kysely<any>;

/**
 * Matching and mapping: match keys (indexed lookup of existing objects by INN, phone, e-mail,
 * article, barcode), holds (possible duplicates and missing reference values waiting for a
 * person) and mapping versions (who changed which mapping when, with the diff).
 */
export async function up(db: AnyDb, caps: DialectCapabilities): Promise<void> {
  const ts = caps.timestampType;

  await db.schema
    .createTable('match_keys')
    .addColumn('entity', 'text', (c) => c.notNull())
    .addColumn('rule', 'text', (c) => c.notNull())
    .addColumn('key', 'text', (c) => c.notNull())
    .addColumn('record_id', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('match_keys_pk', ['entity', 'rule', 'key', 'record_id'])
    .execute();
  // Re-indexing an object replaces all its keys: found through this index.
  await db.schema
    .createIndex('match_keys_by_record')
    .on('match_keys')
    .columns(['entity', 'record_id'])
    .execute();
  // The external_id rule looks an id up across every system (1C Ид = the site's XML_ID).
  await db.schema.createIndex('links_by_external').on('links').columns(['entity', 'external_id']).execute();

  await db.schema
    .createTable('holds')
    .addColumn('id', caps.autoIdType, (c: ColumnDefinitionBuilder) =>
      caps.autoIdType === 'integer' ? c.primaryKey().autoIncrement() : c.primaryKey(),
    )
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('entity', 'text', (c) => c.notNull())
    .addColumn('system', 'text')
    .addColumn('external_id', 'text')
    .addColumn('route', 'text')
    .addColumn('record_id', 'text')
    .addColumn('field', 'text')
    .addColumn('value', 'text')
    .addColumn('message', 'text', (c) => c.notNull())
    .addColumn('data', 'text')
    .addColumn('candidates', 'text')
    .addColumn('resolution', 'text')
    .addColumn('resolved_by', 'text')
    .addColumn('resolved_at', ts)
    .addColumn('created_at', ts, (c) => c.notNull())
    .addColumn('updated_at', ts, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('holds_open').on('holds').columns(['state', 'kind', 'created_at']).execute();
  await db.schema
    .createIndex('holds_by_object')
    .on('holds')
    .columns(['entity', 'system', 'external_id', 'state'])
    .execute();

  await db.schema
    .createTable('mapping_versions')
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('hash', 'text', (c) => c.notNull())
    .addColumn('spec', 'text', (c) => c.notNull())
    .addColumn('diff', 'text')
    .addColumn('actor', 'text', (c) => c.notNull())
    .addColumn('created_at', ts, (c) => c.notNull())
    .addPrimaryKeyConstraint('mapping_versions_pk', ['name', 'version'])
    .execute();
}
