import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildApi } from '../src/api/server.ts';
import { configSchema } from '../src/config/schema.ts';
import { createToken } from '../src/ops/auth/accounts.ts';
import { openStore } from '../src/store/store.ts';

const dir = mkdtempSync(join(tmpdir(), 'obmen-apibench-'));
const store = await openStore({ url: join(dir, 'obmen.db') });
const NOW = Date.now();
const PRODUCTS = 5000;
const LOG_ROWS = 50_000;
const routes = ['b24-products', 'site1-products', 'site2-products'];
const config = configSchema.parse({
  systems: {
    onec: { kind: 'http' },
    b24: { kind: 'http' },
    site1: { kind: 'http' },
    site2: { kind: 'http' },
  },
  routes: routes.map((name) => ({ name, entity: 'product', target: name.split('-')[0] })),
});
const chunk = <T>(a: T[], n: number) =>
  Array.from({ length: Math.ceil(a.length / n) }, (_, i) => a.slice(i * n, i * n + n));
const records = Array.from({ length: PRODUCTS }, (_, i) => ({
  entity: 'product',
  id: `p${i}`,
  // Version 2 is the current one (records); version 1, made when the product was created,
  // is its past version (record_history holds past versions only).
  version: 2,
  hash: `h${i}`,
  data: JSON.stringify({ name: `Товар ${i}`, article: `A-${i}` }),
  origin: 'onec',
  deleted: 0,
  source_updated_at: null,
  created_at: NOW - (i % 14) * 86_400_000,
  updated_at: NOW,
}));
for (const part of chunk(records, 500)) await store.db.insertInto('records').values(part).execute();
for (const part of chunk(
  records.map((r) => ({
    entity: r.entity,
    id: r.id,
    version: 1,
    hash: r.hash,
    data: r.data,
    origin: 'onec',
    deleted: 0,
    changed_at: r.created_at,
  })),
  500,
))
  await store.db.insertInto('record_history').values(part).execute();
const outbox = routes.flatMap((route) =>
  records.map((r, i) => ({
    route,
    record_id: r.id,
    entity: 'product',
    state: (i % 50 === 0 ? 'failed' : 'delivered') as 'failed' | 'delivered',
    want_version: 1,
    attempts: 1,
    next_attempt_at: NOW,
    lease_owner: null,
    lease_expires_at: null,
    lease_version: null,
    last_error: i % 50 === 0 ? 'HTTP 422' : null,
    last_error_class: i % 50 === 0 ? 'permanent' : null,
    waiting_for: null,
    force: 0,
    delivered_hash: null,
    delivered_version: 1,
    delivered_at: i % 50 === 0 ? null : NOW - (i % 14) * 86_400_000,
    created_at: NOW,
    updated_at: NOW,
  })),
);
for (const part of chunk(outbox, 500)) await store.db.insertInto('outbox').values(part).execute();
const logs = Array.from({ length: LOG_ROWS }, (_, i) => ({
  at: NOW - i * 1000,
  system: ['b24', 'site1', 'site2', 'onec'][i % 4]!,
  method: 'POST',
  url: `http://x/rest/${i % 7}/crm.product.add/${i}`,
  status: 200,
  duration_ms: (i % 100) * 3,
  request_body: `{"id":"p${i % PRODUCTS}"}`,
  response_body: '{}',
  error: i % 97 === 0 ? 'HTTP 500' : null,
  session_id: null,
}));
for (const part of chunk(logs, 500)) await store.db.insertInto('request_log').values(part).execute();
const sessions = Array.from({ length: 2000 }, (_, i) => ({
  kind: 'deliver',
  system: 'b24',
  name: routes[i % 3]!,
  owner: 'w',
  started_at: NOW - i * 60_000,
  finished_at: NOW - i * 60_000 + 500,
  status: 'ok' as const,
  counts: '{"delivered":50}',
  error: null,
}));
for (const part of chunk(sessions, 500)) await store.db.insertInto('sessions').values(part).execute();

const app = await buildApi({ store, config });
const token = await createToken(store, { name: 'b', role: 'admin', createdBy: 'b' }, NOW);
const figures: Record<string, { p50: number; p95: number; first?: number }> = {};
async function measure(name: string, url: string, n = 20) {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    const res = await app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${token}` } });
    if (res.statusCode !== 200) throw new Error(`${url}: ${res.statusCode} ${res.body.slice(0, 200)}`);
    times.push(performance.now() - t);
  }
  const first = times[0]!;
  times.sort((a, b) => a - b);
  figures[name] = {
    first: Math.round(first),
    p50: Math.round(times[Math.floor(n / 2)]!),
    p95: Math.round(times[Math.floor(n * 0.95)]!),
  };
}
await measure('metrics (first scrape reads 50k log rows)', '/metrics');
await measure('overview', '/api/v1/overview');
await measure('failures', '/api/v1/failures');
await measure('failures/groups', '/api/v1/failures/groups');
await measure('search', `/api/v1/search?q=${encodeURIComponent('Товар 4999')}`);
await measure('requests page', '/api/v1/requests?system=b24&limit=50');
await measure('journey', '/api/v1/records/product/p4999/journey');
await measure('sessions page', '/api/v1/sessions?limit=50');
console.log(
  `SQLite, ${PRODUCTS} products × 3 routes, ${LOG_ROWS} request-log rows, 2000 sessions; ms per request (20 calls)`,
);
console.table(figures);
await app.close();
await store.close();
rmSync(dir, { recursive: true, force: true });
