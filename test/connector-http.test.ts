import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, it } from 'node:test';
import { pino } from 'pino';
import { type HttpTarget, startHttpTarget } from '../emulators/http-target/index.ts';
import type { RouteConfig, SourceConfig, SystemConfig } from '../src/config/schema.ts';
import { httpConnector, resolveHttpSystem } from '../src/connectors/http/index.ts';
import { connectorKinds, getConnectorFactory, registerConnector } from '../src/connectors/registry.ts';
import { ManualClock } from '../src/core/clock.ts';
import type { Connector, DeliveryItem, SourceBatch } from '../src/core/connector.ts';
import { ObmenError } from '../src/core/errors.ts';
import { createHttpClient } from '../src/http/client.ts';
import { defineConnectorContract } from './support/connector-contract.ts';

const TOKEN = 'contract-token';
const log = pino({ level: 'silent' });

function connect(system: SystemConfig, options: { maxRetries?: number } = {}): Connector {
  // ManualClock: retry backoffs of the shared client pass instantly instead of sleeping.
  const http = createHttpClient({
    system: 'target',
    clock: new ManualClock(),
    maxRetries: options.maxRetries ?? 0,
  });
  return httpConnector.create({
    systemName: 'target',
    system,
    http,
    log,
    signal: new AbortController().signal,
  });
}

const route = (overrides: Partial<RouteConfig> = {}): RouteConfig => ({
  name: 'products-to-target',
  entity: 'product',
  target: 'target',
  schedule: 'on-change',
  batchSize: 50,
  ...overrides,
});

const source = (batchSize: number): SourceConfig => ({
  name: 'target-products',
  system: 'target',
  entity: 'product',
  schedule: '5m',
  batchSize,
});

const item = (
  i: number,
  data: Record<string, unknown> = { name: `Product ${i}`, price: i * 10 },
): DeliveryItem => ({
  recordId: `rec-${i}`,
  entity: 'product',
  version: 1,
  hash: `hash-${i}`,
  data,
  deleted: false,
  externalId: undefined,
});

async function collect(batches: AsyncIterable<SourceBatch>): Promise<SourceBatch[]> {
  const all: SourceBatch[] = [];
  for await (const batch of batches) all.push(batch);
  return all;
}

async function rejectsWith(
  promise: Promise<unknown>,
  errorClass: string,
  message?: RegExp,
): Promise<ObmenError> {
  let caught: unknown;
  await assert.rejects(promise, (error: unknown) => {
    caught = error;
    return true;
  });
  assert.ok(caught instanceof ObmenError, `expected ObmenError, got ${String(caught)}`);
  assert.equal(caught.errorClass, errorClass, caught.message);
  if (message) assert.match(caught.message, message);
  return caught;
}

const targets: HttpTarget[] = [];
async function target(options: Parameters<typeof startHttpTarget>[0] = {}): Promise<HttpTarget> {
  const started = await startHttpTarget(options);
  targets.push(started);
  return started;
}
after(() => Promise.all(targets.map((t) => t.close())));

/** A canned server for answers the emulator never gives (missing results, retryable errors). */
async function cannedServer(
  answer: (req: IncomingMessage, body: string, res: ServerResponse) => void,
): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => {
      body += chunk.toString();
    });
    req.on('end', () => answer(req, body, res));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

defineConnectorContract('http (against emulators/http-target)', async () => {
  const emulator = await startHttpTarget({
    token: TOKEN,
    faults: {
      rejectWhen: (i) => (typeof i.data['name'] !== 'string' ? 'field "name" is required' : undefined),
    },
  });
  return {
    connector: connect({ kind: 'http', url: emulator.url, credentials: { token: TOKEN } }),
    route: route(),
    badCredentials: () => connect({ kind: 'http', url: emulator.url, credentials: { token: 'wrong' } }),
    makeItem: (i) => item(i),
    invalidItem: (i) => item(i, { price: -1 }),
    invalidMessage: 'field "name" is required',
    teardown: () => emulator.close(),
  };
});

