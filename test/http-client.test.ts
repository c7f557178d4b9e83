import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { ManualClock } from '../src/core/clock.ts';
import { type ObmenError, rateLimitedError } from '../src/core/errors.ts';
import { createRateLimiter, type RateLimiter } from '../src/engine/rate-limiter.ts';
import { backoffDelay, createHttpClient } from '../src/http/client.ts';
import { redactHeaders, redactText, redactUrl } from '../src/http/redact.ts';
import { openStore, type Store } from '../src/store/store.ts';

/** A seen request, as the server got it. */
interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

type Handler = (req: Seen, res: ServerResponse) => void;

/**
 * A strict fake over real HTTP: answers with the queued handlers in order, fails the test on a
 * request nobody queued, and `assertDone` fails on a queued answer never asked for.
 */
class FakeServer {
  readonly seen: Seen[] = [];
  private queue: Handler[] = [];
  private server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const seen = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString(),
      };
      this.seen.push(seen);
      const handler = this.queue.shift();
      if (!handler) {
        res.statusCode = 599;
        res.end(`unexpected request ${seen.method} ${seen.url}`);
        return;
      }
      handler(seen, res);
    });
  });
  url = '';

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }
  reply(...handlers: Handler[]): void {
    this.queue.push(...handlers);
  }
  assertDone(): void {
    assert.equal(this.queue.length, 0, `${this.queue.length} expected request(s) never made`);
  }
  reset(): void {
    this.queue = [];
    this.seen.length = 0;
  }
  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

const status =
  (code: number, body = '', headers: Record<string, string> = {}): Handler =>
  (_req, res) => {
    res.writeHead(code, { 'content-type': 'text/plain', ...headers });
    res.end(body);
  };
