import { createHash, randomBytes } from 'node:crypto';

/** The exchange types of 1c_exchange.php that obmen serves. */
export type ExchangeType = 'catalog' | 'sale';

/**
 * One authenticated exchange (from `checkauth` on). The cookie and sessid are bearer secrets:
 * stores keep only their hashes, and `key` (a prefix of the cookie hash) is what logs, lease
 * owners and file names may show.
 */
export interface ExchangeSession {
  key: string;
  cookieHash: string;
  sessidHash: string;
  type: ExchangeType;
  login: string;
  createdAt: number;
  /** Unix seconds handed out as `timestamp=` at checkauth; `mode=deactivate` sends it back. */
  timestamp: number;
  /** CommerceML version 1C announced at `init` (`version=`), when it did. */
  version: string | undefined;
}

/** Where sessions live between requests: memory for a single process, the database for several. */
export interface ExchangeSessionStore {
  save(session: ExchangeSession): Promise<void>;
  /** The session for a cookie hash, or undefined (unknown or expired). */
  find(cookieHash: string): Promise<ExchangeSession | undefined>;
  setVersion(key: string, version: string): Promise<void>;
}

export const hashSecret = (value: string) => createHash('sha256').update(value).digest('hex');

/** A fresh cookie value and sessid token: 128 bits each, hex like PHP session ids. */
export function newSessionSecrets(): { cookie: string; sessid: string } {
  return { cookie: randomBytes(16).toString('hex'), sessid: randomBytes(16).toString('hex') };
}

/** Sessions in process memory; they vanish on restart (1C then starts over with checkauth). */
export function memorySessionStore(
  maxAgeMs = 24 * 3600_000,
  now: () => number = Date.now,
): ExchangeSessionStore {
  const sessions = new Map<string, ExchangeSession>();
  return {
    async save(session) {
      for (const [hash, old] of sessions) if (now() - old.createdAt > maxAgeMs) sessions.delete(hash);
      sessions.set(session.cookieHash, session);
    },
    async find(cookieHash) {
      const session = sessions.get(cookieHash);
      return session && now() - session.createdAt <= maxAgeMs ? session : undefined;
    },
    async setVersion(key, version) {
      for (const session of sessions.values()) if (session.key === key) session.version = version;
    },
  };
}