describe('http connector: sink', () => {
  it('sends the protocol body and stores what it sent, including deletions', async () => {
    const t = await target();
    const connector = connect({ kind: 'http', url: t.url });
    const [created] = await connector.write!(route(), [item(1)]);
    assert.ok(created?.ok);
    const deleted = { ...item(1), version: 2, deleted: true, externalId: created.externalId };
    const [outcome] = await connector.write!(route(), [deleted]);
    assert.deepEqual(outcome, { recordId: 'rec-1', ok: true, externalId: 'T-1' });
    assert.deepEqual(t.objects('product').get('rec-1'), {
      externalId: 'T-1',
      data: { name: 'Product 1', price: 10 },
      version: 2,
      writes: 2,
      deleted: true,
    });
  });

  it('writes to options.path when a route sets it, and sends nothing for an empty batch', async () => {
    const t = await target();
    const connector = connect({ kind: 'http', url: `${t.url}/` });
    assert.deepEqual(await connector.write!(route(), []), []);
    assert.equal(t.stats().requests, 0);
    await connector.write!(route({ options: { path: 'goods' } }), [item(1)]);
    assert.equal(t.objects('goods').size, 1);
    assert.equal(t.objects('product').size, 0);
  });

  it('429 from the target is thrown as rate_limited with retryAfterMs', async () => {
    const t = await target({ faults: { rateLimit: { perSecond: 0.5, burst: 1 } } });
    const connector = connect({ kind: 'http', url: t.url });
    await connector.write!(route(), [item(1)]);
    const error = await rejectsWith(connector.write!(route(), [item(2)]), 'rate_limited', /HTTP 429/);
    assert.ok(error.retryAfterMs !== undefined && error.retryAfterMs > 0 && error.retryAfterMs <= 2000);
    assert.equal(t.stats().rateLimited, 1);
  });

  it('503 from the target is thrown as transient; the shared client retries it when allowed', async () => {
    const t = await target({ faults: { errorRate: 1 } });
    const once = connect({ kind: 'http', url: t.url });
    await rejectsWith(once.write!(route(), [item(1)]), 'transient', /HTTP 503.*service unavailable/);

    t.setFaults({ errorRate: 0, failNextRequests: 2 });
    const retrying = connect({ kind: 'http', url: t.url }, { maxRetries: 3 });
    const outcomes = await retrying.write!(route(), [item(1)]);
    assert.equal(outcomes[0]?.ok, true);
    assert.equal(t.stats().writes, 1);
    assert.equal(t.stats().failed, 3);
  });

  it('maps whole-request statuses: 401/403 → config, other 4xx → permanent', async () => {
    const statuses = [401, 403, 422];
    const { url } = await cannedServer((req, _body, res) => {
      const status = Number(req.url?.split('/')[1]);
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { code: 'E', message: `status ${status} said no` } }));
    });
    const connector = connect({ kind: 'http', url });
    for (const status of statuses) {
      const expected = status === 422 ? 'permanent' : 'config';
      const error = await rejectsWith(
        connector.write!(route({ options: { path: String(status) } }), [item(1)]),
        expected,
        new RegExp(`status ${status} said no`),
      );
      assert.equal(error.code, 'E');
    }
  });

  it('reports retryable item errors as transient, missing results as transient "no result for item"', async () => {
    const { url } = await cannedServer((_req, body, res) => {
      const ids = (JSON.parse(body) as { items: Array<{ id: string }> }).items.map((i) => i.id);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          results: [
            { id: ids[2], ok: true, externalId: 'X-3' },
            {
              id: ids[0],
              ok: false,
              error: { code: 'LOCKED', message: 'record is locked', retryable: true },
            },
          ],
        }),
      );
    });
    const connector = connect({ kind: 'http', url });
    const outcomes = await connector.write!(route(), [item(1), item(2), item(3)]);
    assert.deepEqual(
      outcomes.map((o) => o.recordId),
      ['rec-1', 'rec-2', 'rec-3'],
    );
    const [locked, missing, ok] = outcomes;
    assert.ok(locked && !locked.ok && locked.error.errorClass === 'transient');
    assert.match(locked.error.message, /record is locked/);
    assert.equal(locked.error.code, 'LOCKED');
    assert.ok(missing && !missing.ok && missing.error.errorClass === 'transient');
    assert.match(missing.error.message, /no result for item/);
    assert.deepEqual(ok, { recordId: 'rec-3', ok: true, externalId: 'X-3' });
  });

  it('an answer outside the protocol is a permanent error naming the endpoint', async () => {
    const { url } = await cannedServer((_req, _body, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ saved: true }));
    });
    const connector = connect({ kind: 'http', url });
    await rejectsWith(connector.write!(route(), [item(1)]), 'permanent', /product\/batch does not follow/);
  });

  it('sends Basic auth for login/password and Bearer for a token', async () => {
    const seen: Array<string | undefined> = [];
    const { url } = await cannedServer((req, _body, res) => {
      seen.push(req.headers.authorization);
      res.writeHead(200).end('{}');
    });
    await connect({ kind: 'http', url, credentials: { login: 'obmen', password: 'p@ss' } }).check();
    await connect({ kind: 'http', url, credentials: { token: 't0k' } }).check();
    await connect({ kind: 'http', url }).check();
    assert.deepEqual(seen, [
      `Basic ${Buffer.from('obmen:p@ss').toString('base64')}`,
      'Bearer t0k',
      undefined,
    ]);
  });

  it('refuses to write after close()', async () => {
    const t = await target();
    const connector = connect({ kind: 'http', url: t.url });
    await connector.close();
    await rejectsWith(connector.write!(route(), [item(1)]), 'config', /closed/);
  });
});

