/**
 * Removes secrets from anything obmen writes down about an HTTP exchange (request log, error
 * messages). Redaction is by value (the configured secrets) AND by shape (credential-like field
 * names, Basic credentials, Bitrix24 webhook codes), because a connector may put a token where
 * nobody listed it as a secret.
 */

export const REDACTED = '***';

/** Field and parameter names whose values are credentials, whatever the system. */
const SENSITIVE_NAME =
  /^(password|passwd|pass|pwd|token|access_token|refresh_token|secret|client_secret|auth|apikey|api_key|api-key|x-api-key|authorization|proxy-authorization|cookie|set-cookie|sessid|x-auth-token)$/i;
/** Names that merely contain these words are credentials too ("user_password", "authToken"). */
const SENSITIVE_PART = /(password|passwd|token|secret|apikey|api_key)/i;

/** Whether a field, parameter or header named `name` carries a credential. */
export function isSensitiveName(name: string): boolean {
  // Form fields like `auth[access_token]` are judged by every bracketed segment.
  const segments = name.split(/[[\]]+/).filter((part) => part !== '');
  return segments.some((part) => SENSITIVE_NAME.test(part) || SENSITIVE_PART.test(part));
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    return text;
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Every spelling of a secret that may appear in text: literal, URL-encoded, JSON-escaped. */
function secretVariants(secrets: readonly string[]): string[] {
  const variants = new Set<string>();
  for (const secret of secrets) {
    if (!secret) continue;
    variants.add(secret);
    variants.add(encodeURIComponent(secret));
    variants.add(JSON.stringify(secret).slice(1, -1));
  }
  // Longest first, so a secret containing another one is replaced whole.
  return [...variants].sort((a, b) => b.length - a.length);
}

const JSON_FIELD = /"((?:[^"\\]|\\.){1,100})"(\s*:\s*)("(?:[^"\\]|\\.)*"|-?\d[\d.eE+-]*|true|false|null)/g;
const FORM_FIELD = /(^|[?&;\s])([^=&;?#\s"]{1,100})=([^&;#\s"]*)/g;
const BASIC_IN_URL = /(\/\/[^:/@\s]+):([^@/\s]*)@/g;
const BITRIX_WEBHOOK = /(\/rest\/\d+\/)([A-Za-z0-9]+)(\/|$)/g;
const XML_FIELD = /<((?:[\w.-]+:)?[\w.-]*(?:password|token|secret)[\w.-]*)>([^<]*)<\/\1>/gi;

/** Redacts secrets and credential-shaped fields in free text (bodies, messages, URLs). */
export function redactText(text: string, secrets: readonly string[] = []): string {
  let out = text;
  for (const variant of secretVariants(secrets)) {
    out = out.replace(new RegExp(escapeRegExp(variant), 'g'), REDACTED);
  }
  out = out.replace(BASIC_IN_URL, `$1:${REDACTED}@`);
  out = redactWebhookCode(out);
  out = out.replace(JSON_FIELD, (whole, name: string, colon: string) =>
    isSensitiveName(name) ? `"${name}"${colon}"${REDACTED}"` : whole,
  );
  out = out.replace(FORM_FIELD, (whole, lead: string, name: string) =>
    isSensitiveName(safeDecode(name)) ? `${lead}${name}=${REDACTED}` : whole,
  );
  out = out.replace(XML_FIELD, (_whole, tag: string) => `<${tag}>${REDACTED}</${tag}>`);
  return out;
}

/** Masks the code of a Bitrix24 / 1C-Bitrix inbound webhook URL (`…/rest/<user>/<code>/`). */
export function redactWebhookCode(text: string): string {
  return text.replace(BITRIX_WEBHOOK, `$1${REDACTED}$3`);
}

/** Redacts a URL: Basic credentials, credential query parameters, webhook codes, listed secrets. */
export function redactUrl(url: string, secrets: readonly string[] = []): string {
  return redactText(url, secrets);
}

/** Redacts header values: credential headers entirely, the rest by value. */
export function redactHeaders(
  headers: Headers | Record<string, string>,
  secrets: readonly string[] = [],
): Record<string, string> {
  const out: Record<string, string> = {};
  const entries = headers instanceof Headers ? [...headers.entries()] : Object.entries(headers);
  for (const [name, value] of entries) {
    out[name] = isSensitiveName(name) ? REDACTED : redactText(value, secrets);
  }
  return out;
}