const json =
  (body: unknown, code = 200): Handler =>
  (_req, res) => {
    res.writeHead(code, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };

class RecordingClock extends ManualClock {
  sleeps: number[] = [];
  override async sleep(ms: number): Promise<void> {
    this.sleeps.push(ms);
    await super.sleep(ms);
  }
}

/** The real limiter, counting how the client uses it. */
function countingLimiter(inner: RateLimiter) {
  const calls = { acquire: 0, recordDuration: [] as number[], blockUntil: [] as number[] };
  const limiter: RateLimiter = {
    acquire: async (signal) => {
      calls.acquire++;
      await inner.acquire(signal);
    },
    recordDuration: async (ms) => {
      calls.recordDuration.push(ms);
      await inner.recordDuration(ms);
    },
    blockUntil: async (until) => {
      calls.blockUntil.push(until);
      await inner.blockUntil(until);
    },
    state: () => inner.state(),
  };
  return { limiter, calls };
}

const server = new FakeServer();
before(() => server.start());
after(() => server.stop());
afterEach(() => {
  server.assertDone();
  server.reset();
});

function client(extra: Partial<Parameters<typeof createHttpClient>[0]> = {}) {
  const clock = new RecordingClock();
  return { clock, http: createHttpClient({ system: 'shop', clock, random: () => 1, ...extra }) };
}

describe('http client: requests and classification', () => {
  it('sends query and JSON, returns status, headers and body', async () => {
    server.reply((req, res) =>
      json({ echo: JSON.parse(req.body), url: req.url, type: req.headers['content-type'] })(req, res),
    );
    const { http } = client();
    const response = await http.request({
      method: 'POST',
      url: `${server.url}/api/items?x=1`,
      query: { page: 2, q: 'a b', skip: undefined },
      json: { name: 'Чай' },
    });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-type'), 'application/json');
    assert.deepEqual(response.json(), {
      echo: { name: 'Чай' },
      url: '/api/items?x=1&page=2&q=a+b',
      type: 'application/json',
    });
    assert.ok(response.durationMs >= 0);
  });

  it('does not follow redirects: the connector sees the 302', async () => {
    server.reply(status(302, '', { location: 'https://moved.example/rest/' }));
    const response = await client().http.request({ method: 'GET', url: `${server.url}/rest/` });
    assert.equal(response.status, 302);
    assert.equal(response.headers.get('location'), 'https://moved.example/rest/');
  });

  it('retries an idempotent request after 503 with jittered backoff', async () => {
    server.reply(status(503, 'busy'), json({ ok: true }));
    const { http, clock } = client();
    const response = await http.request({ method: 'GET', url: `${server.url}/items` });
    assert.deepEqual(response.json(), { ok: true });
    assert.equal(server.seen.length, 2);
    assert.deepEqual(clock.sleeps, [500]);
  });

  it('does not retry a POST on 503 unless it is marked idempotent', async () => {
    server.reply(status(503, 'busy'));
    const { http } = client();
    await assert.rejects(
      http.request({ method: 'POST', url: `${server.url}/orders`, json: { n: 1 } }),
      (error: ObmenError) =>
        error.errorClass === 'transient' && error.message === 'shop: HTTP 503 from POST /orders: busy',
    );
    assert.equal(server.seen.length, 1);

    server.reply(status(503, 'busy'), json({ id: 7 }));
    const response = await http.request({
      method: 'POST',
      url: `${server.url}/orders`,
      json: { n: 1 },
      idempotent: true,
    });
    assert.deepEqual(response.json(), { id: 7 });
    assert.equal(server.seen.length, 3);
  });

  it('gives up after maxRetries with capped growing delays', async () => {
    server.reply(status(500, 'a'), status(500, 'b'), status(500, 'c'));
    const { http, clock } = client({ maxRetries: 2, baseDelayMs: 6000 });
    await assert.rejects(http.request({ method: 'GET', url: `${server.url}/x` }), /HTTP 500 from GET \/x: c/);
    assert.deepEqual(clock.sleeps, [6000, 10_000]);
    assert.equal(
      backoffDelay(0, 500, () => 0),
      250,
      'half the delay is fixed, half random',
    );
    assert.equal(
      backoffDelay(10, 500, () => 1),
      10_000,
    );
  });

  it('429 with Retry-After: throws rate_limited at once and blocks the limiter', async () => {
    server.reply(status(429, 'slow down', { 'retry-after': '2' }));
    const clock = new RecordingClock();
    const { limiter, calls } = countingLimiter(
      createRateLimiter({ system: 'shop', limits: undefined, clock }),
    );
    const http = createHttpClient({ system: 'shop', clock, limiter });
    await assert.rejects(
      http.request({ method: 'GET', url: `${server.url}/items` }),
      (error: ObmenError) => error.errorClass === 'rate_limited' && error.retryAfterMs === 2000,
    );
    assert.equal(server.seen.length, 1, 'rate_limited is not retried inside the client');
    assert.deepEqual(calls.blockUntil, [clock.now() + 2000]);
    assert.equal((await limiter.state()).blockedUntil, clock.now() + 2000);
    await limiter.acquire();
    assert.deepEqual(clock.sleeps, [2000], 'the next caller waits as the system asked');
  });

  it('a timeout is transient and names the request', async () => {
    server.reply(() => {
      // Never answers.
    });
    const { http } = client({ maxRetries: 0 });
    await assert.rejects(
      http.request({ method: 'GET', url: `${server.url}/slow`, timeoutMs: 150 }),
      (error: ObmenError) =>
        error.errorClass === 'transient' &&
        error.code === 'TIMEOUT' &&
        /GET \/slow within 150 ms/.test(error.message),
    );
  });

  it('connection refused is transient', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const { http, clock } = client({ maxRetries: 1 });
    await assert.rejects(
      http.request({ method: 'GET', url: `http://127.0.0.1:${port}/x` }),
      (error: ObmenError) => error.errorClass === 'transient' && error.code === 'ECONNREFUSED',
    );
    assert.deepEqual(clock.sleeps, [500], 'refused connections are retried like any transient error');
  });

  it('req.classify decides first: an error in a 200, a success in a 500', async () => {
    server.reply(
      json({ error: 'QUERY_LIMIT_EXCEEDED' }),
      status(500, 'business error handled by the connector'),
    );
    const { http } = client();
    const classify = (response: { text(): string }) =>
      response.text().includes('QUERY_LIMIT_EXCEEDED')
        ? rateLimitedError('b24: too many requests')
        : undefined;
    await assert.rejects(
      http.request({ method: 'GET', url: `${server.url}/a`, classify }),
      (error: ObmenError) =>
        error.errorClass === 'rate_limited' && error.message === 'b24: too many requests',
    );
    const response = await http.request({ method: 'GET', url: `${server.url}/b`, classify });
    assert.equal(response.status, 500);
    assert.equal(server.seen.length, 2, 'neither was retried');
  });

  it('acquires the limiter before every attempt and records each duration', async () => {
    server.reply(status(503), status(502), json({}));
    const clock = new RecordingClock();
    const { limiter, calls } = countingLimiter(
      createRateLimiter({ system: 'shop', limits: { budget: { seconds: 100, per: '10m' } }, clock }),
    );
    const http = createHttpClient({ system: 'shop', clock, limiter, random: () => 1 });
    await http.request({ method: 'GET', url: `${server.url}/x` });
    assert.equal(calls.acquire, 3);
    assert.equal(calls.recordDuration.length, 3);
    const used = (await limiter.state()).budgetUsedMs;
    assert.ok(Math.abs(used - calls.recordDuration.reduce((a, b) => a + b, 0)) < 1e-6);
  });
});

