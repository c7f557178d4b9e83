import type { Store } from '../store/store.ts';
import { redactText } from './redact.ts';

/** One attempt of one outbound request, already redacted and truncated. */
export interface RequestLogEntry {
  at: number;
  system: string;
  method: string;
  url: string;
  status: number | null;
  durationMs: number;
  requestBody: string | null;
  responseBody: string | null;
  error: string | null;
  sessionId: number | null;
}

export const DEFAULT_MAX_LOGGED_BODY = 8192;

const TEXT_TYPE =
  /^(text\/|application\/([\w.+-]*\+)?(json|xml|x-www-form-urlencoded|javascript|graphql)\b)/i;

/** Whether a body with this content type can be logged as text. Unknown type: guess from the bytes. */
export function isTextContentType(contentType: string | null | undefined, bytes?: Uint8Array): boolean {
  if (contentType) return TEXT_TYPE.test(contentType.trim());
  if (!bytes) return true;
  // No declared type: text unless it holds NUL bytes or is not valid UTF-8.
  if (bytes.includes(0)) return false;
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return true;
  } catch {
    return false;
  }
}

/**
 * A body as the request log keeps it: redacted first (so a secret cut by truncation cannot leak
 * in part), then truncated with a marker; binary bodies become "<N bytes binary>".
 */
export function formatBodyForLog(
  body: string | Uint8Array | undefined,
  contentType: string | null | undefined,
  secrets: readonly string[],
  maxChars: number = DEFAULT_MAX_LOGGED_BODY,
): string | null {
  if (body === undefined) return null;
  let text: string;
  if (typeof body === 'string') {
    text = body;
  } else {
    if (body.byteLength === 0) return null;
    if (!isTextContentType(contentType, body)) return `<${body.byteLength} bytes binary>`;
    text = new TextDecoder().decode(body);
  }
  return truncate(redactText(text, secrets), maxChars);
}

/** Bytes of a streamed body kept for the log: the head shown plus slack, so redaction sees whole secrets. */
export function streamedHeadBytes(maxChars: number): number {
  return maxChars * 4 + 4096;
}

/**
 * A streamed body as the request log keeps it: only its first bytes were kept (`head`), and
 * `total` says how many came in all. Redacted, then cut to `maxChars` with a marker that gives
 * the size; a body that fitted in the head is logged like a buffered one.
 */
export function formatStreamedBodyForLog(
  head: Uint8Array,
  total: number,
  contentType: string | null | undefined,
  secrets: readonly string[],
  maxChars: number = DEFAULT_MAX_LOGGED_BODY,
): string | null {
  if (total <= head.byteLength) return formatBodyForLog(head, contentType, secrets, maxChars);
  // The head may end inside a UTF-8 sequence: judge text by the declared type or by NUL bytes.
  const binary = contentType ? !isTextContentType(contentType) : head.includes(0);
  if (binary) return `<${total} bytes binary, streamed>`;
  const text = redactText(new TextDecoder().decode(head), secrets);
  return `${text.slice(0, maxChars)}…[truncated; streamed, ${total} bytes in all]`;
}

export function truncate(text: string, maxChars: number): string {
  if (text.length <= maxChars) return text;
  return `${text.slice(0, maxChars)}…[truncated, ${text.length} chars in all]`;
}

/** Appends one row to request_log. Callers decide what a failed write means (the client ignores it). */
export async function writeRequestLog(store: Store, entry: RequestLogEntry): Promise<void> {
  await store.db
    .insertInto('request_log')
    .values({
      at: entry.at,
      system: entry.system,
      method: entry.method,
      url: entry.url,
      status: entry.status,
      duration_ms: entry.durationMs,
      request_body: entry.requestBody,
      response_body: entry.responseBody,
      error: entry.error,
      session_id: entry.sessionId,
    })
    .execute();
}

/** Retention: deletes rows older than `before` (epoch ms); returns how many went. */
export async function pruneRequestLog(store: Store, before: number): Promise<number> {
  const result = await store.db.deleteFrom('request_log').where('at', '<', before).executeTakeFirst();
  return Number(result.numDeletedRows);
}
