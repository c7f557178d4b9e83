import type { ExchangeSession, ExchangeSessionStore, ExchangeType } from '../../exchange/commerceml/index.ts';
import type { Store } from '../../store/store.ts';

/** Exchanges older than this are refused (1C starts a new one with checkauth) and pruned. */
const MAX_AGE_MS = 24 * 3600_000;

/**
 * Exchange sessions in the hub database (table exchange_sessions): a restarted obmen, or
 * another API process behind the same balancer, still knows 1C's cookie.
 */
export function dbSessionStore(store: Store, system: string, now: () => number): ExchangeSessionStore {
  return {
    async save(session) {
      await store.db
        .deleteFrom('exchange_sessions')
        .where('system', '=', system)
        .where('created_at', '<', now() - MAX_AGE_MS)
        .execute();
      await store.db
        .insertInto('exchange_sessions')
        .values({
          cookie_hash: session.cookieHash,
          key: session.key,
          system,
          type: session.type,
          sessid_hash: session.sessidHash,
          login: session.login,
          version: session.version ?? null,
          timestamp: session.timestamp,
          created_at: session.createdAt,
        })
        .execute();
    },
    async find(cookieHash) {
      const row = await store.db
        .selectFrom('exchange_sessions')
        .selectAll()
        .where('cookie_hash', '=', cookieHash)
        .where('system', '=', system)
        .executeTakeFirst();
      if (!row || now() - Number(row.created_at) > MAX_AGE_MS) return undefined;
      const session: ExchangeSession = {
        key: row.key,
        cookieHash: row.cookie_hash,
        sessidHash: row.sessid_hash,
        type: row.type as ExchangeType,
        login: row.login,
        createdAt: Number(row.created_at),
        timestamp: Number(row.timestamp),
        version: row.version ?? undefined,
      };
      return session;
    },
    async setVersion(key, version) {
      await store.db
        .updateTable('exchange_sessions')
        .set({ version })
        .where('system', '=', system)
        .where('key', '=', key)
        .execute();
    },
  };
}
