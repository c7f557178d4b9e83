import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { type ApiOptions, buildApi } from '../src/api/server.ts';
import { configSchema } from '../src/config/schema.ts';
import type { OutboxTable } from '../src/store/schema.ts';
import type { Store } from '../src/store/store.ts';
import { forEachDialect } from './support/stores.ts';

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const NOW = T0 + 3_600_000;

const config = configSchema.parse({
  systems: { b24: { kind: 'bitrix24' }, site: { kind: 'bitrix-site' } },
  routes: [
    { name: 'b24-products', entity: 'product', target: 'b24' },
    { name: 'site-products', entity: 'product', target: 'site' },
    { name: 'b24-orders', entity: 'order', target: 'b24' },
  ],
  entities: [{ name: 'loyalty_card' }],
});

interface Api {
  app: FastifyInstance;
  base: string;
}

async function startApi(store: Store, extra: Partial<ApiOptions> = {}): Promise<Api> {
  const app = await buildApi({ store, config, version: '9.9.9-test', now: () => NOW, auth: false, ...extra });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as AddressInfo;
  return { app, base: `http://127.0.0.1:${port}` };
}

async function call(api: Api, method: string, path: string, body?: string, contentType = 'application/json') {
  const response = await fetch(`${api.base}${path}`, {
    method,
    ...(body === undefined ? {} : { body, headers: { 'content-type': contentType } }),
  });
  const text = await response.text();
  return {
    status: response.status,
    type: response.headers.get('content-type') ?? '',
    json: JSON.parse(text),
  };
}

async function addRecord(
  store: Store,
  entity: string,
  id: string,
  data: Record<string, unknown>,
  options: { version?: number; updatedAt?: number } = {},
): Promise<void> {
  const version = options.version ?? 1;
  await store.db
    .insertInto('records')
    .values({
      entity,
      id,
      version,
      hash: `h-${id}-${version}`,
      data: JSON.stringify(data),
      origin: 'onec',
      deleted: 0,
      source_updated_at: T0 - 1000,
      created_at: T0,
      updated_at: options.updatedAt ?? T0,
    })
    .execute();
}

async function addOutbox(store: Store, row: Partial<OutboxTable> & { route: string; record_id: string }) {
  await store.db
    .insertInto('outbox')
    .values({
      entity: 'product',
      state: 'pending',
      want_version: 1,
      attempts: 0,
      next_attempt_at: T0,
      lease_owner: null,
      lease_expires_at: null,
      lease_version: null,
      last_error: null,
      last_error_class: null,
      waiting_for: null,
      force: 0,
      delivered_hash: null,
      delivered_version: null,
      delivered_at: null,
      created_at: T0,
      updated_at: T0,
      ...row,
    })
    .execute();
}

async function snapshot(store: Store) {
  const [records, outbox, links] = await Promise.all([
    store.db.selectFrom('records').selectAll().orderBy('entity').orderBy('id').execute(),
    store.db.selectFrom('outbox').selectAll().orderBy('route').orderBy('record_id').execute(),
    store.db.selectFrom('links').selectAll().orderBy('entity').orderBy('external_id').execute(),
  ]);
  return { records, outbox, links };
}

async function outboxRow(store: Store, route: string, recordId: string) {
  return store.db
    .selectFrom('outbox')
    .selectAll()
    .where('route', '=', route)
    .where('record_id', '=', recordId)
    .executeTakeFirstOrThrow();
}

const PERMANENT = 'товар p2: Bitrix24 rejected PRICE ("-1"); set a price ≥ 0 in 1C and retry';

