import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { FaultGate, type Faults, type IncomingItem } from './faults.ts';
import { type HeldObject, type TargetStats, TargetStore } from './store.ts';

export interface HttpTargetOptions {
  port?: number;
  host?: string;
  /** When set, every protocol request must carry `Authorization: Bearer <token>`. */
  token?: string;
  /**
   * OAuth 2.0 client credentials (RFC 6749 §4.4): `POST /oauth/token` issues access tokens that
   * live `ttlSeconds` (default 3600), and every protocol request must carry a live one.
   */
  oauth?: { clientId: string; clientSecret: string; ttlSeconds?: number };
  faults?: Partial<Faults>;
}

/** A running emulated target of obmen's generic http protocol. */
export interface HttpTarget {
  url: string;
  close(): Promise<void>;
  /** Every write request that reached the store: time (ms), entity, item ids. */
  requests: Array<{ at: number; entity: string; ids: string[] }>;
  /** Objects held, per entity: id → { externalId, data, version, writes, deleted }. */
  objects(entity: string): Map<string, HeldObject>;
  stats(): TargetStats;
  setFaults(f: Partial<Faults>): void;
  /** OAuth: every token issued so far stops working (expired or revoked early, as servers do). */
  expireTokens(): void;
  /** OAuth: the token endpoint refuses the client from now on (its secret was changed). */
  revokeClient(): void;
  /** OAuth: access tokens issued so far. */
  tokensIssued(): number;
  /** Source side: put objects that GET /{entity} will serve, ordered by updatedAt. */
  seed(
    entity: string,
    items: Array<{ id: string; data: unknown; deleted?: boolean; updatedAt?: number }>,
  ): void;
}

const MAX_BODY_BYTES = 64 * 1024 * 1024;
const ENTITY = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

