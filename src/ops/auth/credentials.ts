import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Session ids and API tokens are 256 random bits: a plain SHA-256 of them is enough to keep
 * them out of the database (no dictionary can reach them), and lookups stay one index probe.
 */
export function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

export function newSessionId(): string {
  return randomBytes(32).toString('base64url');
}

export const TOKEN_PREFIX = 'obm_';

export function newApiToken(): string {
  return `${TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
}

/**
 * The CSRF token of a session is derived from its id: a page of another site cannot read our
 * cookie, so it cannot compute the token, and nothing more needs storing.
 */
export function csrfTokenFor(sessionId: string): string {
  return createHash('sha256').update(`obmen-csrf:${sessionId}`, 'utf8').digest('base64url');
}

export function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
