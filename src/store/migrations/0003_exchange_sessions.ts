import type { Kysely } from 'kysely';
import type { DialectCapabilities } from '../capabilities.ts';

// biome-ignore lint/suspicious/noExplicitAny: migrations describe tables that the typed schema does not know yet
type AnyDb = Kysely<any>;

/**
 * Sessions of 1C's "Обмен с сайтом" protocol (checkauth → … → complete/success), kept in the
 * database so an exchange survives a restart of obmen and works behind several API processes.
 * The cookie and sessid are bearer secrets: only their SHA-256 hashes are stored.
 */
export async function up(db: AnyDb, caps: DialectCapabilities): Promise<void> {
  const ts = caps.timestampType;
  await db.schema
    .createTable('exchange_sessions')
    .addColumn('cookie_hash', 'text', (c) => c.primaryKey())
    .addColumn('key', 'text', (c) => c.notNull())
    .addColumn('system', 'text', (c) => c.notNull())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('sessid_hash', 'text', (c) => c.notNull())
    .addColumn('login', 'text', (c) => c.notNull())
    .addColumn('version', 'text')
    .addColumn('timestamp', ts, (c) => c.notNull())
    .addColumn('created_at', ts, (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('exchange_sessions_created')
    .on('exchange_sessions')
    .columns(['system', 'created_at'])
    .execute();
}
