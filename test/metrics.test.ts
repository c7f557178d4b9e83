import assert from 'node:assert/strict';
import { afterEach, beforeEach, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { type HttpTarget, startHttpTarget } from '../emulators/http-target/index.ts';
import { buildApi } from '../src/api/server.ts';
import { ManualClock } from '../src/core/clock.ts';
import { createToken } from '../src/ops/auth/accounts.ts';
import { endpointLabel } from '../src/ops/metrics/request-latency.ts';
import type { Store } from '../src/store/store.ts';
import { createTestHub, hubConfig, product, type TestHub } from './support/hub.ts';
import { forEachDialect } from './support/stores.ts';

forEachDialect('metrics, OpenAPI and the dashboard reads after a real delivery run', (db) => {
  let target: HttpTarget;
  let store: Store;
  let hub: TestHub;
  let app: FastifyInstance;
  let token: string;

  beforeEach(async () => {
    target = await startHttpTarget();
    store = await db().open();
    const clock = new ManualClock(Date.now());
    hub = await createTestHub(
      store,
      hubConfig({
        systems: { onec: { kind: 'http', url: target.url }, site: { kind: 'http', url: target.url } },
        routes: [{ name: 'products-to-site', entity: 'product', target: 'site', batchSize: 2 }],
      }),
      { clock },
    );
    app = await buildApi({ store, config: hub.runtime.config, runtime: hub.runtime, now: () => clock.now() });
    token = await createToken(store, { name: 'prom', role: 'operator', createdBy: 'test' }, clock.now());
  });
  afterEach(async () => {
    await app.close();
    await hub.close();
    await store.close();
    await target.close();
  });

  const get = async (url: string, method: 'GET' | 'POST' = 'GET', payload?: object) => {
    const res = await app.inject({
      method,
      url,
      headers: { authorization: `Bearer ${token}` },
      ...(payload ? { payload } : {}),
    });
    return res;
  };

  it('serves Prometheus text with queue depth, deliveries, latency and sessions', async () => {
    await hub.ingest(
      'onec',
      'product',
      [1, 2, 3, 4, 5].map((i) => product(`p${i}`, `Товар ${i}`)),
    );
    target.setFaults({ failNextRequests: 0 });
    const deliver = await get('/api/v1/flows/deliver/products-to-site', 'POST');
    assert.equal(deliver.statusCode, 200);
    assert.equal(deliver.json().delivered, 5);

    const res = await get('/metrics');
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /^text\/plain; version=0\.0\.4/);
    const text = res.body;
    assert.match(text, /^# TYPE obmen_queue_depth gauge$/m);
    assert.match(text, /^obmen_queue_depth\{route="products-to-site",state="delivered"\} 5$/m);
    assert.match(text, /^obmen_queue_depth\{route="products-to-site",state="failed"\} 0$/m);
    assert.match(text, /^obmen_deliveries_total\{route="products-to-site",outcome="delivered"\} 5$/m);
    assert.match(text, /^obmen_sessions\{kind="deliver",status="ok"\} 1$/m);
    const count =
      /^obmen_external_request_duration_seconds_count\{system="site",endpoint="([^"]+)"\} (\d+)$/m.exec(text);
    assert.ok(count, text);
    assert.ok(Number(count[2]) >= 3, 'three batches of at most 2 went out');
    assert.match(
      text,
      new RegExp(`_bucket\\{system="site",endpoint="${count[1]}",le="\\+Inf"\\} ${count[2]}$`, 'm'),
    );
    // Counters only grow between scrapes: the log is read forward, never twice.
    const again = await get('/metrics');
    assert.match(
      again.body,
      new RegExp(`_count\\{system="site",endpoint="${count[1]}"\\} ${count[2]}$`, 'm'),
    );
    assert.equal((await app.inject({ method: 'GET', url: '/metrics' })).statusCode, 401);

    const overview = (await get('/api/v1/overview')).json();
    const site = overview.systems.find((s: { name: string }) => s.name === 'site');
    assert.equal(site.errorRate, 0);
    assert.ok(site.calls1h >= 3);
    assert.deepEqual(overview.queue[0], {
      route: 'products-to-site',
      entity: 'product',
      target: 'site',
      pending: 0,
      waiting: 0,
      inFlight: 0,
      failed: 0,
      delivered24h: 5,
    });
    assert.deepEqual(overview.successRate, [{ entity: 'product', delivered: 5, failed: 0, rate: 1 }]);
    const perDay = overview.perDay.filter((d: { system: string }) => d.system === 'site');
    assert.equal(
      perDay.reduce((n: number, d: { count: number }) => n + d.count, 0),
      5,
    );

    const found = (await get(`/api/v1/search?q=${encodeURIComponent('товар 3')}`)).json();
    assert.equal(found.items.length, 1);
    assert.equal(found.items[0].matchedBy, 'name');
    const journey = (
      await get(`/api/v1/records/product/${encodeURIComponent(found.items[0].id)}/journey`)
    ).json();
    assert.deepEqual(
      journey.deliveries.map((d: { route: string; state: string }) => [d.route, d.state]),
      [['products-to-site', 'delivered']],
    );
    assert.deepEqual(journey.links.map((l: { system: string }) => l.system).sort(), ['onec', 'site']);
    assert.ok(journey.requests.length >= 1, 'the request that carried it is found in the log');
    assert.deepEqual(
      journey.versions[0].diff.find((d: { path: string }) => d.path === 'name'),
      { path: 'name', before: null, after: 'Товар 3' },
    );

    const requests = (await get('/api/v1/requests?system=site&limit=2')).json();
    assert.equal(requests.items.length, 2);
    assert.ok(requests.nextCursor);
    const next = (await get(`/api/v1/requests?system=site&limit=2&cursor=${requests.nextCursor}`)).json();
    assert.ok(next.items.every((i: { id: number }) => i.id < requests.items[1].id));
    const bad = await get('/api/v1/requests?status=5%27%20or%201=1');
    assert.equal(bad.statusCode, 400);
    const injected = (await get(`/api/v1/requests?endpoint=${encodeURIComponent("%' OR 1=1 --")}`)).json();
    assert.deepEqual(injected.items, []);
  });

  it('describes every /api/v1 route in OpenAPI 3.1 and renders the docs page', async () => {
    const res = await get('/api/docs/openapi.json');
    assert.equal(res.statusCode, 200);
    const doc = res.json();
    assert.equal(doc.openapi, '3.1.0');
    const listed = new Set<string>();
    for (const [path, ops] of Object.entries(doc.paths as Record<string, Record<string, unknown>>)) {
      for (const method of Object.keys(ops)) listed.add(`${method.toUpperCase()} ${path}`);
    }
    const routes = app.apiRoutes.filter((r) => r.url.startsWith('/api/v1/'));
    assert.ok(routes.length >= 30);
    for (const route of routes) {
      const key = `${route.method} ${route.url.replace(/:([A-Za-z]+)/g, '{$1}')}`;
      assert.ok(listed.has(key), `${key} is in the OpenAPI document`);
    }
    assert.equal(listed.size, routes.length);
    assert.equal(doc.paths['/api/v1/systems/{name}'].put['x-obmen-access'], 'admin');
    const retry = doc.paths['/api/v1/failures/retry'].post.requestBody.content['application/json'].schema;
    assert.deepEqual(Object.keys(retry.properties).sort(), [
      'all',
      'errorClass',
      'ids',
      'recordIds',
      'route',
    ]);
    assert.equal(retry.additionalProperties, false);
    const sessionParams = doc.paths['/api/v1/sessions'].get.parameters.map((p: { name: string }) => p.name);
    assert.deepEqual(sessionParams.sort(), [
      'cursor',
      'from',
      'kind',
      'limit',
      'offset',
      'status',
      'system',
      'to',
    ]);
    const login = doc.paths['/api/v1/auth/login'].post;
    assert.deepEqual(login.security, []);
    assert.deepEqual(login.requestBody.content['application/json'].schema.required, ['login', 'password']);
    const page = await get('/api/docs');
    assert.match(String(page.headers['content-type']), /text\/html/);
    assert.match(page.body, /openapi\.json/);
    assert.doesNotMatch(page.body, /https?:\/\/(cdn|unpkg)/);
  });

  it('folds ids out of endpoint labels', () => {
    assert.equal(
      endpointLabel("http://h/odata/Catalog_Товары(guid'ab')?$top=5"),
      '/odata/Catalog_Товары(:key)',
    );
    assert.equal(endpointLabel('http://h/product/12345'), '/product/:id');
  });
});
