import type { IncomingMessage, ServerResponse } from 'node:http';
import { runBatch } from '../bitrix24/batch.ts';
import { methodNotFound, RestError } from '../bitrix24/errors.ts';
import { LeakyBucket } from '../bitrix24/limits.ts';
import { isWrite } from '../bitrix24/methods.ts';
import type { Params } from '../bitrix24/params.ts';
import { readParams, send } from '../bitrix24/server.ts';
import { SiteCatalog, siteCatalogMethods } from './rest-catalog.ts';
import { isSaleWrite, type SaleContext, saleMethods } from './rest-sale.ts';
import type { SiteState } from './state.ts';

/**
 * The site's REST module (`rest`, "Управление сайтом" 16.6+) behind an inbound webhook
 * `/rest/<user>/<code>/<method>[.json]`, with `sale.*` (rest-sale.ts) and `catalog.*`
 * (rest-catalog.ts) over the shop the exchange fills: the same envelope, errors and limits as Bitrix24
 * (`result`, `total`, `next`, `time`; `{error, error_description}`), `batch` of up to 50
 * commands, method names in any case, and the leaky bucket that answers 503
 * QUERY_LIMIT_EXCEEDED when driven too fast. The operating-time limit is off, as on a
 * self-hosted installation by default.
 */

export interface SiteRestOptions {
  /** The inbound webhook: `/rest/<userId>/<code>/`. */
  userId: number;
  code: string;
  /** Scopes ticked for the webhook (default: sale and catalog). */
  scopes?: string[];
  /** Leaky bucket: requests drained per second and the bucket size (default 2 and 50). */
  rate?: number;
  burst?: number;
  /** The site's time zone, minutes east of UTC (default 180, Moscow). */
  offsetMinutes?: number;
}

export interface RestFaults {
  latencyMs: number;
  errorRate: number;
  /** `rest:<method>` → the next N calls of that method answer 500 INTERNAL_SERVER_ERROR. */
  failNext: Record<string, number>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function createRestHandler(
  state: SiteState,
  options: SiteRestOptions,
  faults: RestFaults,
): (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<void> {
  const scopes = options.scopes ?? ['sale', 'catalog'];
  const bucket = new LeakyBucket(
    () => ({ rate: options.rate ?? 2, burst: options.burst ?? 50, operatingLimitMs: 0 }),
    Date.now(),
  );
  const sale: SaleContext = { state, now: () => Date.now(), offsetMinutes: options.offsetMinutes ?? 180 };
  const stats = state.stats.rest;
  const catalog = { state: new SiteCatalog(state, sale.offsetMinutes) };
  // Method names are case-insensitive on a site; the table is looked up in lower case.
  const catalogTable = new Map(Object.entries(siteCatalogMethods()).map(([k, v]) => [k.toLowerCase(), v]));

  function refuseWithout(scope: string): void {
    if (!scopes.includes(scope))
      throw new RestError(
        401,
        'insufficient_scope',
        'The request requires higher privileges than provided by the webhook token',
      );
  }

  /** Counts the call and fails it when a test asked for that (`failNext: {'rest:<method>': n}`). */
  function arrive(method: string): void {
    stats.calls[method] = (stats.calls[method] ?? 0) + 1;
    const scheduled = faults.failNext[`rest:${method}`] ?? 0;
    if (scheduled > 0) {
      faults.failNext[`rest:${method}`] = scheduled - 1;
      throw new RestError(500, 'INTERNAL_SERVER_ERROR', 'Internal server error');
    }
  }

  function run(name: string, params: Params): { result: unknown; total?: number; next?: number } {
    const method = name.toLowerCase();
    arrive(method);
    if (method === 'scope') return { result: scopes };
    const catalogImpl = catalogTable.get(method);
    if (catalogImpl) {
      refuseWithout('catalog');
      const output = catalogImpl(params, catalog);
      if (isWrite(method)) stats.writes++;
      return output;
    }
    const impl = saleMethods[method];
    if (!impl) throw methodNotFound(name);
    refuseWithout('sale');
    const output = impl(params, sale);
    if (isSaleWrite(method)) stats.writes++;
    return output;
  }

  return async (req, res, url) => {
    const started = Date.now();
    stats.requests++;
    try {
      const path = url.pathname.split('/').filter(Boolean);
      const params = await readParams(req, url);
      let methodPart: string;
      if (path.length === 4) {
        if (Number(path[1]) !== options.userId || path[2] !== options.code)
          throw new RestError(401, 'INVALID_CREDENTIALS', 'Invalid request credentials');
        methodPart = path[3]!;
      } else if (path.length === 2) {
        // /rest/<method>?auth=… is the OAuth form; this site has no applications installed.
        throw new RestError(401, 'NO_AUTH_FOUND', 'Wrong authorization data');
      } else {
        throw new RestError(404, 'ERROR_METHOD_NOT_FOUND', 'Method not found!');
      }
      const name = methodPart.replace(/\.json$/i, '');
      if (!bucket.admit(Date.now())) {
        stats.limitErrors++;
        throw new RestError(503, 'QUERY_LIMIT_EXCEEDED', 'Too many requests');
      }
      if (faults.latencyMs > 0) await sleep(faults.latencyMs);
      if (faults.errorRate > 0 && Math.random() < faults.errorRate)
        throw new RestError(500, 'INTERNAL_SERVER_ERROR', 'Internal server error');
      if (name.toLowerCase() === 'batch') {
        arrive('batch');
        const output = runBatch(params, (method, sub) => {
          const begun = Date.now();
          return { output: run(method, sub), time: time(begun) };
        });
        return send(res, 200, { ...output, time: time(started) });
      }
      const output = run(name, params);
      const body: Record<string, unknown> = { result: output.result };
      if (output.total !== undefined) body['total'] = output.total;
      if (output.next !== undefined) body['next'] = output.next;
      body['time'] = time(started);
      send(res, 200, body);
    } catch (error) {
      if (!req.readableEnded) req.resume();
      if (error instanceof RestError) return send(res, error.status, error.body());
      send(res, 500, { error: 'INTERNAL_SERVER_ERROR', error_description: (error as Error).message });
    }
  };
}

function time(started: number): Record<string, unknown> {
  const finish = Date.now();
  return {
    start: started / 1000,
    finish: finish / 1000,
    duration: (finish - started) / 1000,
    processing: (finish - started) / 1000,
    date_start: new Date(started).toISOString(),
    date_finish: new Date(finish).toISOString(),
  };
}
