import assert from 'node:assert/strict';
import { afterEach, beforeEach, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildApi } from '../src/api/server.ts';
import { configSchema } from '../src/config/schema.ts';
import { createToken } from '../src/ops/auth/accounts.ts';
import type { Store } from '../src/store/store.ts';
import { forEachDialect } from './support/stores.ts';

const T0 = Date.UTC(2026, 0, 10, 8, 0, 0);

const config = configSchema.parse({
  systems: { site: { kind: 'http', url: 'http://127.0.0.1:9' } },
  sources: [{ name: 'site-in', system: 'site', entity: 'product' }],
  routes: [{ name: 'site-products', entity: 'product', target: 'site' }],
});

async function seed(store: Store): Promise<void> {
  await store.db
    .insertInto('records')
    .values({
      entity: 'product',
      id: 'p1',
      version: 1,
      hash: 'h1',
      data: JSON.stringify({ name: "O'Reilly кофе", article: 'A-1', inn: '7707083893' }),
      origin: 'site',
      deleted: 0,
      source_updated_at: null,
      created_at: T0,
      updated_at: T0,
    })
    .execute();
  await store.db
    .insertInto('outbox')
    .values({
      route: 'site-products',
      record_id: 'p1',
      entity: 'product',
      state: 'failed',
      want_version: 1,
      attempts: 3,
      next_attempt_at: T0,
      lease_owner: null,
      lease_expires_at: null,
      lease_version: null,
      last_error: 'site: HTTP 422',
      last_error_class: 'permanent',
      waiting_for: null,
      force: 0,
      delivered_hash: null,
      delivered_version: null,
      delivered_at: null,
      created_at: T0,
      updated_at: T0,
    })
    .execute();
  await store.db
    .insertInto('sessions')
    .values({
      kind: 'pull',
      system: 'site',
      name: 'site-in',
      owner: 'w',
      started_at: T0,
      finished_at: T0 + 10,
      status: 'ok',
      counts: '{"read":1}',
      error: null,
    })
    .execute();
}

async function snapshot(store: Store) {
  // api_tokens is left out: its last_used_at moves on every call, by design.
  const tables = ['records', 'outbox', 'links', 'users', 'system_settings', 'audit_log', 'jobs'] as const;
  const out: Record<string, unknown> = {};
  for (const table of tables) out[table] = await store.db.selectFrom(table).selectAll().execute();
  return out;
}

