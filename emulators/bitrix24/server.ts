import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { runBatch } from './batch.ts';
import { catalogMethods, seedCatalog } from './catalog.ts';
import { crmMethods } from './crm.ts';
import { crmItemMethods } from './crm-item.ts';
import { methodNotFound, RestError } from './errors.ts';
import { deliverEvent, type EventHandler } from './events.ts';
import {
  ENTERPRISE_LIMITS,
  LeakyBucket,
  type LimitSettings,
  OperatingMeter,
  STANDARD_LIMITS,
} from './limits.ts';
import { type CallContext, isWrite, type MethodOutput, type MethodTable } from './methods.ts';
import { OAuthServer, type TokenPair } from './oauth.ts';
import { asObject, type Params, parseBracketQuery } from './params.ts';
import { PortalState } from './state.ts';

export interface Bitrix24Faults {
  /** Added before every REST answer. */
  latencyMs: number;
  /** 0..1: share of REST calls answered 500 INTERNAL_SERVER_ERROR (before any change is made). */
  errorRate: number;
  /** 0..1: share of outbound events never sent. */
  dropEvents: number;
}

export interface Bitrix24EmulatorOptions {
  port?: number;
  host?: string;
  plan?: 'standard' | 'enterprise';
  /** Overrides of the plan's limits (tests use a tight operating limit). */
  limits?: Partial<LimitSettings>;
  /** Inbound webhook: `/rest/<userId>/<code>/`. */
  webhook?: { userId: number; code: string };
  /** An installed application; `redirectUri` is its address (where /oauth/authorize/ returns). */
  oauth?: { clientId: string; clientSecret: string; redirectUri?: string };
  /** Simulated execution time per method call (ms) counted as `time.operating`; default: measured. */
  operatingCostMs?: (method: string) => number | undefined;
  faults?: Partial<Bitrix24Faults>;
}

export interface Bitrix24Stats {
  httpRequests: number;
  /** Calls per method; nested batch commands count under their own method. */
  calls: Record<string, number>;
  batchCalls: number;
  limitErrors: number;
  operatingErrors: number;
  serverErrors: number;
  /** Successful write calls (add/update/delete/set/modify/conduct). */
  writes: number;
  writesByMethod: Record<string, number>;
  tokenRefreshes: number;
  eventsSent: number;
  eventsDropped: number;
  /** Unix ms of each REST request the bucket admitted. */
  admittedAt: number[];
}

export interface Bitrix24Emulator {
  url: string;
  /** `<url>/rest/<user>/<code>/` when a webhook is configured. */
  webhookUrl: string | undefined;
  /** Token server endpoint: `<url>/oauth/token/`. */
  tokenUrl: string;
  state: PortalState;
  stats(): Bitrix24Stats;
  resetStats(): void;
  /** Tokens of a freshly installed app. */
  issueTokens(): TokenPair;
  oauth: OAuthServer | undefined;
  /** Moves the emulator's clock forward (token expiry, operating windows). */
  advance(ms: number): void;
  now(): number;
  setFaults(faults: Partial<Bitrix24Faults>): void;
  /** An outgoing webhook as set up in the portal UI. */
  bindOutgoing(event: string, handler: string, applicationToken: string): void;
  handlers(): EventHandler[];
  /** Requests arriving for `fromHost` (host:port) are answered 302 to `toBase` (portal moved). */
  moveHost(fromHost: string, toBase: string): void;
  /** Resolves when every event sent so far was answered. */
  settleEvents(): Promise<void>;
  close(): Promise<void>;
}

const MAX_BODY = 32 * 1024 * 1024;

