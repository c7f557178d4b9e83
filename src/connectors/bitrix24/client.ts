import { ObmenError, transientError } from '../../core/errors.ts';
import type { HttpClient, HttpResponse } from '../../http/types.ts';
import { type AuthSession, authorizeCommand } from './auth.ts';
import { type Bitrix24ErrorBody, bitrix24Error, needsRefresh } from './errors.ts';
import type { OperatingBudget } from './limits.ts';
import { toBracketQuery } from './query.ts';

export const MAX_BATCH = 50;

/** The success envelope: result, total/next for lists, time with the operating budget. */
export interface Envelope<T> {
  result: T;
  total?: number;
  next?: number;
  time?: unknown;
}

export interface BatchCommand {
  key: string;
  method: string;
  params: Record<string, unknown>;
}

export type BatchOutcome =
  | { ok: true; result: unknown; total?: number; next?: number }
  | { ok: false; error: ObmenError };

const READ_METHOD =
  /\.(get|list|fields|findbycomm)$|^(scope|profile|app\.info|event\.get|catalog\.catalog\.list)$/;
const MAX_REDIRECTS = 3;
/** After a 503 QUERY_LIMIT_EXCEEDED every caller holds back this long (the bucket drains 2/s). */
const LIMIT_PAUSE_MS = 1_000;

/**
 * Transport for one Bitrix24 portal over the shared HTTP client: the envelope, errors mapped to
 * the taxonomy, the 302 of a moved portal, token refresh after expired_token, the operating
 * budget, and `batch` with per-command outcomes.
 */
export class Bitrix24Client {
  constructor(
    private readonly http: HttpClient,
    readonly system: string,
    private readonly auth: AuthSession,
    private readonly budget: OperatingBudget,
    private readonly signal: AbortSignal,
    /** Names the system in messages: the same REST module serves 1C-Bitrix sites ("site REST"). */
    private readonly product = 'Bitrix24',
  ) {}

  get authKind(): 'webhook' | 'oauth' {
    return this.auth.kind;
  }

  async call<T = unknown>(method: string, params: Record<string, unknown> = {}): Promise<Envelope<T>> {
    for (const m of this.methodsOf(method, params)) this.budget.check(m);
    let refreshed = false;
    for (let redirects = 0; ; ) {
      const token = await this.auth.currentToken();
      let response: HttpResponse;
      try {
        response = await this.http.request({
          method: 'POST',
          url: await this.auth.url(method),
          json: { ...params, ...(await this.auth.params()) },
          endpoint: method,
          idempotent: READ_METHOD.test(method),
          signal: this.signal,
          classify: (res) => this.classify(method, res),
        });
      } catch (error) {
        if (error instanceof ObmenError && error.code === 'OPERATION_TIME_LIMIT') {
          this.budget.markBlocked(method);
          throw new ObmenError('rate_limited', error.message, {
            system: this.system,
            code: error.code,
            retryAfterMs: this.budget.retryAfterMs(method),
            cause: error,
          });
        }
        if (!refreshed && this.auth.kind === 'oauth' && needsRefresh(error)) {
          refreshed = true;
          await this.auth.refresh(token);
          continue;
        }
        if (refreshed && needsRefresh(error)) {
          throw new ObmenError(
            'config',
            `${this.system}: Bitrix24 refused the freshly refreshed token; authorise obmen again: run \`${authorizeCommand(this.system)}\``,
            { system: this.system, code: 'AUTH_FAILED', cause: error },
          );
        }
        throw error;
      }
      if (response.status >= 300 && response.status < 400) {
        // Portal moved to another domain: take the host from Location and POST there again
        // (auto-redirect could turn the POST into a GET and lose the body).
        const location = response.headers.get('location');
        if (!location || ++redirects > MAX_REDIRECTS) {
          throw transientError(
            `${this.system}: ${this.product} answered ${response.status} to ${method} without a usable Location`,
            { system: this.system, code: `HTTP_${response.status}` },
          );
        }
        this.auth.moveTo(new URL(location, await this.auth.url(method)).origin);
        continue;
      }
      const body = response.json<Envelope<T> & Bitrix24ErrorBody>();
      if (body.error !== undefined && body.result === undefined)
        throw bitrix24Error(this.system, method, body, response.status, undefined, this.product);
      this.budget.record(method, body.time);
      return body;
    }
  }

