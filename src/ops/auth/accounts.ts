import type { Store } from '../../store/store.ts';
import { newApiToken, newSessionId, sha256 } from './credentials.ts';
import { decoyHash, hashPassword, verifyPassword } from './passwords.ts';
import { isRole, type Role } from './roles.ts';

/** Users, API tokens and login sessions in the store. */

export interface UserView {
  login: string;
  role: Role;
  disabled: boolean;
  createdAt: number;
}

function userView(row: { login: string; role: string; disabled: number; created_at: number }): UserView {
  return {
    login: row.login,
    role: isRole(row.role) ? row.role : 'viewer',
    disabled: row.disabled === 1,
    createdAt: row.created_at,
  };
}

export async function listUsers(store: Store): Promise<UserView[]> {
  const rows = await store.db
    .selectFrom('users')
    .select(['login', 'role', 'disabled', 'created_at'])
    .orderBy('login')
    .execute();
  return rows.map(userView);
}

export async function findUser(store: Store, login: string): Promise<UserView | undefined> {
  const row = await store.db
    .selectFrom('users')
    .select(['login', 'role', 'disabled', 'created_at'])
    .where('login', '=', login)
    .executeTakeFirst();
  return row ? userView(row) : undefined;
}

/** Creates the user, or sets a new password and role when the login exists; true when created. */
export async function upsertUser(
  store: Store,
  user: { login: string; password: string; role: Role },
  now: number,
): Promise<boolean> {
  const hash = await hashPassword(user.password);
  const existing = await findUser(store, user.login);
  if (existing) {
    await store.db
      .updateTable('users')
      .set({ password_hash: hash, role: user.role, disabled: 0, updated_at: now })
      .where('login', '=', user.login)
      .execute();
    return false;
  }
  await store.db
    .insertInto('users')
    .values({
      login: user.login,
      role: user.role,
      password_hash: hash,
      disabled: 0,
      created_at: now,
      updated_at: now,
    })
    .execute();
  return true;
}

/** The user when login and password match and the user is enabled; the same time is spent either way. */
export async function checkPassword(
  store: Store,
  login: string,
  password: string,
): Promise<UserView | undefined> {
  const row = await store.db.selectFrom('users').selectAll().where('login', '=', login).executeTakeFirst();
  const ok = await verifyPassword(password, row?.password_hash ?? (await decoyHash()));
  if (!row || !ok || row.disabled === 1) return undefined;
  return userView(row);
}

export async function countUsers(store: Store): Promise<number> {
  const row = await store.db
    .selectFrom('users')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** Starts a login session; returns the raw id for the cookie (only its hash is stored). */
export async function createSession(
  store: Store,
  login: string,
  now: number,
  ttlMs: number,
): Promise<string> {
  const id = newSessionId();
  await store.db
    .insertInto('auth_sessions')
    .values({ id_hash: sha256(id), login, created_at: now, expires_at: now + ttlMs })
    .execute();
  // Expired sessions are dead weight; dropping them here needs no separate schedule.
  await store.db.deleteFrom('auth_sessions').where('expires_at', '<', now).execute();
  return id;
}

/** The user of a live session, or undefined for an unknown, expired or disabled one. */
export async function sessionUser(
  store: Store,
  sessionId: string,
  now: number,
): Promise<{ user: UserView; hash: string } | undefined> {
  const hash = sha256(sessionId);
  const row = await store.db
    .selectFrom('auth_sessions')
    .innerJoin('users', 'users.login', 'auth_sessions.login')
    .select(['users.login', 'users.role', 'users.disabled', 'users.created_at', 'auth_sessions.expires_at'])
    .where('auth_sessions.id_hash', '=', hash)
    .executeTakeFirst();
  if (!row || row.expires_at <= now || row.disabled === 1) return undefined;
  return { user: userView(row), hash };
}

export async function deleteSession(store: Store, hash: string): Promise<void> {
  await store.db.deleteFrom('auth_sessions').where('id_hash', '=', hash).execute();
}

/** Issues an API token; the caller shows it once, the store keeps only its hash. */
export async function createToken(
  store: Store,
  token: { name: string; role: Role; createdBy: string; expiresAt?: number | undefined },
  now: number,
): Promise<string> {
  const raw = newApiToken();
  await store.db
    .insertInto('api_tokens')
    .values({
      token_hash: sha256(raw),
      name: token.name,
      role: token.role,
      created_by: token.createdBy,
      created_at: now,
      expires_at: token.expiresAt ?? null,
      last_used_at: null,
      revoked: 0,
    })
    .execute();
  return raw;
}

/** The token's name and role when it is known, not revoked and not expired. */
export async function tokenPrincipal(
  store: Store,
  raw: string,
  now: number,
): Promise<{ name: string; role: Role } | undefined> {
  const hash = sha256(raw);
  const row = await store.db
    .selectFrom('api_tokens')
    .selectAll()
    .where('token_hash', '=', hash)
    .executeTakeFirst();
  if (!row || row.revoked === 1 || (row.expires_at !== null && row.expires_at <= now) || !isRole(row.role)) {
    return undefined;
  }
  await store.db
    .updateTable('api_tokens')
    .set({ last_used_at: now })
    .where('token_hash', '=', hash)
    .execute();
  return { name: row.name, role: row.role };
}

/** Public handle of a token: a prefix of its hash (reveals nothing of the token itself). */
export const tokenId = (hash: string) => hash.slice(0, 16);

export async function listTokens(store: Store) {
  const rows = await store.db.selectFrom('api_tokens').selectAll().orderBy('created_at', 'desc').execute();
  return rows.map((row) => ({
    id: tokenId(row.token_hash),
    name: row.name,
    role: row.role,
    createdBy: row.created_by,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    lastUsedAt: row.last_used_at,
    revoked: row.revoked === 1,
  }));
}

/** Revokes the token whose id (hash prefix) is given; false when there is none. */
export async function revokeToken(store: Store, id: string): Promise<boolean> {
  if (!/^[0-9a-f]{16}$/.test(id)) return false;
  const result = await store.db
    .updateTable('api_tokens')
    .set({ revoked: 1 })
    .where('token_hash', 'like', `${id}%`)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}
