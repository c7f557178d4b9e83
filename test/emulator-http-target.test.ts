import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { after, describe, it } from 'node:test';
import { type HttpTarget, startHttpTarget } from '../emulators/http-target/index.ts';

const targets: HttpTarget[] = [];
after(() => Promise.all(targets.map((target) => target.close())));

async function start(options: Parameters<typeof startHttpTarget>[0] = {}): Promise<HttpTarget> {
  const target = await startHttpTarget(options);
  targets.push(target);
  return target;
}

const item = (id: string, data: Record<string, unknown>, version = 1, deleted = false) => ({
  id,
  externalId: null,
  version,
  hash: `h-${id}-${version}`,
  deleted,
  data,
});

interface WireResult {
  id: string;
  ok: boolean;
  externalId?: string;
  error?: { code: string; message: string; retryable: boolean };
}
interface BatchAnswer {
  results: WireResult[];
  error?: { code: string; message: string };
}
interface PageAnswer {
  items: Array<{ id: string; data: unknown; deleted: boolean; updatedAt: string }>;
  next: string | null;
  cursor: string | null;
}

async function getJson<T>(url: string): Promise<T> {
  return (await (await fetch(url)).json()) as T;
}

async function post(
  target: HttpTarget,
  entity: string,
  items: unknown[],
  headers: Record<string, string> = {},
) {
  const response = await fetch(`${target.url}/${entity}/batch`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ items }),
  });
  return { status: response.status, headers: response.headers, body: (await response.json()) as BatchAnswer };
}