describe('http connector: check()', () => {
  it('names the URL and what to do when nothing listens there', async () => {
    const t = await startHttpTarget();
    const url = t.url;
    await t.close();
    const error = await rejectsWith(connect({ kind: 'http', url }).check(), 'config');
    assert.ok(error.message.includes(`${url}/health`), error.message);
    assert.match(error.message, /check systems\.target\.url/);
  });

  it('fails as config when /health is not 2xx, naming the URL', async () => {
    const { url } = await cannedServer((_req, _body, res) => res.writeHead(404).end());
    const error = await rejectsWith(connect({ kind: 'http', url }).check(), 'config', /HTTP 404/);
    assert.ok(error.message.includes(`${url}/health`));
  });
});

describe('http connector: source', () => {
  it('pages until next is null, yielding a resumable cursor with each batch', async () => {
    const t = await target();
    t.seed(
      'product',
      [1, 2, 3, 4, 5].map((i) => ({ id: `p${i}`, data: { n: i }, updatedAt: i * 1000, deleted: i === 4 })),
    );
    const connector = connect({ kind: 'http', url: t.url });
    const batches = await collect(connector.read!({ source: source(2), cursor: undefined, full: true }));
    assert.deepEqual(
      batches.map((b) => b.items.map((i) => i.externalId)),
      [['p1', 'p2'], ['p3', 'p4'], ['p5']],
    );
    assert.deepEqual(batches[1]?.items[1], {
      externalId: 'p4',
      data: { n: 4 },
      deleted: true,
      sourceUpdatedAt: 4000,
    });
    const cursors = batches.map((b) => b.cursor);
    assert.equal(new Set(cursors).size, 3, `cursors move forward: ${cursors.join(', ')}`);

    // Resuming from the last cursor yields only what changed since.
    t.seed('product', [{ id: 'p2', data: { n: 20 }, updatedAt: 6000 }]);
    const resumed = await collect(
      connector.read!({ source: source(2), cursor: cursors.at(-1), full: false }),
    );
    assert.deepEqual(
      resumed.map((b) => b.items.map((i) => [i.externalId, i.data])),
      [[['p2', { n: 20 }]]],
    );

    // Resuming from a middle cursor continues right after it.
    const middle = await collect(connector.read!({ source: source(10), cursor: cursors[0], full: false }));
    assert.deepEqual(
      middle.flatMap((b) => b.items.map((i) => i.externalId)),
      ['p3', 'p4', 'p5', 'p2'],
    );

    // A full read ignores the saved cursor.
    const full = await collect(connector.read!({ source: source(10), cursor: cursors.at(-1), full: true }));
    assert.equal(full[0]?.items.length, 5);
  });

  it('an empty source yields one empty batch and keeps the cursor it was given', async () => {
    const t = await target();
    const connector = connect({ kind: 'http', url: t.url });
    t.seed('product', [{ id: 'p1', data: {}, updatedAt: 1000 }]);
    const [first] = await collect(connector.read!({ source: source(5), cursor: undefined, full: false }));
    const again = await collect(connector.read!({ source: source(5), cursor: first?.cursor, full: false }));
    assert.deepEqual(again, [{ items: [], cursor: first?.cursor }]);
  });

  it('stops with a permanent error when the system never moves the cursor', async () => {
    const { url } = await cannedServer((_req, _body, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ items: [{ id: 'a', data: {} }], next: 'same' }));
    });
    const connector = connect({ kind: 'http', url });
    await rejectsWith(
      collect(connector.read!({ source: source(5), cursor: undefined, full: true })),
      'permanent',
      /CURSOR|cursor/,
    );
  });
});