forEachDialect('API bad input', (db) => {
  let store: Store;
  let app: FastifyInstance;
  let token: string;

  beforeEach(async () => {
    store = await db().open();
    app = await buildApi({ store, config, bodyLimit: 4096, now: () => T0 + 60_000 });
    token = await createToken(store, { name: 'admin', role: 'admin', createdBy: 'test' }, T0);
    await seed(store);
  });
  afterEach(async () => {
    await app.close();
    await store.close();
  });

  const send = async (method: string, url: string, body?: unknown, raw?: string) => {
    const headers: Record<string, string> = { authorization: `Bearer ${token}` };
    if (raw !== undefined) headers['content-type'] = 'application/json';
    const res = await app.inject({
      method: method as 'GET',
      url,
      headers,
      ...(raw !== undefined ? { payload: raw } : body === undefined ? {} : { payload: body as object }),
    });
    return {
      status: res.statusCode,
      json: res.json() as { error?: { code: string; message: string }; items?: unknown[] },
    };
  };

  it('answers every bad request with a clear 4xx and changes nothing', async () => {
    const before = await snapshot(store);
    const cases: Array<[string, string, unknown, string | undefined, number, RegExp]> = [
      ['POST', '/api/v1/failures/retry', undefined, '{"all": tru', 400, /not valid JSON/],
      [
        'POST',
        '/api/v1/failures/retry',
        undefined,
        JSON.stringify({ ids: ['x'.repeat(5000)] }),
        413,
        /larger than the limit of 4096 bytes/,
      ],
      ['POST', '/api/v1/failures/retry', {}, undefined, 400, /say which failures to retry/],
      [
        'POST',
        '/api/v1/failures/retry',
        { errorClass: 'fatal' },
        undefined,
        400,
        /"errorClass" must be one of/,
      ],
      [
        'POST',
        '/api/v1/failures/retry',
        { route: "x' OR '1'='1", all: 'yes' },
        undefined,
        400,
        /"all" must be true or false/,
      ],
      ['POST', '/api/v1/routes/nope/replay', {}, undefined, 404, /no route "nope"/],
      ['POST', '/api/v1/routes/site-products/replay', { ids: [] }, undefined, 400, /at least one record id/],
      [
        'POST',
        '/api/v1/records/product/nope/resend',
        { route: 'site-products' },
        undefined,
        404,
        /no product with id "nope"/,
      ],
      ['POST', '/api/v1/records/product/p1/resend', { route: 'ghost' }, undefined, 404, /no route "ghost"/],
      [
        'POST',
        '/api/v1/records/order/p1/resend',
        { route: 'site-products' },
        undefined,
        400,
        /delivers product, not order/,
      ],
      ['POST', '/api/v1/records/product/p1/resend', {}, undefined, 400, /"route" must be a route name/],
      ['POST', '/api/v1/flows/pull/nope', {}, undefined, 404, /no source "nope"/],
      ['POST', '/api/v1/flows/deliver/nope', {}, undefined, 404, /no route "nope"/],
      ['GET', '/api/v1/sessions/abc', undefined, undefined, 400, /must be a session number/],
      ['GET', '/api/v1/sessions/999999', undefined, undefined, 404, /no exchange session 999999/],
      ['GET', '/api/v1/sessions?cursor=1%3B%20drop', undefined, undefined, 400, /nextCursor/],
      ['GET', '/api/v1/sessions?from=yesterday', undefined, undefined, 400, /"from" must be a whole number/],
      ['GET', '/api/v1/requests/1%20or%201=1', undefined, undefined, 400, /must be a request number/],
      ['GET', '/api/v1/requests/424242', undefined, undefined, 404, /no logged request/],
      [
        'GET',
        '/api/v1/requests?status=200%20or%201=1',
        undefined,
        undefined,
        400,
        /"status" must be an HTTP status/,
      ],
      ['GET', '/api/v1/records/product/nope/journey', undefined, undefined, 404, /no product with id "nope"/],
      [
        'GET',
        '/api/v1/records/spaceship/p1/journey',
        undefined,
        undefined,
        404,
        /unknown entity "spaceship"/,
      ],
      ['GET', '/api/v1/search?q=a', undefined, undefined, 400, /"q" must be at least 2 characters/],
      ['GET', '/api/v1/search', undefined, undefined, 400, /"q"/],
      [
        'GET',
        '/api/v1/audit?limit=0',
        undefined,
        undefined,
        400,
        /"limit" must be a whole number from 1 to 500/,
      ],
      [
        'POST',
        '/api/v1/users',
        { login: 'a b', password: 'long-enough-1', role: 'viewer' },
        undefined,
        400,
        /"login" must be 1–64/,
      ],
      [
        'POST',
        '/api/v1/users',
        { login: 'ab', password: 'long-enough-1', role: 'root' },
        undefined,
        400,
        /"role" must be one of viewer, operator, admin/,
      ],
      [
        'POST',
        '/api/v1/users',
        { login: 'ab', password: 'short', role: 'viewer' },
        undefined,
        400,
        /"password" must be at least 8/,
      ],
      [
        'POST',
        '/api/v1/tokens',
        { name: '', role: 'viewer' },
        undefined,
        400,
        /"name" must name what the token is for/,
      ],
      ['POST', '/api/v1/auth/login', { login: 'x' }, undefined, 400, /"password" must be your password/],
      ['POST', '/api/v1/mapping/nope/test', { sample: {} }, undefined, 404, /no route "nope"/],
    ];
    for (const [method, url, body, raw, status, message] of cases) {
      const res = await send(method, url, body, raw);
      const where = `${method} ${url} ${raw ?? JSON.stringify(body)} → ${res.status} ${JSON.stringify(res.json)}`;
      assert.equal(res.status, status, where);
      assert.match(res.json.error?.message ?? '', message, where);
    }
    assert.deepEqual(await snapshot(store), before);
  });

  it('treats SQL metacharacters in filters as plain text', async () => {
    const before = await snapshot(store);
    for (const evil of ["' OR 1=1 --", "'; DROP TABLE outbox; --", '%', '_', '\\']) {
      const q = encodeURIComponent(evil);
      for (const url of [
        `/api/v1/failures?route=${q}`,
        `/api/v1/sessions?system=${q}`,
        `/api/v1/sessions?kind=${q}`,
        `/api/v1/requests?system=${q}`,
        `/api/v1/requests?endpoint=${q}`,
        `/api/v1/audit?user=${q}`,
      ]) {
        const res = await send('GET', url);
        assert.equal(res.status, 200, url);
        assert.deepEqual(res.json.items, [], url);
      }
      const search = await send('GET', `/api/v1/search?q=${encodeURIComponent(`${evil}x`)}`);
      assert.deepEqual([search.status, search.json.items], [200, []], evil);
    }
    const quoted = await send('GET', `/api/v1/search?q=${encodeURIComponent("O'Reilly")}`);
    assert.deepEqual(quoted.json.items, [
      { entity: 'product', id: 'p1', title: "O'Reilly кофе", matchedBy: 'name' },
    ]);
    const inn = await send('GET', '/api/v1/search?q=7707083893');
    assert.equal((inn.json.items as Array<{ matchedBy: string }>)[0]?.matchedBy, 'inn');
    assert.deepEqual(await snapshot(store), before);
    const groups = await send('GET', '/api/v1/failures/groups');
    assert.deepEqual(groups.json, {
      groups: [{ route: 'site-products', errorClass: 'permanent', count: 1, sample: 'site: HTTP 422' }],
    });
  });
});