/** A small hub: products with history, links and deliveries, a failure or two, sessions. */
async function seed(store: Store): Promise<void> {
  await addRecord(
    store,
    'product',
    'p1',
    { name: 'Молоко 3,2%', article: 'MLK-32' },
    { version: 2, updatedAt: T0 + 3 },
  );
  await addRecord(store, 'product', 'p2', { name: 'Kefir Classic', article: 'KF_01' }, { updatedAt: T0 + 2 });
  await addRecord(store, 'product', 'p3', { name: "O'Reilly book", article: 'BK-1' }, { updatedAt: T0 + 1 });
  await addRecord(store, 'product', 'a/b:c', { name: 'Odd id' }, { updatedAt: T0 });
  await addRecord(store, 'counterparty', 'c1', { name: 'ООО Ромашка', inn: '7707083893' });
  await addRecord(store, 'loyalty_card', 'l1', { number: '0001' });
  // History holds the past versions only; version 2 is the current one, in records.
  await store.db
    .insertInto('record_history')
    .values([
      {
        entity: 'product',
        id: 'p1',
        version: 1,
        hash: 'h-p1-1',
        data: '{"name":"Молоко"}',
        origin: 'onec',
        deleted: 0,
        changed_at: T0 - 10,
      },
    ])
    .execute();
  await store.db
    .insertInto('links')
    .values([
      {
        entity: 'product',
        record_id: 'p1',
        system: 'onec',
        external_id: 'ref-1',
        last_hash: 'h-p1-2',
        updated_at: T0,
      },
      {
        entity: 'product',
        record_id: 'p1',
        system: 'b24',
        external_id: '501',
        last_hash: 'h-p1-1',
        updated_at: T0 + 5,
      },
    ])
    .execute();
  await addOutbox(store, {
    route: 'b24-products',
    record_id: 'p1',
    state: 'delivered',
    want_version: 2,
    attempts: 1,
    delivered_hash: 'h-p1-2',
    delivered_version: 2,
    delivered_at: T0 + 7,
    updated_at: T0 + 7,
  });
  await addOutbox(store, {
    route: 'site-products',
    record_id: 'p1',
    state: 'waiting',
    waiting_for: '["product_group:g1"]',
    want_version: 2,
  });
  await addOutbox(store, {
    route: 'b24-products',
    record_id: 'p2',
    state: 'failed',
    attempts: 8,
    last_error: PERMANENT,
    last_error_class: 'permanent',
    updated_at: T0 + 20,
  });
  await addOutbox(store, {
    route: 'site-products',
    record_id: 'p3',
    state: 'failed',
    attempts: 3,
    last_error: 'site: login rejected; check credentials of system "site"',
    last_error_class: 'config',
    updated_at: T0 + 10,
  });
  await addOutbox(store, {
    route: 'b24-products',
    record_id: 'a/b:c',
    state: 'failed',
    attempts: 2,
    last_error: 'timeout',
    last_error_class: 'transient',
    updated_at: T0 + 5,
  });
  await addOutbox(store, {
    route: 'b24-products',
    record_id: 'p3',
    state: 'in_flight',
    lease_owner: 'worker:1',
    lease_expires_at: NOW + 1000,
    lease_version: 1,
  });
  await store.db
    .insertInto('sessions')
    .values([
      {
        kind: 'pull',
        system: 'onec',
        name: 'onec-products',
        owner: 'w1',
        started_at: T0,
        finished_at: T0 + 50,
        status: 'ok',
        counts: '{"read":10,"changed":3}',
        error: null,
      },
      {
        kind: 'delivery',
        system: 'b24',
        name: 'b24-products',
        owner: 'w1',
        started_at: T0 + 100,
        finished_at: T0 + 150,
        status: 'partial',
        counts: '{"ok":4,"failed":1}',
        error: null,
      },
      {
        kind: 'delivery',
        system: 'site',
        name: 'site-products',
        owner: 'w2',
        started_at: T0 + 200,
        finished_at: null,
        status: 'running',
        counts: '{}',
        error: null,
      },
    ])
    .execute();
}

