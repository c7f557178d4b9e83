/**
 * Roles, weakest first: viewer reads, operator also acts on the queue (retry, resend, replay,
 * trigger, resolve holds), admin also changes settings, users and tokens.
 */
export const ROLES = ['viewer', 'operator', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/** What a route asks for: a role, or `public` (login) that anybody may call. */
export type RouteAccess = Role | 'public';

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

/** True when `have` is at least `need`. */
export function roleAllows(have: Role, need: Role): boolean {
  return ROLES.indexOf(have) >= ROLES.indexOf(need);
}

/**
 * The access a route needs when it does not say: reads are for viewers, every state change
 * for operators. Admin-only routes say so explicitly, so a forgotten declaration errs towards
 * operator, never towards "anybody".
 */
export function defaultAccess(method: string): Role {
  return method === 'GET' || method === 'HEAD' ? 'viewer' : 'operator';
}

/** Who made a request. */
export interface Principal {
  login: string;
  role: Role;
  /** How they proved it: a dashboard session cookie, an API token, or auth switched off. */
  via: 'session' | 'token' | 'none';
  /** Hash of the session id (to log out) when via is session. */
  sessionHash?: string;
  csrfToken?: string;
}