export async function startBitrix24Emulator(
  options: Bitrix24EmulatorOptions = {},
): Promise<Bitrix24Emulator> {
  let offset = 0;
  const now = () => Date.now() + offset;
  const limits = (): LimitSettings => ({
    ...(options.plan === 'enterprise' ? ENTERPRISE_LIMITS : STANDARD_LIMITS),
    ...options.limits,
  });
  const faults: Bitrix24Faults = { latencyMs: 0, errorRate: 0, dropEvents: 0, ...options.faults };
  const bucket = new LeakyBucket(limits, now());
  const meter = new OperatingMeter(limits);
  const oauth = options.oauth
    ? new OAuthServer(options.oauth.clientId, options.oauth.clientSecret, now, options.oauth.redirectUri)
    : undefined;
  const handlers: EventHandler[] = [];
  const moved = new Map<string, string>();
  const pendingEvents = new Set<Promise<unknown>>();
  let baseUrl = '';

  const emptyStats = (): Bitrix24Stats => ({
    httpRequests: 0,
    calls: {},
    batchCalls: 0,
    limitErrors: 0,
    operatingErrors: 0,
    serverErrors: 0,
    writes: 0,
    writesByMethod: {},
    tokenRefreshes: 0,
    eventsSent: 0,
    eventsDropped: 0,
    admittedAt: [],
  });
  let stats = emptyStats();

  const state = new PortalState(now, (event, id, fields) => {
    for (const handler of handlers.filter((h) => h.event === event)) {
      if (Math.random() < faults.dropEvents) {
        stats.eventsDropped++;
        continue;
      }
      stats.eventsSent++;
      const sending = deliverEvent(
        handler,
        event,
        id,
        {
          domain: new URL(baseUrl).host,
          clientEndpoint: `${baseUrl}/rest/`,
          memberId: 'emulated-member',
          nowMs: now(),
        },
        fields,
      );
      pendingEvents.add(sending);
      void sending.finally(() => pendingEvents.delete(sending));
    }
  });

  seedCatalog(state);

  const legacyCrm = crmMethods();
  const methods: MethodTable = {
    ...legacyCrm,
    ...crmItemMethods(legacyCrm),
    ...catalogMethods(),
    scope: (_p, ctx) => ({
      result: ctx.authType === 'webhook' ? ['crm', 'catalog'] : ['crm', 'catalog', 'app'],
    }),
    profile: () => ({ result: { ID: '1', ADMIN: true, NAME: 'Администратор', LAST_NAME: '' } }),
    'app.info': (_p, ctx) => {
      if (ctx.authType !== 'oauth')
        throw new RestError(401, 'WRONG_AUTH_TYPE', 'Current authorization type is denied for this method');
      return { result: { ID: 1, CODE: 'obmen', VERSION: 1, STATUS: 'L', INSTALLED: true } };
    },
    'event.bind': (params, ctx) => {
      if (ctx.authType !== 'oauth')
        throw new RestError(401, 'WRONG_AUTH_TYPE', 'Current authorization type is denied for this method');
      const event = String(params['event'] ?? '').toUpperCase();
      const handler = String(params['handler'] ?? '');
      // CRM events are ONCRM…; newer modules name theirs with dots (CATALOG.PRODUCT.ON.ADD).
      if (!/^(ON[A-Z]+|[A-Z]+(\.[A-Z]+)+)$/.test(event))
        throw new RestError(400, 'ERROR_EVENT_NOT_FOUND', 'Event not found');
      if (!/^https?:\/\//.test(handler))
        throw new RestError(
          400,
          'ERROR_HANDLER_URL_MISMATCH',
          "Handler URL host doesn't match application url",
        );
      if (handlers.some((h) => h.event === event && h.handler === handler && h.client === ctx.client)) {
        throw new RestError(400, 'ERROR_HANDLER_ALREADY_EXIST', 'Handler already binded');
      }
      handlers.push({
        id: handlers.length + 1,
        event,
        handler,
        client: ctx.client,
        applicationToken: applicationToken(ctx.client),
      });
      return { result: true };
    },
    'event.get': (_p, ctx) => ({
      result: handlers
        .filter((h) => h.client === ctx.client)
        .map((h) => ({ event: h.event, handler: h.handler, auth_type: 0, offline: 0 })),
    }),
    'event.unbind': (params, ctx) => {
      const before = handlers.length;
      for (let i = handlers.length - 1; i >= 0; i--) {
        const h = handlers[i]!;
        if (
          h.client === ctx.client &&
          h.event === String(params['event'] ?? '').toUpperCase() &&
          (!params['handler'] || h.handler === params['handler'])
        )
          handlers.splice(i, 1);
      }
      return { result: { count: before - handlers.length } };
    },
  };

  /** Each app gets its own application_token (sent with its events). */
  const appTokens = new Map<string, string>();
  function applicationToken(client: string): string {
    let token = appTokens.get(client);
    if (!token) {
      token = `apptoken-${client.replace(/[^a-z0-9]/gi, '').slice(0, 8)}-${appTokens.size + 1}`;
      appTokens.set(client, token);
    }
    return token;
  }

  function timeObject(started: number, operating?: { operating: number; resetAt: number }) {
    const finish = now();
    const time: Record<string, unknown> = {
      start: started / 1000,
      finish: finish / 1000,
      duration: (finish - started) / 1000,
      processing: (finish - started) / 1000,
      date_start: new Date(started).toISOString(),
      date_finish: new Date(finish).toISOString(),
    };
    if (operating) {
      time['operating_reset_at'] = operating.resetAt;
      time['operating'] = operating.operating;
    }
    return time;
  }

  /** Runs one method with operating-time accounting; throws RestError. */
  function run(
    method: string,
    params: Params,
    ctx: CallContext,
  ): { output: MethodOutput; time: Record<string, unknown> } {
    const impl = methods[method];
    stats.calls[method] = (stats.calls[method] ?? 0) + 1;
    if (!impl) throw methodNotFound(method);
    const key = `${ctx.client}:${method}`;
    if (meter.blocked(key, now())) {
      stats.operatingErrors++;
      throw new RestError(429, 'OPERATION_TIME_LIMIT', 'Method is blocked due to operation time limit.');
    }
    const started = now();
    const t0 = performance.now();
    const output = impl(params, ctx);
    const cost = options.operatingCostMs?.(method) ?? performance.now() - t0;
    meter.add(key, cost, now());
    if (isWrite(method)) {
      stats.writes++;
      stats.writesByMethod[method] = (stats.writesByMethod[method] ?? 0) + 1;
      state.countWrite(method);
    }
    return { output, time: timeObject(started, meter.state(key, now())) };
  }

  function batch(params: Params, ctx: CallContext): MethodOutput {
    stats.batchCalls++;
    return runBatch(params, (method, sub) => run(method, sub, ctx));
  }

  async function handleRest(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    path: string[],
  ): Promise<void> {
    let ctx: CallContext;
    let methodPart: string;
    const params = await readParams(req, url);
    if (path.length === 4 && /^\d+$/.test(path[1]!)) {
      const hook = options.webhook;
      if (!hook || Number(path[1]) !== hook.userId || path[2] !== hook.code) {
        throw new RestError(401, 'NO_AUTH_FOUND', 'Wrong authorization data');
      }
      ctx = { state, authType: 'webhook', client: `webhook-${hook.userId}` };
      methodPart = path[3]!;
    } else if (path.length === 2) {
      if (!oauth) throw new RestError(401, 'NO_AUTH_FOUND', 'Wrong authorization data');
      const token = typeof params['auth'] === 'string' ? params['auth'] : undefined;
      oauth.authorize(token);
      ctx = { state, authType: 'oauth', client: `app-${oauth.clientId}` };
      methodPart = path[1]!;
    } else {
      throw new RestError(404, 'ERROR_METHOD_NOT_FOUND', 'Method not found!');
    }
    delete params['auth'];
    const name = methodPart.replace(/\.json$/, '');
    if (!bucket.admit(now())) {
      stats.limitErrors++;
      throw new RestError(503, 'QUERY_LIMIT_EXCEEDED', 'Too many requests');
    }
    stats.admittedAt.push(now());
    if (faults.latencyMs > 0) await new Promise((r) => setTimeout(r, faults.latencyMs));
    if (faults.errorRate > 0 && Math.random() < faults.errorRate) {
      stats.serverErrors++;
      throw new RestError(500, 'INTERNAL_SERVER_ERROR', 'Internal server error');
    }
    const started = now();
    if (name === 'batch') {
      stats.calls['batch'] = (stats.calls['batch'] ?? 0) + 1;
      const output = batch(params, ctx);
      return send(res, 200, { result: output.result, time: timeObject(started) });
    }
    const { output, time } = run(name, params, ctx);
    const body: Record<string, unknown> = { result: output.result };
    if (output.total !== undefined) body['total'] = output.total;
    if (output.next !== undefined) body['next'] = output.next;
    body['time'] = time;
    send(res, 200, body);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    stats.httpRequests++;
    const url = new URL(req.url ?? '/', 'http://emulator');
    const path = url.pathname.split('/').filter(Boolean);
    if (req.method === 'GET' && url.pathname === '/_stats') return send(res, 200, stats);
    const target = moved.get(String(req.headers.host));
    if (target && path[0] === 'rest') {
      res.writeHead(302, { location: `${target}${url.pathname}${url.search}` });
      res.end();
      return;
    }
    if (path[0] === 'oauth' && path[1] === 'authorize') {
      if (!oauth) throw new RestError(404, 'NOT_FOUND', 'OAuth is not configured on this emulator');
      res.writeHead(302, {
        location: oauth.authorizeRedirect(await readParams(req, url), new URL(baseUrl).host),
      });
      res.end();
      return;
    }
    if (path[0] === 'oauth' && path[1] === 'token') {
      if (!oauth) throw new RestError(404, 'NOT_FOUND', 'OAuth is not configured on this emulator');
      const params = await readParams(req, url);
      const tokens = oauth.exchange(params);
      if (params['grant_type'] === 'refresh_token') stats.tokenRefreshes++;
      return send(res, 200, {
        ...tokens,
        client_endpoint: `${baseUrl}/rest/`,
        server_endpoint: `${baseUrl}/rest/`,
        domain: new URL(baseUrl).host,
        member_id: 'emulated-member',
        scope: 'crm,catalog',
        status: 'L',
        user_id: 1,
      });
    }
    if (path[0] === 'rest') return handleRest(req, res, url, path);
    throw new RestError(404, 'ERROR_METHOD_NOT_FOUND', 'Method not found!');
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (error instanceof RestError) return send(res, error.status, error.body());
      send(res, 500, { error: 'INTERNAL_SERVER_ERROR', error_description: (error as Error).message });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  baseUrl = `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
  let closing: Promise<void> | undefined;

  return {
    url: baseUrl,
    webhookUrl: options.webhook
      ? `${baseUrl}/rest/${options.webhook.userId}/${options.webhook.code}/`
      : undefined,
    tokenUrl: `${baseUrl}/oauth/token/`,
    state,
    oauth,
    stats: () => structuredClone(stats),
    resetStats: () => {
      stats = emptyStats();
    },
    issueTokens: () => {
      if (!oauth) throw new Error('start the emulator with `oauth` to issue tokens');
      return oauth.issue();
    },
    advance: (ms) => {
      offset += ms;
    },
    now,
    setFaults: (f) => Object.assign(faults, f),
    bindOutgoing: (event, handler, token) => {
      handlers.push({
        id: handlers.length + 1,
        event: event.toUpperCase(),
        handler,
        client: 'outgoing-webhook',
        applicationToken: token,
      });
    },
    handlers: () => handlers.map((h) => ({ ...h })),
    moveHost: (from, to) => moved.set(from, to.replace(/\/+$/, '')),
    settleEvents: async () => {
      while (pendingEvents.size > 0) await Promise.allSettled([...pendingEvents]);
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

/** Query string + body (JSON or form-encoded with PHP brackets), merged as PHP does. */
export async function readParams(req: IncomingMessage, url: URL): Promise<Params> {
  const params = parseBracketQuery(url.search.slice(1));
  if (req.method === 'GET' || req.method === 'HEAD') return params;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw new RestError(400, 'INVALID_REQUEST', 'Request body is too large');
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (!text) return params;
  const type = String(req.headers['content-type'] ?? '');
  if (type.includes('application/json')) {
    try {
      const body = JSON.parse(text) as unknown;
      return { ...params, ...(asObject(body) ?? {}) };
    } catch {
      throw new RestError(400, 'INVALID_REQUEST', 'Invalid JSON body');
    }
  }
  return { ...params, ...parseBracketQuery(text) };
}

export function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}