/** Sends a body of `size` bytes with a raw request so the test sees the answer even if the upload is cut off. */
function postLarge(base: string, path: string, size: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const url = new URL(path, base);
    const req = httpRequest(
      url,
      { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': size } },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk) => {
          body += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    // The server may answer and close before the upload ends; the answer is what matters.
    req.on('error', (error) => {
      if (!('code' in error) || (error.code !== 'EPIPE' && error.code !== 'ECONNRESET')) reject(error);
    });
    const chunk = Buffer.alloc(64 * 1024, 'a');
    let sent = 0;
    const write = () => {
      while (sent < size) {
        const part = chunk.subarray(0, Math.min(chunk.length, size - sent));
        sent += part.length;
        if (!req.write(part)) {
          req.once('drain', write);
          return;
        }
      }
      req.end();
    };
    write();
  });
}

forEachDialect('HTTP API', (database) => {
  describe('on a seeded hub', () => {
    let store: Store;
    let api: Api;
    beforeEach(async () => {
      store = await database().open();
      await seed(store);
      api = await startApi(store);
    });
    afterEach(async () => {
      await api.app.close();
      await store.close();
    });

    describe('health and unknown endpoints', () => {
      it('reports ok with the database kind and version', async () => {
        const res = await call(api, 'GET', '/health');
        assert.equal(res.status, 200);
        assert.deepEqual(res.json, { status: 'ok', database: store.caps.name, version: '9.9.9-test' });
      });

      it('answers 503 with status error when the database does not answer', async () => {
        await store.close();
        const res = await call(api, 'GET', '/health');
        assert.equal(res.status, 503);
        assert.equal(res.json.status, 'error');
        assert.equal(res.json.database, store.caps.name);
        assert.match(res.json.message, /database did not answer/);
        store = await database().open();
      });

      it('answers 404 JSON for an unknown endpoint', async () => {
        const res = await call(api, 'GET', '/api/v1/nothing?x=1');
        assert.equal(res.status, 404);
        assert.match(res.type, /application\/json/);
        assert.deepEqual(res.json, {
          error: { code: 'not_found', message: 'no such endpoint: GET /api/v1/nothing' },
        });
      });
    });

    describe('records', () => {
      it('lists records of an entity, newest first, with the full shape', async () => {
        const res = await call(api, 'GET', '/api/v1/records/product?limit=2');
        assert.equal(res.status, 200);
        assert.equal(res.json.total, 4);
        assert.deepEqual(res.json.items, [
          {
            entity: 'product',
            id: 'p1',
            version: 2,
            hash: 'h-p1-2',
            origin: 'onec',
            deleted: false,
            sourceUpdatedAt: T0 - 1000,
            createdAt: T0,
            updatedAt: T0 + 3,
            data: { name: 'Молоко 3,2%', article: 'MLK-32' },
          },
          {
            entity: 'product',
            id: 'p2',
            version: 1,
            hash: 'h-p2-1',
            origin: 'onec',
            deleted: false,
            sourceUpdatedAt: T0 - 1000,
            createdAt: T0,
            updatedAt: T0 + 2,
            data: { name: 'Kefir Classic', article: 'KF_01' },
          },
        ]);
        const next = await call(api, 'GET', '/api/v1/records/product?limit=2&offset=2');
        assert.deepEqual(
          next.json.items.map((r: { id: string }) => r.id),
          ['p3', 'a/b:c'],
        );
        assert.equal(next.json.total, 4);
      });

      it('uses limit 50 by default and accepts 500 at most', async () => {
        await store.db
          .insertInto('records')
          .values(
            Array.from({ length: 60 }, (_, i) => ({
              entity: 'stock',
              id: `s${String(i).padStart(2, '0')}`,
              version: 1,
              hash: 'h',
              data: '{}',
              origin: 'onec',
              deleted: 0,
              source_updated_at: null,
              created_at: T0,
              updated_at: T0,
            })),
          )
          .execute();
        const byDefault = await call(api, 'GET', '/api/v1/records/stock');
        assert.equal(byDefault.json.items.length, 50);
        assert.equal(byDefault.json.total, 60);
        const max = await call(api, 'GET', '/api/v1/records/stock?limit=500');
        assert.equal(max.json.items.length, 60);
      });

      it('knows canonical and configured custom entities, and 404s others', async () => {
        const custom = await call(api, 'GET', '/api/v1/records/loyalty_card');
        assert.equal(custom.status, 200);
        assert.deepEqual(
          custom.json.items.map((r: { id: string }) => r.id),
          ['l1'],
        );
        const empty = await call(api, 'GET', '/api/v1/records/warehouse');
        assert.deepEqual(empty.json, { items: [], total: 0 });
        const unknown = await call(api, 'GET', '/api/v1/records/widget');
        assert.equal(unknown.status, 404);
        assert.equal(unknown.json.error.code, 'unknown_entity');
        assert.match(
          unknown.json.error.message,
          /^unknown entity "widget"; known entities: .*counterparty.*loyalty_card/,
        );
      });

      for (const [query, message] of [
        ['limit=abc', 'query parameter "limit" must be a whole number from 1 to 500 (got "abc")'],
        ['limit=0', 'query parameter "limit" must be a whole number from 1 to 500 (got "0")'],
        ['limit=501', 'query parameter "limit" must be a whole number from 1 to 500 (got "501")'],
        ['limit=1.5', 'query parameter "limit" must be a whole number from 1 to 500 (got "1.5")'],
        ['offset=-1', 'query parameter "offset" must be a whole number of at least 0 (got "-1")'],
        ['limit=1&limit=2', 'query parameter "limit" must be a whole number from 1 to 500 (got ["1","2"])'],
        ['q=a&q=b', 'query parameter "q" must be given once, as text (got ["a","b"])'],
      ] as const) {
        it(`answers 400 naming the parameter for ${query}`, async () => {
          const res = await call(api, 'GET', `/api/v1/records/product?${query}`);
          assert.equal(res.status, 400);
          assert.deepEqual(res.json, { error: { code: 'invalid_parameter', message } });
        });
      }

      it('searches id and data text case-insensitively', async () => {
        const ids = async (q: string) => {
          const res = await call(api, 'GET', `/api/v1/records/product?q=${encodeURIComponent(q)}`);
          assert.equal(res.status, 200);
          return res.json.items.map((r: { id: string }) => r.id).sort();
        };
        assert.deepEqual(await ids('kefir'), ['p2']);
        assert.deepEqual(await ids('mlk-32'), ['p1']);
        assert.deepEqual(await ids('P3'), ['p3']);
        assert.deepEqual(await ids('Молоко'), ['p1']);
        assert.deepEqual(await ids('b:c'), ['a/b:c']);
        const res = await call(api, 'GET', '/api/v1/records/product?q=kefir');
        assert.equal(res.json.total, 1);
      });

      it('folds case of non-Latin text too', async () => {
        const probe = await sql<{ l: string }>`select lower(${'ЁЖ'}) as l`.execute(store.db);
        assert.equal(probe.rows[0]?.l, 'ёж');
        const res = await call(api, 'GET', `/api/v1/records/product?q=${encodeURIComponent('МОЛОКО')}`);
        assert.deepEqual(
          res.json.items.map((r: { id: string }) => r.id),
          ['p1'],
        );
      });

      it('treats % _ and quotes in q as plain text and changes nothing', async () => {
        const before = await snapshot(store);
        const ids = async (q: string) => {
          const res = await call(api, 'GET', `/api/v1/records/product?q=${encodeURIComponent(q)}`);
          assert.equal(res.status, 200, q);
          return res.json.items.map((r: { id: string }) => r.id).sort();
        };
        assert.deepEqual(await ids('%'), ['p1'], 'only Молоко 3,2% holds a percent sign');
        assert.deepEqual(await ids('_'), ['p2'], 'only KF_01 holds an underscore');
        assert.deepEqual(await ids('F_0'), ['p2']);
        assert.deepEqual(await ids('K%C'), []);
        assert.deepEqual(await ids("' OR 1=1 --"), []);
        assert.deepEqual(await ids("'; DROP TABLE records; --"), []);
        assert.deepEqual(await ids("O'Reilly"), ['p3']);
        assert.deepEqual(await ids('\\'), []);
        assert.deepEqual(await snapshot(store), before);
      });

      it('shows one record with links, history newest first and per-route deliveries', async () => {
        const res = await call(api, 'GET', '/api/v1/records/product/p1');
        assert.equal(res.status, 200);
        assert.deepEqual(res.json, {
          entity: 'product',
          id: 'p1',
          version: 2,
          hash: 'h-p1-2',
          origin: 'onec',
          deleted: false,
          sourceUpdatedAt: T0 - 1000,
          createdAt: T0,
          updatedAt: T0 + 3,
          data: { name: 'Молоко 3,2%', article: 'MLK-32' },
          links: [
            { system: 'b24', externalId: '501', lastHash: 'h-p1-1', updatedAt: T0 + 5 },
            { system: 'onec', externalId: 'ref-1', lastHash: 'h-p1-2', updatedAt: T0 },
          ],
          history: [
            {
              version: 2,
              hash: 'h-p1-2',
              origin: 'onec',
              deleted: false,
              changedAt: T0 + 3,
              data: { name: 'Молоко 3,2%', article: 'MLK-32' },
            },
            {
              version: 1,
              hash: 'h-p1-1',
              origin: 'onec',
              deleted: false,
              changedAt: T0 - 10,
              data: { name: 'Молоко' },
            },
          ],
          deliveries: [
            {
              route: 'b24-products',
              state: 'delivered',
              wantVersion: 2,
              attempts: 1,
              nextAttemptAt: T0,
              force: false,
              leaseOwner: null,
              leaseExpiresAt: null,
              lastError: null,
              errorClass: null,
              waitingFor: null,
              deliveredVersion: 2,
              deliveredHash: 'h-p1-2',
              deliveredAt: T0 + 7,
              updatedAt: T0 + 7,
            },
            {
              route: 'site-products',
              state: 'waiting',
              wantVersion: 2,
              attempts: 0,
              nextAttemptAt: T0,
              force: false,
              leaseOwner: null,
              leaseExpiresAt: null,
              lastError: null,
              errorClass: null,
              waitingFor: ['product_group:g1'],
              deliveredVersion: null,
              deliveredHash: null,
              deliveredAt: null,
              updatedAt: T0,
            },
          ],
        });
      });

      it('finds ids holding / and : when encoded, and 404s a missing id', async () => {
        const odd = await call(api, 'GET', `/api/v1/records/product/${encodeURIComponent('a/b:c')}`);
        assert.equal(odd.status, 200);
        assert.equal(odd.json.id, 'a/b:c');
        assert.equal(odd.json.deliveries[0].state, 'failed');
        const missing = await call(api, 'GET', '/api/v1/records/product/nope');
        assert.equal(missing.status, 404);
        assert.deepEqual(missing.json, {
          error: { code: 'record_not_found', message: 'there is no product with id "nope" in the hub' },
        });
        const longId = `${'f'.repeat(36)}#${'0'.repeat(200)}`;
        await addRecord(store, 'product', longId, { name: 'long key' });
        const long = await call(api, 'GET', `/api/v1/records/product/${encodeURIComponent(longId)}`);
        assert.equal(long.status, 200);
        assert.equal(long.json.id, longId);
        const wrongEntity = await call(api, 'GET', '/api/v1/records/counterparty/p1');
        assert.equal(wrongEntity.status, 404);
      });
    });

    describe('sessions and queue', () => {
      it('lists sessions newest first with parsed counts, filtered by status and kind', async () => {
        const all = await call(api, 'GET', '/api/v1/sessions');
        assert.equal(all.status, 200);
        assert.equal(all.json.total, 3);
        assert.deepEqual(
          all.json.items.map((s: { name: string }) => s.name),
          ['site-products', 'b24-products', 'onec-products'],
        );
        const partial = await call(api, 'GET', '/api/v1/sessions?status=partial');
        assert.deepEqual(partial.json.items, [
          {
            id: partial.json.items[0].id,
            kind: 'delivery',
            system: 'b24',
            name: 'b24-products',
            owner: 'w1',
            status: 'partial',
            startedAt: T0 + 100,
            finishedAt: T0 + 150,
            durationMs: 50,
            counts: { ok: 4, failed: 1 },
            error: null,
          },
        ]);
        assert.equal(typeof partial.json.items[0].id, 'number');
        const pulls = await call(api, 'GET', '/api/v1/sessions?kind=pull&limit=1');
        assert.deepEqual([pulls.json.total, pulls.json.items[0].name], [1, 'onec-products']);
        const bad = await call(api, 'GET', '/api/v1/sessions?status=done');
        assert.equal(bad.status, 400);
        assert.equal(
          bad.json.error.message,
          'query parameter "status" must be one of running, ok, partial, failed (got "done")',
        );
      });

      it('reports queue depth per route and state, configured idle routes included', async () => {
        await addOutbox(store, { route: 'old-route', record_id: 'x', state: 'pending' });
        const res = await call(api, 'GET', '/api/v1/queue');
        assert.equal(res.status, 200);
        const zero = { pending: 0, in_flight: 0, delivered: 0, failed: 0, waiting: 0 };
        assert.deepEqual(res.json, {
          routes: [
            { route: 'b24-orders', entity: 'order', target: 'b24', configured: true, counts: zero, total: 0 },
            {
              route: 'b24-products',
              entity: 'product',
              target: 'b24',
              configured: true,
              counts: { ...zero, delivered: 1, failed: 2, in_flight: 1 },
              total: 4,
            },
            {
              route: 'old-route',
              entity: null,
              target: null,
              configured: false,
              counts: { ...zero, pending: 1 },
              total: 1,
            },
            {
              route: 'site-products',
              entity: 'product',
              target: 'site',
              configured: true,
              counts: { ...zero, failed: 1, waiting: 1 },
              total: 2,
            },
          ],
        });
      });
    });

    describe('failures', () => {
      it('lists failures newest first with the record name and article', async () => {
        const res = await call(api, 'GET', '/api/v1/failures');
        assert.equal(res.status, 200);
        assert.equal(res.json.total, 3);
        assert.deepEqual(res.json.items[0], {
          id: 'b24-products:p2',
          route: 'b24-products',
          recordId: 'p2',
          entity: 'product',
          name: 'Kefir Classic',
          article: 'KF_01',
          attempts: 8,
          wantVersion: 1,
          errorClass: 'permanent',
          lastError: PERMANENT,
          updatedAt: T0 + 20,
          error: PERMANENT,
          lastAttemptAt: T0 + 20,
          title: 'Kefir Classic',
        });
        assert.deepEqual(
          res.json.items.map((f: { id: string }) => f.id),
          ['b24-products:p2', 'site-products:p3', 'b24-products:a/b:c'],
        );
        const third = res.json.items[2];
        assert.equal(third.name, 'Odd id');
        assert.equal(third.article, null);
      });

      it('filters failures by route and error class, and refuses an unknown class', async () => {
        const byRoute = await call(api, 'GET', '/api/v1/failures?route=site-products');
        assert.deepEqual(
          byRoute.json.items.map((f: { id: string }) => f.id),
          ['site-products:p3'],
        );
        const byClass = await call(api, 'GET', '/api/v1/failures?errorClass=transient&limit=5');
        assert.deepEqual([byClass.json.total, byClass.json.items[0].recordId], [1, 'a/b:c']);
        const bad = await call(api, 'GET', '/api/v1/failures?errorClass=fatal');
        assert.equal(bad.status, 400);
        assert.match(
          bad.json.error.message,
          /^query parameter "errorClass" must be one of transient, rate_limited/,
        );
      });

      it('retries one failure by route and record id; a second retry says it is no longer failed', async () => {
        const res = await call(api, 'POST', '/api/v1/failures/b24-products/p2/retry');
        assert.equal(res.status, 200);
        assert.deepEqual(res.json, { retried: 1 });
        const row = await outboxRow(store, 'b24-products', 'p2');
        assert.deepEqual(
          [row.state, row.attempts, row.next_attempt_at, row.last_error],
          ['pending', 0, NOW, PERMANENT],
        );
        const again = await call(api, 'POST', '/api/v1/failures/b24-products/p2/retry');
        assert.equal(again.status, 409);
        assert.deepEqual(again.json, {
          error: {
            code: 'not_failed',
            message:
              'the delivery of record "p2" on route "b24-products" is pending, not failed; there is nothing to retry',
          },
        });
        const none = await call(api, 'POST', '/api/v1/failures/b24-products/zzz/retry');
        assert.equal(none.status, 404);
        assert.equal(none.json.error.code, 'delivery_not_found');
      });

      it('retries by the failure id "<route>:<recordId>", even when the record id holds ":" and "/"', async () => {
        const res = await call(
          api,
          'POST',
          `/api/v1/failures/${encodeURIComponent('b24-products:a/b:c')}/retry`,
        );
        assert.equal(res.status, 200);
        assert.deepEqual(res.json, { retried: 1 });
        assert.equal((await outboxRow(store, 'b24-products', 'a/b:c')).state, 'pending');
        const bad = await call(api, 'POST', '/api/v1/failures/no-colon/retry');
        assert.equal(bad.status, 400);
        assert.match(bad.json.error.message, /^path parameter "id" must be "<route>:<recordId>"/);
      });

      it('retries many by body: a route, listed ids, or all', async () => {
        const some = await call(
          api,
          'POST',
          '/api/v1/failures/retry',
          JSON.stringify({ route: 'b24-products', recordIds: ['p2', 'p1'] }),
        );
        assert.deepEqual([some.status, some.json], [200, { retried: 1 }]);
        assert.equal((await outboxRow(store, 'b24-products', 'a/b:c')).state, 'failed');
        const route = await call(
          api,
          'POST',
          '/api/v1/failures/retry',
          JSON.stringify({ route: 'b24-products' }),
        );
        assert.deepEqual(route.json, { retried: 1 });
        assert.equal((await outboxRow(store, 'site-products', 'p3')).state, 'failed');
        const all = await call(api, 'POST', '/api/v1/failures/retry', JSON.stringify({ all: true }));
        assert.deepEqual(all.json, { retried: 1 });
        const left = await call(api, 'GET', '/api/v1/failures');
        assert.equal(left.json.total, 0);
      });

      for (const [body, message] of [
        ['{}', 'say which failures to retry: body field "route", "ids", "errorClass", or "all": true'],
        ['[1,2]', 'the request body must be a JSON object (got [1,2])'],
        [
          '{"route":"b24-products","recordIds":[]}',
          'body field "recordIds" must hold at least one record id',
        ],
        [
          '{"route":"b24-products","recordIds":"p2"}',
          'body field "recordIds" must be a list of record ids (got "p2")',
        ],
        ['{"route":5}', 'body field "route" must be a route name (got 5)'],
        ['{"route":"b24-products","recordId":["p2"]}', 'unknown body field "recordId"'],
      ] as const) {
        it(`refuses the retry body ${body} with 400 and changes nothing`, async () => {
          const before = await snapshot(store);
          const res = await call(api, 'POST', '/api/v1/failures/retry', body);
          assert.equal(res.status, 400);
          assert.equal(res.json.error.code, 'invalid_parameter');
          assert.ok(res.json.error.message.startsWith(message), res.json.error.message);
          assert.deepEqual(await snapshot(store), before);
        });
      }

      it('answers invalid JSON and an empty JSON body with a clear 400', async () => {
        const broken = await call(api, 'POST', '/api/v1/failures/retry', '{"route": "b24-products",');
        assert.equal(broken.status, 400);
        assert.deepEqual(broken.json, {
          error: { code: 'invalid_json', message: 'the request body is not valid JSON; send a JSON object' },
        });
        const empty = await call(api, 'POST', '/api/v1/failures/retry', '');
        assert.equal(empty.status, 400);
        assert.equal(empty.json.error.code, 'invalid_json');
        const text = await call(api, 'POST', '/api/v1/failures/retry', 'route=x', 'text/csv');
        assert.equal(text.status, 415);
        assert.equal(text.json.error.code, 'unsupported_media_type');
      });
    });

    describe('replay', () => {
      it('queues every record of a configured route with force, and 404s an unknown route', async () => {
        const res = await call(api, 'POST', '/api/v1/routes/b24-products/replay');
        assert.equal(res.status, 200);
        assert.deepEqual(res.json, { queued: 4 });
        const rows = await store.db
          .selectFrom('outbox')
          .selectAll()
          .where('route', '=', 'b24-products')
          .orderBy('record_id')
          .execute();
        assert.deepEqual(
          rows.map((r) => [r.record_id, r.state, r.force, r.want_version]),
          [
            ['a/b:c', 'pending', 1, 1],
            ['p1', 'pending', 1, 2],
            ['p2', 'pending', 1, 1],
            // In flight: keeps its lease, and force 2 makes it go again after that lease.
            ['p3', 'in_flight', 2, 1],
          ],
        );
        const one = await call(
          api,
          'POST',
          '/api/v1/routes/site-products/replay',
          JSON.stringify({ recordIds: ['p2'] }),
        );
        assert.deepEqual(one.json, { queued: 1 });
        assert.equal((await outboxRow(store, 'site-products', 'p2')).force, 1);
        const unknown = await call(api, 'POST', '/api/v1/routes/nope/replay');
        assert.equal(unknown.status, 404);
        assert.deepEqual(unknown.json, {
          error: {
            code: 'unknown_route',
            message:
              'no route "nope" in the config; configured routes: b24-products, site-products, b24-orders',
          },
        });
      });
    });
  });

  describe('limits and hooks', () => {
    let store: Store;
    let api: Api | undefined;
    beforeEach(async () => {
      store = await database().open();
      await seed(store);
    });
    afterEach(async () => {
      await api?.app.close();
      await store.close();
    });

    it('answers a 2 MB body over a 1 KB limit with 413 and a clear message, changing nothing', async () => {
      api = await startApi(store, { bodyLimit: 1024 });
      const before = await snapshot(store);
      const res = await postLarge(api.base, '/api/v1/failures/retry', 2 * 1024 * 1024);
      assert.equal(res.status, 413);
      assert.deepEqual(JSON.parse(res.body), {
        error: {
          code: 'payload_too_large',
          message:
            'the request body is larger than the limit of 1024 bytes; send less (api.bodyLimit in obmen.yaml)',
        },
      });
      assert.deepEqual(await snapshot(store), before);
      const small = await call(
        api,
        'POST',
        '/api/v1/failures/retry',
        JSON.stringify({ route: 'site-products' }),
      );
      assert.deepEqual(small.json, { retried: 1 });
    });

    it('runs a preHandler before every /api/v1 route but not /health', async () => {
      api = await startApi(store, {
        preHandler: async (request, reply) => {
          if (request.headers.authorization !== 'Bearer ok') {
            await reply.code(401).send({ error: { code: 'unauthorized', message: 'send a token' } });
          }
        },
      });
      const denied = await call(api, 'POST', '/api/v1/failures/b24-products/p2/retry');
      assert.equal(denied.status, 401);
      assert.equal((await outboxRow(store, 'b24-products', 'p2')).state, 'failed');
      assert.equal((await call(api, 'GET', '/api/v1/records/product')).status, 401);
      assert.equal((await call(api, 'GET', '/health')).status, 200);
      const allowed = await fetch(`${api.base}/api/v1/records/product`, {
        headers: { authorization: 'Bearer ok' },
      });
      assert.equal(allowed.status, 200);
      assert.equal(((await allowed.json()) as { total: number }).total, 4);
    });
  });
});