class HttpProblem extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Starts the emulator on 127.0.0.1 (port 0 = any free port by default). */
export async function startHttpTarget(options: HttpTargetOptions = {}): Promise<HttpTarget> {
  const store = new TargetStore();
  const gate = new FaultGate(options.faults);
  /** OAuth access tokens → when they expire (ms). */
  const tokens = new Map<string, number>();
  let issued = 0;
  let clientRevoked = false;

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (error instanceof HttpProblem)
        return send(res, error.status, { error: { code: error.code, message: error.message } });
      send(res, 500, { error: { code: 'internal', message: (error as Error).message } });
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://target');
    const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);

    // Introspection for tests in other processes: no auth, no faults.
    if (req.method === 'GET' && parts[0] === '_stats' && parts.length === 1)
      return send(res, 200, store.stats);
    if (req.method === 'GET' && parts[0] === '_objects' && parts.length === 2) {
      return send(res, 200, Object.fromEntries(store.objects(parts[1]!)));
    }
    if (req.method === 'GET' && parts[0] === '_requests' && parts.length === 1)
      return send(res, 200, store.requests);

    // Every protocol request counts as in flight until its answer has gone (faults and latency included).
    store.stats.inFlight++;
    store.stats.peakInFlight = Math.max(store.stats.peakInFlight, store.stats.inFlight);
    let answered = false;
    const done = () => {
      if (answered) return;
      answered = true;
      store.stats.inFlight--;
    };
    // 'finish': the answer was handed to the network; 'close' alone: the client went away first.
    res.once('finish', done);
    res.once('close', done);

    if (req.method === 'POST' && parts[0] === 'oauth' && parts[1] === 'token' && parts.length === 2)
      return issueToken(req, res);

    authorize(req);
    // The health probe ignores faults: check() tests configuration, not luck.
    if (req.method === 'GET' && parts[0] === 'health' && parts.length === 1)
      return send(res, 200, { ok: true });

    const isBatch = req.method === 'POST' && parts.length === 2 && parts[1] === 'batch';
    const isRead = req.method === 'GET' && parts.length === 1;
    if ((!isBatch && !isRead) || !ENTITY.test(parts[0] ?? '')) {
      throw new HttpProblem(404, 'not_found', `no such endpoint: ${req.method} ${url.pathname}`);
    }
    const entity = parts[0]!;

    const body = isBatch ? await readJson(req) : undefined;
    const { latencyMs } = gate.current;
    if (latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, latencyMs));
    const verdict = gate.decide();
    if (verdict.kind === 'rate_limited') {
      store.stats.rateLimited++;
      res.setHeader('Retry-After', (verdict.retryAfterMs / 1000).toFixed(3));
      throw new HttpProblem(429, 'rate_limited', 'too many requests, retry later');
    }
    if (verdict.kind === 'unavailable') {
      store.stats.failed++;
      throw new HttpProblem(503, 'unavailable', `service unavailable: ${verdict.reason}`);
    }

    if (isBatch) {
      const items = parseItems(body);
      const results = store.writeBatch(entity, items, (item) => rejection(item, gate.current));
      return send(res, 200, { results });
    }
    const limit = Number(url.searchParams.get('limit') ?? 100);
    if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) {
      throw new HttpProblem(400, 'bad_limit', 'limit must be an integer between 1 and 10000');
    }
    let page: ReturnType<TargetStore['page']>;
    try {
      page = store.page(entity, url.searchParams.get('since') || undefined, limit);
    } catch (error) {
      throw new HttpProblem(400, 'bad_cursor', (error as Error).message);
    }
    return send(res, 200, {
      items: page.items.map((item) => ({
        id: item.id,
        data: item.data,
        deleted: item.deleted,
        updatedAt: new Date(item.updatedAt).toISOString(),
      })),
      next: page.next,
      cursor: page.cursor,
    });
  }

  function authorize(req: IncomingMessage): void {
    if (options.oauth) {
      const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
      const expiresAt = token === undefined ? undefined : tokens.get(token);
      if (expiresAt === undefined || expiresAt <= Date.now()) {
        // RFC 6750 §3: an expired or revoked token is answered 401 with error="invalid_token".
        throw new HttpProblem(401, 'invalid_token', 'the access token expired or is not valid');
      }
      return;
    }
    if (options.token === undefined) return;
    if (req.headers.authorization !== `Bearer ${options.token}`) {
      throw new HttpProblem(401, 'unauthorized', 'missing or wrong bearer token');
    }
  }

  /** `POST /oauth/token`, grant_type=client_credentials, the client in Basic auth or the form (RFC 6749 §2.3.1). */
  async function issueToken(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const oauth = options.oauth;
    if (!oauth) throw new HttpProblem(404, 'not_found', 'this target has no token endpoint');
    const chunks: Buffer[] = [];
    for await (const chunk of req as AsyncIterable<Buffer>) chunks.push(chunk);
    const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
    let clientId = form.get('client_id');
    let clientSecret = form.get('client_secret');
    const basic = /^Basic (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    if (basic) {
      const decoded = Buffer.from(basic, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      clientId = decodeURIComponent(decoded.slice(0, colon));
      clientSecret = decodeURIComponent(decoded.slice(colon + 1));
    }
    if (form.get('grant_type') !== 'client_credentials') {
      return send(res, 400, { error: 'unsupported_grant_type' });
    }
    if (clientRevoked || clientId !== oauth.clientId || clientSecret !== oauth.clientSecret) {
      return send(res, 401, { error: 'invalid_client', error_description: 'client authentication failed' });
    }
    const ttl = oauth.ttlSeconds ?? 3600;
    const token = `at-${randomBytes(12).toString('hex')}`;
    tokens.set(token, Date.now() + ttl * 1000);
    issued++;
    send(res, 200, { access_token: token, token_type: 'Bearer', expires_in: ttl });
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  let closing: Promise<void> | undefined;

  return {
    url: `http://${host}:${address.port}`,
    requests: store.requests,
    objects: (entity) => store.objects(entity),
    stats: () => ({ ...store.stats }),
    setFaults: (faults) => gate.update(faults),
    expireTokens: () => tokens.clear(),
    revokeClient: () => {
      clientRevoked = true;
    },
    tokensIssued: () => issued,
    seed: (entity, items) => store.seed(entity, items),
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

/** Items carrying `data.__reject` are refused with that message even across processes. */
function rejection(item: IncomingItem, faults: Faults): string | undefined {
  const marker = item.data['__reject'];
  if (typeof marker === 'string') return marker;
  return faults.rejectWhen?.(item);
}

function parseItems(body: unknown): IncomingItem[] {
  const items = (body as { items?: unknown } | undefined)?.items;
  if (!Array.isArray(items)) throw new HttpProblem(400, 'bad_request', 'body must be {"items": [...]}');
  return items.map((raw, index) => {
    const item = raw as Partial<IncomingItem> | null;
    if (!item || typeof item.id !== 'string' || item.id === '') {
      throw new HttpProblem(400, 'bad_request', `items[${index}].id must be a non-empty string`);
    }
    if (typeof item.data !== 'object' || item.data === null || Array.isArray(item.data)) {
      throw new HttpProblem(400, 'bad_request', `items[${index}].data must be an object`);
    }
    return {
      id: item.id,
      externalId: typeof item.externalId === 'string' ? item.externalId : null,
      version: typeof item.version === 'number' ? item.version : 0,
      hash: typeof item.hash === 'string' ? item.hash : '',
      deleted: item.deleted === true,
      data: item.data,
    };
  });
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new HttpProblem(413, 'too_large', 'request body too large');
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new HttpProblem(400, 'bad_json', 'request body is not valid JSON');
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) return;
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}
