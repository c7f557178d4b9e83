import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { type HttpTarget, startHttpTarget } from '../emulators/http-target/index.ts';
import { buildApi } from '../src/api/server.ts';
import { configSchema } from '../src/config/schema.ts';
import { createSecretBox } from '../src/core/secrets.ts';
import { createToken } from '../src/ops/auth/accounts.ts';
import { applySystemOverrides, loadSystemOverrides } from '../src/ops/settings/overrides.ts';
import type { Store } from '../src/store/store.ts';
import { forEachDialect } from './support/stores.ts';

const SECRET = 'Sup3r-Secret-Token-4711';
const box = createSecretBox(Buffer.alloc(32, 7));

forEachDialect('system settings', (db) => {
  let store: Store;
  let app: FastifyInstance;
  let target: HttpTarget;
  let admin: string;

  beforeEach(async () => {
    target = await startHttpTarget({ token: SECRET });
    const config = configSchema.parse({
      systems: {
        site: { kind: 'http', url: target.url, limits: { rate: '5/s' } },
        other: { kind: 'http', url: 'http://127.0.0.1:9', credentials: { token: 'from-yaml-token' } },
      },
    });
    store = await db().open();
    app = await buildApi({ store, config, secretBox: box });
    admin = await createToken(store, { name: 'admin', role: 'admin', createdBy: 'test' }, Date.now());
  });
  afterEach(async () => {
    await app.close();
    await store.close();
    await target.close();
  });

  const call = async (method: string, url: string, body?: unknown) => {
    const res = await app.inject({
      method: method as 'GET',
      url,
      headers: { authorization: `Bearer ${admin}` },
      ...(body === undefined ? {} : { payload: body as object }),
    });
    return { status: res.statusCode, json: res.json(), text: res.body };
  };

  it('saves credentials encrypted, never shows them, and the connection test uses them', async () => {
    const before = await call('POST', '/api/v1/systems/site/test');
    assert.equal(before.status, 200);
    assert.equal(before.json.ok, false, 'without the token the emulator refuses');

    const saved = await call('PUT', '/api/v1/systems/site', {
      url: target.url,
      limits: { rate: '2/s', burst: 2 },
      credentials: { token: SECRET },
    });
    assert.deepEqual([saved.status, saved.json.saved], [200, true]);

    const list = await call('GET', '/api/v1/systems');
    assert.doesNotMatch(list.text, new RegExp(SECRET));
    const site = list.json.items.find((s: { name: string }) => s.name === 'site');
    assert.deepEqual(site.credentials, { token: { set: true, source: 'dashboard' } });
    assert.deepEqual(site.limits, { rate: '2/s', burst: 2 });
    assert.equal(site.source, 'dashboard');
    const other = list.json.items.find((s: { name: string }) => s.name === 'other');
    assert.deepEqual(other.credentials, { token: { set: true, source: 'config' } });

    const test = await call('POST', '/api/v1/systems/site/test');
    assert.deepEqual(test.json, { ok: true, message: 'site: connected, credentials accepted' });

    // At rest: ciphertext only, in the table, the audit log and the request log.
    const row = await store.db.selectFrom('system_settings').selectAll().executeTakeFirstOrThrow();
    assert.match(row.credentials!, /"token":"v1:/);
    for (const table of ['system_settings', 'audit_log', 'request_log'] as const) {
      const dump = JSON.stringify(await store.db.selectFrom(table).selectAll().execute());
      assert.doesNotMatch(dump, new RegExp(SECRET), table);
    }
    if (store.caps.name === 'sqlite') {
      const dir = dirname(store.location);
      const files = readdirSync(dir).filter((f) => f.startsWith('obmen.db'));
      assert.ok(files.length >= 1);
      for (const file of files) {
        const bytes = readFileSync(join(dir, file));
        assert.equal(bytes.indexOf(Buffer.from(SECRET)), -1, `${file} holds the secret in clear`);
      }
    }

    // The lead's start-up merge: obmen.yaml below, dashboard values over it.
    const overrides = await loadSystemOverrides(store, box);
    const merged = applySystemOverrides(
      configSchema.parse({
        systems: { site: { kind: 'http', url: 'http://old', credentials: { login: 'u' } } },
      }),
      overrides,
    );
    assert.deepEqual(merged.systems.site, {
      kind: 'http',
      url: target.url,
      limits: { rate: '2/s', burst: 2 },
      credentials: { login: 'u', token: SECRET },
    });
    await assert.rejects(
      loadSystemOverrides(store, createSecretBox(Buffer.alloc(32, 8))),
      /cannot be decrypted/,
    );
  });

  it('refuses bad input with 4xx and changes nothing', async () => {
    const cases: Array<[string, string, unknown, number, RegExp]> = [
      ['PUT', '/api/v1/systems/nope', { url: 'http://x' }, 404, /no system "nope" in obmen.yaml/],
      ['PUT', '/api/v1/systems/site', { url: 'ftp://x' }, 400, /"url" must be an http/],
      ['PUT', '/api/v1/systems/site', { kind: 'bitrix24' }, 400, /unknown body field "kind"/],
      ['PUT', '/api/v1/systems/site', { limits: { rate: 5 } }, 400, /limits\.rate/],
      ['PUT', '/api/v1/systems/site', { credentials: { token: 42 } }, 400, /credentials\.token/],
      ['PUT', '/api/v1/systems/site', {}, 400, /at least one of/],
      ['PUT', '/api/v1/systems/site', "'; drop table system_settings; --", 415, /application\/json/],
      ['POST', "/api/v1/systems/x'%20or%201=1/test", undefined, 404, /no system/],
    ];
    for (const [method, url, body, status, message] of cases) {
      const res = await call(method, url, body);
      assert.equal(res.status, status, `${method} ${url} ${JSON.stringify(body)}: ${res.text}`);
      assert.match(res.json.error.message, message);
    }
    const malformed = await app.inject({
      method: 'PUT',
      url: '/api/v1/systems/site',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
      payload: '{"url": ',
    });
    assert.deepEqual([malformed.statusCode, malformed.json().error.code], [400, 'invalid_json']);
    const huge = await app.inject({
      method: 'PUT',
      url: '/api/v1/systems/site',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
      payload: JSON.stringify({ options: { blob: 'x'.repeat(11 * 1024 * 1024) } }),
    });
    assert.equal(huge.statusCode, 413);
    assert.equal((await store.db.selectFrom('system_settings').selectAll().execute()).length, 0);
  });
});
