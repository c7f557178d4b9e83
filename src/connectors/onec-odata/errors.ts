import { ObmenError, parseRetryAfter } from '../../core/errors.ts';
import type { HttpResponse } from '../../http/types.ts';

/** What 1C said in an `odata.error` body (JSON or XML, DOC 17.4.10). */
export interface OnecError {
  code: string;
  message: string;
}

const EXCERPT = 300;

/** Reads `{"odata.error":{"code","message":{"value"}}}` or `<m:error><m:code/><m:message/>`. */
export function parseOnecError(text: string): OnecError | undefined {
  const trimmed = text.replace(/^\uFEFF/, '').trim();
  if (trimmed.startsWith('{')) {
    try {
      const body = JSON.parse(trimmed) as Record<string, unknown>;
      const error = (body['odata.error'] ?? body['error']) as
        | { code?: unknown; message?: { value?: unknown } | string }
        | undefined;
      if (!error || typeof error !== 'object') return undefined;
      const message = typeof error.message === 'string' ? error.message : error.message?.value;
      return { code: String(error.code ?? ''), message: String(message ?? '') };
    } catch {
      return undefined;
    }
  }
  const code = /<(?:m:)?code>([\s\S]*?)<\/(?:m:)?code>/.exec(trimmed)?.[1];
  const message = /<(?:m:)?message[^>]*>([\s\S]*?)<\/(?:m:)?message>/.exec(trimmed)?.[1];
  if (code === undefined && message === undefined) return undefined;
  return { code: (code ?? '').trim(), message: unescapeXml((message ?? '').trim()) };
}

function unescapeXml(text: string): string {
  return text
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, '&');
}

export function looksLikeHtml(response: HttpResponse): boolean {
  const type = response.headers.get('content-type') ?? '';
  if (type.includes('text/html')) return true;
  const head = new TextDecoder().decode(response.body.subarray(0, 200)).trimStart().toLowerCase();
  return head.startsWith('<!doctype html') || head.startsWith('<html');
}

export interface ClassifyContext {
  system: string;
  /** `GET Catalog_Номенклатура` — what was asked, for the message. */
  what: string;
  /** The entity set concerned, to name it when 1C says it is not published. */
  entitySet?: string;
  /** Reads are set-up problems when refused (bad $select); writes are data problems. */
  phase: 'read' | 'write' | 'check';
  /** What a successful answer must look like: HTML with 200 is then 1C's error page. */
  expect: 'json' | 'xml' | 'any';
}

/**
 * 1C's meaning of an answer, into the one taxonomy:
 * - HTTP 500 with code -1 is a business refusal (ПередЗаписью, posting): permanent, 1C's text shown as is;
 * - 401/403: the 1C user or its rights — config;
 * - 404 code 8 / a 404 without an odata.error: the set is not published (or the URL is wrong) — config;
 *   404 code 9: the object is gone — permanent;
 * - other 5xx, timeouts: transient; 429: rate_limited;
 * - an HTML page with status 200 (the web server's or 1C's error page): transient.
 */
export function classifyOnecResponse(response: HttpResponse, ctx: ClassifyContext): ObmenError | undefined {
  const { status } = response;
  const { system } = ctx;
  if (status >= 200 && status < 300) {
    if (ctx.expect !== 'any' && status !== 204 && looksLikeHtml(response)) {
      return new ObmenError(
        'transient',
        `${system}: 1C answered ${ctx.what} with an HTML page instead of ${ctx.expect.toUpperCase()} (HTTP ${status}); ` +
          'this is the web server or 1C error page (session limit, licence, restart); it will be retried',
        { system, code: 'HTML_200', detail: response.text().slice(0, EXCERPT) },
      );
    }
    return undefined;
  }
  const text = response.text();
  const said = parseOnecError(text);
  const detail = text.slice(0, EXCERPT);
  const code = said?.code ? `ODATA_${said.code}` : `HTTP_${status}`;
  const quote = said?.message ? `: «${said.message}»` : '';
  const options = { system, code, detail };

  if (status === 500 && said?.code === '-1') {
    return new ObmenError(
      'permanent',
      `${system}: 1C refused ${ctx.what}: ${said.message || 'business error without text'}`,
      options,
    );
  }
  if (status === 401 || status === 403) {
    return new ObmenError(
      'config',
      `${system}: 1C refused the login for ${ctx.what} (HTTP ${status})${quote}; check systems.${system}.credentials ` +
        '(login and password of a 1C user with the right to use the standard OData interface)',
      options,
    );
  }
  if (status === 404) {
    if (said?.code === '9') {
      return new ObmenError('permanent', `${system}: 1C has no such object for ${ctx.what}${quote}`, options);
    }
    if (said?.code === '8' || !said) {
      const set = ctx.entitySet ? `"${ctx.entitySet}"` : 'the entity set';
      return new ObmenError(
        'config',
        `${system}: ${ctx.what} — 1C does not publish ${set} in its OData interface (HTTP 404)${quote}; ` +
          `publish it in 1C with «Установка стандартного интерфейса OData» (in БСП-based configurations under ` +
          `Администрирование → Синхронизация данных), tick ${set} and save; ` +
          `also check systems.${system}.url points at the publication`,
        options,
      );
    }
  }
  if (status === 429) {
    return new ObmenError('rate_limited', `${system}: 1C asked to slow down on ${ctx.what} (HTTP 429)`, {
      ...options,
      retryAfterMs: parseRetryAfter(response.headers.get('retry-after')),
    });
  }
  if (status >= 500 || status === 408) {
    return new ObmenError(
      'transient',
      `${system}: 1C failed on ${ctx.what} (HTTP ${status})${quote}; it will be retried`,
      options,
    );
  }
  if (ctx.phase === 'write') {
    return new ObmenError(
      'permanent',
      `${system}: 1C refused ${ctx.what} (HTTP ${status})${quote}; fix the data or the mapping, then retry`,
      options,
    );
  }
  return new ObmenError(
    'config',
    `${system}: 1C refused ${ctx.what} (HTTP ${status})${quote}; check the source options (entitySet, select, filter)`,
    options,
  );
}