describe('http-target emulator', () => {
  it('assigns externalIds on creation per entity and keeps them on update', async () => {
    const target = await start();
    const first = await post(target, 'product', [item('a', { n: 1 }), item('b', { n: 2 })]);
    assert.equal(first.status, 200);
    assert.deepEqual(first.body.results, [
      { id: 'a', ok: true, externalId: 'T-1' },
      { id: 'b', ok: true, externalId: 'T-2' },
    ]);
    const other = await post(target, 'order', [item('a', { n: 9 })]);
    assert.equal(other.body.results[0]?.externalId, 'T-1', 'sequence is per entity');

    const again = await post(target, 'product', [item('b', { n: 2 }, 2), item('a', { n: 5 }, 2)]);
    assert.deepEqual(
      again.body.results.map((r) => r.externalId),
      ['T-2', 'T-1'],
    );
    const held = target.objects('product');
    assert.deepEqual(held.get('a'), {
      externalId: 'T-1',
      data: { n: 5 },
      version: 2,
      writes: 2,
      deleted: false,
    });
    assert.equal(held.get('b')?.writes, 2);
    assert.deepEqual(target.stats(), {
      writes: 5,
      creates: 3,
      updates: 2,
      unchanged: 1,
      stale: 0,
      requests: 3,
      rejected: 0,
      rateLimited: 0,
      failed: 0,
      inFlight: 0,
      peakInFlight: 1,
    });
    assert.deepEqual(
      target.requests.map((r) => [r.entity, r.ids]),
      [
        ['product', ['a', 'b']],
        ['order', ['a']],
        ['product', ['b', 'a']],
      ],
    );
  });

  it('counts writes that arrive with an older version as stale and marks deletions', async () => {
    const target = await start();
    await post(target, 'product', [item('a', { n: 1 }, 3)]);
    await post(target, 'product', [item('a', { n: 0 }, 2)]);
    await post(target, 'product', [item('a', {}, 4, true)]);
    assert.equal(target.stats().stale, 1);
    assert.equal(target.objects('product').get('a')?.deleted, true);
  });

  it('rejects items per item, in order, with the configured message', async () => {
    const target = await start({
      faults: {
        rejectWhen: (i) => (typeof i.data['name'] !== 'string' ? 'field "name" is required' : undefined),
      },
    });
    const { body } = await post(target, 'product', [
      item('a', { name: 'x' }),
      item('b', {}),
      item('c', { name: 'y', __reject: 'price must be positive' }),
    ]);
    assert.deepEqual(body.results, [
      { id: 'a', ok: true, externalId: 'T-1' },
      {
        id: 'b',
        ok: false,
        error: { code: 'rejected', message: 'field "name" is required', retryable: false },
      },
      {
        id: 'c',
        ok: false,
        error: { code: 'rejected', message: 'price must be positive', retryable: false },
      },
    ]);
    assert.equal(target.stats().rejected, 2);
    assert.equal(target.objects('product').size, 1);
  });

  it('answers malformed bodies with 400 and writes nothing', async () => {
    const target = await start();
    const response = await fetch(`${target.url}/product/batch`, { method: 'POST', body: '{not json' });
    assert.equal(response.status, 400);
    const missingId = await post(target, 'product', [{ data: {} }]);
    assert.equal(missingId.status, 400);
    assert.match(missingId.body.error?.message ?? '', /items\[0\]\.id/);
    assert.equal(target.stats().writes, 0);
  });

  it('requires the bearer token on protocol endpoints but not on introspection', async () => {
    const target = await start({ token: 's3cret' });
    assert.equal((await fetch(`${target.url}/health`)).status, 401);
    assert.equal(
      (await fetch(`${target.url}/health`, { headers: { authorization: 'Bearer nope' } })).status,
      401,
    );
    assert.equal(
      (await fetch(`${target.url}/health`, { headers: { authorization: 'Bearer s3cret' } })).status,
      200,
    );
    assert.equal((await post(target, 'product', [item('a', {})])).status, 401);
    assert.equal(
      (await post(target, 'product', [item('a', {})], { authorization: 'Bearer s3cret' })).status,
      200,
    );
    assert.equal((await fetch(`${target.url}/_stats`)).status, 200);
  });

  it('fails the next N requests with 503, then recovers', async () => {
    const target = await start({ faults: { failNextRequests: 2 } });
    assert.equal((await post(target, 'product', [item('a', {})])).status, 503);
    assert.equal((await post(target, 'product', [item('a', {})])).status, 503);
    assert.equal((await post(target, 'product', [item('a', {})])).status, 200);
    assert.deepEqual([target.stats().failed, target.stats().writes], [2, 1]);
    target.setFaults({ errorRate: 1 });
    assert.equal((await post(target, 'product', [item('a', {})])).status, 503);
    target.setFaults({ errorRate: 0 });
    assert.equal((await post(target, 'product', [item('a', {})])).status, 200);
  });

  it('answers 429 with Retry-After once the burst is spent', async () => {
    const target = await start({ faults: { rateLimit: { perSecond: 0.1, burst: 2 } } });
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    for (let i = 0; i < 3; i++) {
      const response = await post(target, 'product', [item(`p${i}`, {})]);
      statuses.push(response.status);
      if (response.status === 429) retryAfter = response.headers.get('retry-after');
    }
    assert.deepEqual(statuses, [200, 200, 429]);
    assert.ok(
      retryAfter !== null && Number(retryAfter) > 0 && Number(retryAfter) <= 10,
      `Retry-After ${retryAfter}`,
    );
    assert.equal(target.stats().rateLimited, 1);
    assert.equal(target.stats().writes, 2);
  });

  it('serves seeded objects in pages ordered by updatedAt with a resumable cursor', async () => {
    const target = await start();
    target.seed('product', [
      { id: 'c', data: { n: 3 }, updatedAt: 3000 },
      { id: 'a', data: { n: 1 }, updatedAt: 1000 },
      { id: 'b', data: { n: 2 }, updatedAt: 2000, deleted: true },
    ]);
    const page1 = await getJson<PageAnswer>(`${target.url}/product?limit=2`);
    assert.deepEqual(
      page1.items.map((i) => i.id),
      ['a', 'b'],
    );
    assert.deepEqual(page1.items[1], {
      id: 'b',
      data: { n: 2 },
      deleted: true,
      updatedAt: '1970-01-01T00:00:02.000Z',
    });
    assert.equal(typeof page1.next, 'string');
    const page2 = await getJson<PageAnswer>(`${target.url}/product?limit=2&since=${page1.next}`);
    assert.deepEqual(
      page2.items.map((i) => i.id),
      ['c'],
    );
    assert.equal(page2.next, null);

    target.seed('product', [{ id: 'a', data: { n: 10 }, updatedAt: 4000 }]);
    const page3 = await getJson<PageAnswer>(`${target.url}/product?limit=2&since=${page2.cursor}`);
    assert.deepEqual(page3.items, [
      { id: 'a', data: { n: 10 }, deleted: false, updatedAt: '1970-01-01T00:00:04.000Z' },
    ]);

    assert.equal((await fetch(`${target.url}/product?since=garbage`)).status, 400);
  });

  it('runs as a process and exposes counts over /_stats and /_objects', async () => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'emulators/http-target/index.ts', '--port', '0'],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    try {
      const [chunk] = (await once(child.stdout, 'data')) as [Buffer];
      const url = chunk.toString().trim();
      assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
      const write = await fetch(`${url}/product/batch`, {
        method: 'POST',
        body: JSON.stringify({ items: [item('a', { n: 1 })] }),
      });
      assert.equal(write.status, 200);
      const stats = await getJson<Record<string, number>>(`${url}/_stats`);
      assert.equal(stats.writes, 1);
      const objects = await getJson<Record<string, { externalId: string }>>(`${url}/_objects/product`);
      assert.equal(objects['a']?.externalId, 'T-1');
    } finally {
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
  });
});
