import type { Kysely } from 'kysely';
import type { DialectCapabilities } from '../capabilities.ts';

// biome-ignore lint/suspicious/noExplicitAny: migrations describe tables that the typed schema does not know yet
type AnyDb = Kysely<any>;

/**
 * OAuth token state of Bitrix24 systems. Tokens are stored encrypted (core/secrets.ts). `version`
 * grows with every refresh: a refresh is saved only if the version is still the one it started
 * from, and `refresh_owner`/`refresh_until` is a short lease so two workers never spend the same
 * single-use refresh token.
 */
export async function up(db: AnyDb, caps: DialectCapabilities): Promise<void> {
  const ts = caps.timestampType;
  await db.schema
    .createTable('bitrix24_tokens')
    .addColumn('system', 'text', (c) => c.primaryKey())
    .addColumn('access_token', 'text', (c) => c.notNull())
    .addColumn('refresh_token', 'text', (c) => c.notNull())
    .addColumn('expires_at', ts, (c) => c.notNull())
    .addColumn('client_endpoint', 'text')
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('refresh_owner', 'text')
    .addColumn('refresh_until', ts)
    .addColumn('updated_at', ts, (c) => c.notNull())
    .execute();
}
