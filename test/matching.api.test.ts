import assert from 'node:assert/strict';
import { test } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import type { ApiContext } from '../src/api/context.ts';
import { installErrorHandlers } from '../src/api/errors.ts';
import { holdsRoutes } from '../src/api/routes/holds.ts';
import { configSchema } from '../src/config/schema.ts';
import { CANONICAL_ENTITIES } from '../src/core/entities/index.ts';
import { findMatch } from '../src/matching/find.ts';
import { holdPossibleDuplicate } from '../src/matching/holds.ts';
import { indexMatchKeys } from '../src/matching/index-keys.ts';
import type { Store } from '../src/store/store.ts';
import { forEachDialect } from './support/stores.ts';

const NOW = Date.UTC(2026, 0, 1, 12, 0, 0);

/** The holds routes mounted the way server.ts mounts route files (under /api/v1). */
async function buildApp(store: Store): Promise<FastifyInstance> {
  const app = Fastify({ logger: false });
  const ctx: ApiContext = {
    store,
    config: configSchema.parse({}),
    entities: new Set(CANONICAL_ENTITIES),
    now: () => NOW,
  };
  installErrorHandlers(app, 1024 * 1024, undefined);
  await app.register(async (v1) => holdsRoutes(v1, ctx), { prefix: '/api/v1' });
  return app;
}

async function addCounterparty(store: Store, id: string, data: Record<string, unknown>, b24: string) {
  await store.tx(async (trx) => {
    await trx
      .insertInto('records')
      .values({
        entity: 'counterparty',
        id,
        version: 1,
        hash: `h-${id}`,
        data: JSON.stringify(data),
        origin: 'b24',
        deleted: 0,
        source_updated_at: null,
        created_at: NOW,
        updated_at: NOW,
      })
      .execute();
    await trx
      .insertInto('links')
      .values({
        entity: 'counterparty',
        record_id: id,
        system: 'b24',
        external_id: b24,
        last_hash: null,
        updated_at: NOW,
      })
      .execute();
    await indexMatchKeys(trx, 'counterparty', id, data);
  });
}

forEachDialect('holds API', (db) => {
  test('list, show and resolve a possible duplicate; the duplicates report', async () => {
    const store = await db().open();
    const app = await buildApp(store);
    try {
      await addCounterparty(store, 'c-1', { name: 'Петров (опт)', phones: ['+7 912 345-67-89'] }, 'C_1');
      await addCounterparty(store, 'c-2', { name: 'Петров (розница)', phones: ['89123456789'] }, 'C_2');
      const incoming = { name: 'Петров', phones: ['8 (912) 345 67 89'] };
      const match = await findMatch(store, 'counterparty', incoming);
      assert.equal(match.kind, 'ambiguous');
      const hold = await holdPossibleDuplicate(store, {
        entity: 'counterparty',
        system: 'onec',
        externalId: 'guid-9',
        data: incoming,
        candidates: match.kind === 'ambiguous' ? match.candidates : [],
      });

      const list = await app.inject({ method: 'GET', url: '/api/v1/holds?kind=possible_duplicate' });
      assert.equal(list.statusCode, 200);
      const body = list.json();
      assert.equal(body.total, 1);
      assert.deepEqual(
        body.items[0].candidates.map((c: { recordId: string }) => c.recordId),
        ['c-1', 'c-2'],
      );

      const one = await app.inject({ method: 'GET', url: `/api/v1/holds/${hold.id}` });
      assert.equal(one.json().externalId, 'guid-9');

      const resolved = await app.inject({
        method: 'POST',
        url: `/api/v1/holds/${hold.id}/resolve`,
        payload: { link: 'c-1' },
      });
      assert.equal(resolved.statusCode, 200);
      assert.deepEqual(resolved.json().resolution, { link: 'c-1' });
      assert.equal(resolved.json().resolvedBy, 'api');
      assert.equal(resolved.json().resolvedAt, NOW);

      const twice = await app.inject({
        method: 'POST',
        url: `/api/v1/holds/${hold.id}/resolve`,
        payload: { create: true },
      });
      assert.equal(twice.statusCode, 409);
      assert.match(twice.json().error.message, /already resolved/);

      const report = await app.inject({
        method: 'GET',
        url: '/api/v1/duplicates?entity=counterparty&system=b24',
      });
      assert.equal(report.statusCode, 200);
      assert.deepEqual(
        report
          .json()
          .groups.map((g: { rule: string; key: string; records: Array<{ externalIds: string[] }> }) => [
            g.rule,
            g.key,
            g.records.map((r) => r.externalIds[0]),
          ]),
        [['phone', '+79123456789', ['C_1', 'C_2']]],
      );
    } finally {
      await app.close();
      await store.close();
    }
  });

  test('bad requests say what to send', async () => {
    const store = await db().open();
    const app = await buildApp(store);
    try {
      const cases: Array<[string, string, unknown, number, RegExp]> = [
        [
          'GET',
          '/api/v1/holds?state=closed',
          undefined,
          400,
          /query parameter "state" must be open, resolved or all/,
        ],
        ['GET', '/api/v1/holds?entity=spaceship', undefined, 400, /unknown entity "spaceship"/],
        ['GET', '/api/v1/holds/abc', undefined, 400, /path parameter "id" must be a hold id/],
        ['GET', '/api/v1/holds/42', undefined, 404, /no hold 42/],
        ['POST', '/api/v1/holds/42/resolve', { link: 'c-1' }, 404, /no hold 42/],
        [
          'POST',
          '/api/v1/holds/1/resolve',
          { merge: true },
          400,
          /must be \{ "link": "<record id>" \}, \{ "create": true \} or \{ "retry": true \}/,
        ],
        ['GET', '/api/v1/duplicates', undefined, 400, /query parameter "entity" must name the entity/],
        [
          'GET',
          '/api/v1/duplicates?entity=counterparty&rule=dna',
          undefined,
          400,
          /query parameter "rule" must be one of inn_kpp/,
        ],
      ];
      for (const [method, url, payload, status, pattern] of cases) {
        const response = await app.inject({
          method: method as 'GET' | 'POST',
          url,
          ...(payload ? { payload: payload as object } : {}),
        });
        assert.equal(response.statusCode, status, `${method} ${url}: ${response.body}`);
        assert.match(response.json().error.message, pattern, `${method} ${url}`);
      }
    } finally {
      await app.close();
      await store.close();
    }
  });
});
