import { timingSafeEqual } from 'node:crypto';
import iconv from 'iconv-lite';

/** Login and password from an HTTP Basic header, or undefined when there is none. */
export interface BasicCredentials {
  login: string;
  password: string;
}

/**
 * 1C sends the credentials as UTF-8 bytes (Cyrillic logins are common: "Обмен"); older
 * platform builds and some proxies send windows-1251. Bytes that are not valid UTF-8 are read
 * as windows-1251 instead of turning into replacement characters.
 */
export function parseBasicAuth(header: string | undefined): BasicCredentials | undefined {
  if (!header) return undefined;
  const match = /^\s*Basic\s+([A-Za-z0-9+/=_-]+)\s*$/i.exec(header);
  if (!match) return undefined;
  const bytes = Buffer.from(match[1]!, 'base64');
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    text = iconv.decode(bytes, 'windows-1251');
  }
  const colon = text.indexOf(':');
  if (colon < 0) return undefined;
  return { login: text.slice(0, colon), password: text.slice(colon + 1) };
}

/** Compares secrets in constant time whatever their lengths. */
export function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given, 'utf8');
  const b = Buffer.from(expected, 'utf8');
  if (a.length !== b.length) {
    timingSafeEqual(b, b);
    return false;
  }
  return timingSafeEqual(a, b);
}

/** Builds the header the way 1C does: UTF-8 bytes, base64. */
export function basicAuthHeader(login: string, password: string): string {
  return `Basic ${Buffer.from(`${login}:${password}`, 'utf8').toString('base64')}`;
}

/** Login and password both compared in constant time (both always compared). */
export function sameCredentials(given: BasicCredentials, expected: BasicCredentials): boolean {
  const loginOk = sameSecret(given.login, expected.login);
  const passwordOk = sameSecret(given.password, expected.password);
  return loginOk && passwordOk;
}