describe('http client: request log', () => {
  let dir: string;
  let store: Store;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'obmen-http-'));
    store = await openStore({ url: join(dir, 'obmen.db') });
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const SECRET = 'Zq7-very-secret-token';
  const WEBHOOK = 'w3bh00kc0de77';
  const PASSWORD = 'hunter2-not-listed';

  it('writes one redacted, truncated row per attempt; the DB file holds no secret', async () => {
    server.reply(
      status(503, `overloaded, your token was ${SECRET}`),
      json({ result: 'x'.repeat(500), access_token: 'issued-token-abc', echo: SECRET }),
      (_req, res) => {
        res.writeHead(200, { 'content-type': 'image/png' });
        res.end(Buffer.alloc(1234, 7));
      },
    );
    const http = createHttpClient({
      system: 'b24',
      store,
      clock: new RecordingClock(),
      random: () => 1,
      secrets: [SECRET],
      maxLoggedBody: 200,
      sessionId: () => 42,
    });
    await http.request({
      method: 'GET',
      url: `http://admin:${PASSWORD}@127.0.0.1:${new URL(server.url).port}/rest/1/${WEBHOOK}/crm.deal.list`,
      query: { access_token: SECRET, start: 0 },
      headers: { authorization: `Bearer ${SECRET}` },
    });
    await http.request({
      method: 'PUT',
      url: `${server.url}/upload`,
      json: { login: 'admin', password: PASSWORD, note: SECRET },
    });

    const rows = await store.db.selectFrom('request_log').selectAll().orderBy('id').execute();
    assert.equal(rows.length, 3);
    const [first, second, third] = rows;
    assert.equal(first!.status, 503);
    assert.equal(first!.session_id, 42);
    assert.equal(first!.method, 'GET');
    assert.equal(
      first!.url,
      `http://admin:***@127.0.0.1:${new URL(server.url).port}/rest/1/***/crm.deal.list?access_token=***&start=0`,
    );
    assert.equal(first!.response_body, 'overloaded, your token was ***');
    assert.match(
      first!.error ?? '',
      /^b24: HTTP 503 from GET \/rest\/1\/\*\*\*\/crm\.deal\.list: overloaded/,
    );
    assert.equal(second!.status, 200);
    assert.equal(second!.error, null);
    assert.ok(second!.response_body!.includes('…[truncated, '), 'long body truncated with a marker');
    assert.ok(second!.response_body!.startsWith('{"result":"xxx'));
    assert.ok(second!.duration_ms >= 0);
    assert.equal(third!.method, 'PUT');
    assert.equal(third!.request_body, '{"login":"admin","password":"***","note":"***"}');
    assert.equal(third!.response_body, '<1234 bytes binary>');

    await store.close();
    const files = readdirSync(dir).filter((name) => name.startsWith('obmen.db'));
    assert.ok(files.length > 0);
    for (const name of files) {
      const bytes = readFileSync(join(dir, name));
      for (const secret of [SECRET, WEBHOOK, PASSWORD, 'issued-token-abc']) {
        assert.equal(bytes.includes(secret), false, `${secret} found in ${name}`);
      }
    }
  });

  it('a failing request log never fails the request', async () => {
    // The store was closed by the previous test: every log write now throws.
    server.reply(json({ ok: 1 }));
    const warnings: string[] = [];
    const http = createHttpClient({
      system: 'shop',
      store,
      logger: { warn: (_o: unknown, m?: string) => warnings.push(m ?? '') } as never,
    });
    const response = await http.request({ method: 'GET', url: `${server.url}/x` });
    assert.deepEqual(response.json(), { ok: 1 });
    assert.equal(warnings.length, 1);
  });
});

describe('redaction', () => {
  it('redacts URLs: credentials, parameters, webhook codes, listed secrets', () => {
    assert.equal(
      redactUrl(
        'https://u:p%40ss@h.ru/rest/12/abc123def/x?apiKey=1&Password=2&client_secret=3&ok=4&auth[access_token]=5',
      ),
      'https://u:***@h.ru/rest/12/***/x?apiKey=***&Password=***&client_secret=***&ok=4&auth[access_token]=***',
    );
    assert.equal(redactUrl('https://h.ru/a?q=S%2Fcret', ['S/cret']), 'https://h.ru/a?q=***');
  });

  it('redacts headers by name and by value', () => {
    assert.deepEqual(
      redactHeaders(
        {
          Authorization: 'Basic dTpw',
          Cookie: 'a=b',
          'X-Api-Key': 'k',
          Accept: 'json',
          'X-Echo': 'my-s3cret',
        },
        ['my-s3cret'],
      ),
      { Authorization: '***', Cookie: '***', 'X-Api-Key': '***', Accept: 'json', 'X-Echo': '***' },
    );
    assert.deepEqual(redactHeaders(new Headers({ authorization: 'x', accept: 'y' })), {
      accept: 'y',
      authorization: '***',
    });
  });

  it('redacts JSON, form and XML fields named like credentials', () => {
    assert.equal(
      redactText('{"user":"a","refresh_token":"r1","nested":{"pass": "p"},"n":1,"secret":123}'),
      '{"user":"a","refresh_token":"***","nested":{"pass": "***"},"n":1,"secret":"***"}',
    );
    assert.equal(
      redactText('grant_type=password&password=x%20y&token=t&user=u'),
      'grant_type=password&password=***&token=***&user=u',
    );
    assert.equal(
      redactText('<Login>a</Login><Password>b</Password>'),
      '<Login>a</Login><Password>***</Password>',
    );
  });
});