describe('http connector: configuration', () => {
  const cases: Array<[string, SystemConfig, RegExp]> = [
    ['no url', { kind: 'http' }, /systems\.target: url is required/],
    ['not a url', { kind: 'http', url: 'erp.local' }, /systems\.target\.url "erp\.local" is not a URL/],
    ['ftp url', { kind: 'http', url: 'ftp://erp.local' }, /must start with http:\/\/ or https:\/\//],
    [
      'token and login',
      { kind: 'http', url: 'http://x', credentials: { token: 'a', login: 'b', password: 'c' } },
      /set one of "token", "login" \+ "password" or "clientId" \+ "clientSecret"/,
    ],
    ['login alone', { kind: 'http', url: 'http://x', credentials: { login: 'b' } }, /go together/],
    [
      'client id without a secret',
      { kind: 'http', url: 'http://x', credentials: { clientId: 'c' } },
      /"clientId" and "clientSecret" go together/,
    ],
    [
      'an OAuth client without tokenUrl',
      { kind: 'http', url: 'http://x', credentials: { clientId: 'c', clientSecret: 'zzz-secret' } },
      /options\.tokenUrl is required with "clientId"/,
    ],
    [
      'tokenUrl without a client',
      { kind: 'http', url: 'http://x', options: { tokenUrl: 'http://x/oauth/token' } },
      /tokenUrl is set, so credentials need "clientId" and "clientSecret"/,
    ],
    [
      'unknown key',
      { kind: 'http', url: 'http://x', credentials: { apiKey: 'zzz-secret' } },
      /found: apiKey\)/,
    ],
    ['bad health path', { kind: 'http', url: 'http://x', options: { healthPath: 'health' } }, /options/],
  ];
  for (const [title, system, message] of cases) {
    it(`rejects ${title}`, () => {
      assert.throws(
        () => resolveHttpSystem('target', system),
        (error: unknown) => {
          assert.ok(error instanceof ObmenError && error.errorClass === 'config');
          assert.match(error.message, message);
          assert.ok(!error.message.includes('zzz-secret'), 'credential values never appear in messages');
          return true;
        },
      );
    });
  }
});

describe('connector registry', () => {
  it('has http registered by default and answers undefined for unknown kinds', () => {
    assert.equal(getConnectorFactory('http'), httpConnector);
    assert.equal(getConnectorFactory('no-such-kind'), undefined);
    assert.ok(connectorKinds().includes('http'));
  });

  it('registers further kinds', () => {
    const fake = { kind: 'test-kind-registry', create: httpConnector.create };
    registerConnector(fake);
    assert.equal(getConnectorFactory('test-kind-registry'), fake);
    assert.ok(connectorKinds().includes('test-kind-registry'));
  });
});