  /**
   * Runs up to 50 commands as one `batch` call with halt=0; every command gets its own outcome.
   * The whole call fails only on transport/limit/auth problems.
   */
  async batch(commands: BatchCommand[]): Promise<Map<string, BatchOutcome>> {
    if (commands.length > MAX_BATCH)
      throw new Error(`batch takes at most ${MAX_BATCH} commands, got ${commands.length}`);
    const outcomes = new Map<string, BatchOutcome>();
    if (commands.length === 0) return outcomes;
    for (const c of commands) this.budget.check(c.method);
    const cmd: Record<string, string> = {};
    for (const c of commands) {
      const query = toBracketQuery(c.params);
      cmd[c.key] = query ? `${c.method}?${query}` : c.method;
    }
    const envelope = await this.call<{
      result?: Record<string, unknown> | unknown[];
      result_error?: Record<string, Bitrix24ErrorBody> | unknown[];
      result_total?: Record<string, number> | unknown[];
      result_next?: Record<string, number> | unknown[];
      result_time?: Record<string, unknown> | unknown[];
    }>('batch', { halt: 0, cmd });
    const section = <V>(value: Record<string, V> | unknown[] | undefined): Record<string, V> =>
      value && !Array.isArray(value) ? value : {};
    const results = section(envelope.result.result);
    const errors = section(envelope.result.result_error);
    const totals = section(envelope.result.result_total);
    const nexts = section(envelope.result.result_next);
    const times = section(envelope.result.result_time);
    for (const c of commands) {
      this.budget.record(c.method, times[c.key]);
      const error = errors[c.key];
      if (error) {
        outcomes.set(c.key, {
          ok: false,
          error: bitrix24Error(this.system, c.method, error, undefined, undefined, this.product),
        });
      } else if (c.key in results) {
        const outcome: BatchOutcome = { ok: true, result: results[c.key] };
        if (totals[c.key] !== undefined) outcome.total = totals[c.key];
        if (nexts[c.key] !== undefined) outcome.next = nexts[c.key];
        outcomes.set(c.key, outcome);
      } else {
        // halt=0 runs every command; a missing one was skipped (e.g. its $result reference failed).
        outcomes.set(c.key, {
          ok: false,
          error: transientError(`${this.system}: ${this.product} batch returned nothing for ${c.method}`, {
            system: this.system,
            code: 'NO_RESULT',
          }),
        });
      }
    }
    return outcomes;
  }

  /** Runs any number of commands, 50 per batch call, in order. */
  async batchAll(commands: BatchCommand[]): Promise<Map<string, BatchOutcome>> {
    const all = new Map<string, BatchOutcome>();
    for (let i = 0; i < commands.length; i += MAX_BATCH) {
      for (const [k, v] of await this.batch(commands.slice(i, i + MAX_BATCH))) all.set(k, v);
    }
    return all;
  }

  /** Every page of a list method (start/next). */
  async listAll<T>(
    method: string,
    params: Record<string, unknown>,
    pick: (result: unknown) => T[],
  ): Promise<T[]> {
    const out: T[] = [];
    let start: number | undefined = 0;
    while (start !== undefined) {
      const page: Envelope<unknown> = await this.call(method, { ...params, start });
      out.push(...pick(page.result));
      start = page.next;
    }
    return out;
  }

  private methodsOf(method: string, params: Record<string, unknown>): string[] {
    if (method !== 'batch') return [method];
    const cmd = params['cmd'];
    return cmd && typeof cmd === 'object'
      ? Object.values(cmd as Record<string, string>).map((c) => String(c).split('?')[0]!)
      : [];
  }

  private classify(method: string, res: HttpResponse): ObmenError | undefined {
    if (res.status < 400) return undefined;
    let body: Bitrix24ErrorBody;
    try {
      body = JSON.parse(res.text()) as Bitrix24ErrorBody;
    } catch {
      body = {
        error: res.status >= 500 ? 'INTERNAL_SERVER_ERROR' : `HTTP_${res.status}`,
        error_description: res.text().slice(0, 200),
      };
    }
    // QUERY_LIMIT_EXCEEDED holds back the whole portal (the shared client blocks its limiter for
    // the pause). OPERATION_TIME_LIMIT blocks ONE method, so it carries no wait here — the
    // shared client would block every method — and call() adds the wait after marking the method.
    const retryAfterMs = String(body.error ?? '') === 'QUERY_LIMIT_EXCEEDED' ? LIMIT_PAUSE_MS : undefined;
    return bitrix24Error(this.system, method, body, res.status, retryAfterMs, this.product);
  }
}
