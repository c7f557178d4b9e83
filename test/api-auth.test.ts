import assert from 'node:assert/strict';
import { afterEach, beforeEach, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildApi } from '../src/api/server.ts';
import { configSchema } from '../src/config/schema.ts';
import { createToken, upsertUser } from '../src/ops/auth/accounts.ts';
import { ensureAdminFromEnv, runUserCli } from '../src/ops/auth/cli.ts';
import { verifyPassword } from '../src/ops/auth/passwords.ts';
import type { Role } from '../src/ops/auth/roles.ts';
import type { Store } from '../src/store/store.ts';
import { forEachDialect } from './support/stores.ts';

const config = configSchema.parse({
  systems: { site: { kind: 'http', url: 'http://127.0.0.1:9' } },
  sources: [{ name: 'site-products', system: 'site', entity: 'product' }],
  routes: [{ name: 'site-products-out', entity: 'product', target: 'site' }],
  auth: { maxLoginFailures: 3, loginWindow: '15m' },
});

const PASSWORD = 'correct horse battery';

interface Reply {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: response bodies of many shapes, checked field by field
  json: any;
  headers: Record<string, string | number | string[] | undefined>;
}

async function call(
  app: FastifyInstance,
  method: string,
  url: string,
  options: { token?: string; cookie?: string; csrf?: string; body?: unknown } = {},
): Promise<Reply> {
  const headers: Record<string, string> = {};
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (options.cookie) headers.cookie = options.cookie;
  if (options.csrf) headers['x-csrf-token'] = options.csrf;
  const res = await app.inject({
    method: method as 'GET',
    url,
    headers,
    ...(options.body === undefined ? {} : { payload: options.body as object }),
  });
  let json: unknown = null;
  try {
    json = res.json();
  } catch {}
  return { status: res.statusCode, json, headers: res.headers };
}

function sessionCookie(reply: Reply): string {
  const raw = reply.headers['set-cookie'];
  const line = (Array.isArray(raw) ? raw : [String(raw ?? '')]).find((c) => c.startsWith('obmen_session='));
  assert.ok(line, 'login sets the obmen_session cookie');
  return line.split(';')[0]!;
}

/** A concrete URL for a route pattern: unknown ids are fine, only the auth outcome is checked. */
const concrete = (pattern: string) => pattern.replace(/:([A-Za-z]+)/g, 'x');

forEachDialect('API auth', (db) => {
  let store: Store;
  let app: FastifyInstance;
  let now: number;
  const tokens: Partial<Record<Role, string>> = {};

  beforeEach(async () => {
    store = await db().open();
    now = Date.UTC(2026, 5, 1, 10, 0, 0);
    app = await buildApi({ store, config, now: () => now });
    for (const role of ['viewer', 'operator', 'admin'] as const) {
      await upsertUser(store, { login: role, password: PASSWORD, role }, now);
      tokens[role] = await createToken(store, { name: `${role}-script`, role, createdBy: 'test' }, now);
    }
  });
  afterEach(async () => {
    await app.close();
    await store.close();
  });

  it('enforces the role of every route for anonymous, viewer, operator and admin callers', async () => {
    const routes = app.apiRoutes.filter(
      (r) => r.url.startsWith('/api/v1/') || r.url === '/metrics' || r.url.startsWith('/api/docs'),
    );
    assert.ok(routes.length >= 30, `the route list has every route (${routes.length})`);
    const rank = { public: -1, viewer: 0, operator: 1, admin: 2 } as const;
    const checked: string[] = [];
    for (const route of routes) {
      for (const who of ['anonymous', 'viewer', 'operator', 'admin'] as const) {
        const token = who === 'anonymous' ? undefined : tokens[who];
        const res = await call(app, route.method, concrete(route.url), {
          ...(token ? { token } : {}),
          ...(route.method === 'GET' ? {} : { body: {} }),
        });
        const where = `${who} ${route.method} ${route.url} → ${res.status} ${JSON.stringify(res.json)}`;
        if (route.access === 'public') {
          assert.notEqual(res.status, 401, where);
          assert.notEqual(res.status, 403, where);
        } else if (who === 'anonymous') {
          assert.equal(res.status, 401, where);
          assert.equal(res.json.error.code, 'unauthenticated', where);
        } else if (rank[who] < rank[route.access]) {
          assert.equal(res.status, 403, where);
          assert.equal(res.json.error.code, 'forbidden', where);
        } else {
          assert.ok(![401, 403].includes(res.status), where);
        }
        checked.push(where);
      }
    }
    const access = Object.fromEntries(routes.map((r) => [`${r.method} ${r.url}`, r.access]));
    assert.equal(access['PUT /api/v1/systems/:name'], 'admin');
    assert.equal(access['POST /api/v1/users'], 'admin');
    assert.equal(access['POST /api/v1/tokens'], 'admin');
    assert.equal(access['GET /api/v1/audit'], 'admin');
    assert.equal(access['DELETE /api/v1/tokens/:id'], 'admin');
    assert.equal(access['POST /api/v1/failures/retry'], 'operator');
    assert.equal(access['POST /api/v1/routes/:route/replay'], 'operator');
    assert.equal(access['GET /api/v1/overview'], 'viewer');
    assert.equal(access['POST /api/v1/auth/login'], 'public');
    assert.equal(checked.length, routes.length * 4);
  });

  it('logs in with a cookie, requires the CSRF header on changes, and logs out', async () => {
    const login = await call(app, 'POST', '/api/v1/auth/login', {
      body: { login: 'operator', password: PASSWORD },
    });
    assert.equal(login.status, 200);
    assert.deepEqual(login.json.user, { login: 'operator', role: 'operator' });
    const raw = String(login.headers['set-cookie']);
    assert.match(raw, /HttpOnly/);
    assert.match(raw, /SameSite=Lax/);
    assert.doesNotMatch(raw, /Secure/, 'plain http: no Secure flag, or the browser would drop the cookie');
    const cookie = sessionCookie(login);
    const csrf = login.json.csrfToken as string;

    const me = await call(app, 'GET', '/api/v1/auth/me', { cookie });
    assert.deepEqual(me.json, { user: { login: 'operator', role: 'operator' }, csrfToken: csrf });

    const body = { all: true };
    const noCsrf = await call(app, 'POST', '/api/v1/failures/retry', { cookie, body });
    assert.equal(noCsrf.status, 403);
    assert.equal(noCsrf.json.error.code, 'csrf');
    const badCsrf = await call(app, 'POST', '/api/v1/failures/retry', { cookie, csrf: `${csrf}x`, body });
    assert.equal(badCsrf.status, 403);
    const ok = await call(app, 'POST', '/api/v1/failures/retry', { cookie, csrf, body });
    assert.deepEqual([ok.status, ok.json], [200, { retried: 0 }]);

    const out = await call(app, 'POST', '/api/v1/auth/logout', { cookie, csrf });
    assert.equal(out.status, 204);
    const after = await call(app, 'GET', '/api/v1/overview', { cookie });
    assert.equal(after.status, 401);
    assert.equal(after.json.error.code, 'session_expired');
  });

  it('marks the cookie Secure behind https', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      headers: { 'x-forwarded-proto': 'https' },
      payload: { login: 'viewer', password: PASSWORD },
    });
    assert.match(String(res.headers['set-cookie']), /Secure/);
  });

  it('refuses wrong passwords, unknown logins, expired sessions and bad tokens', async () => {
    const wrong = await call(app, 'POST', '/api/v1/auth/login', {
      body: { login: 'admin', password: 'nope-nope' },
    });
    assert.deepEqual([wrong.status, wrong.json.error.code], [401, 'bad_credentials']);
    const nobody = await call(app, 'POST', '/api/v1/auth/login', {
      body: { login: 'ghost', password: PASSWORD },
    });
    assert.deepEqual([nobody.status, nobody.json.error.message], [401, 'wrong login or password']);

    const login = await call(app, 'POST', '/api/v1/auth/login', {
      body: { login: 'viewer', password: PASSWORD },
    });
    const cookie = sessionCookie(login);
    assert.equal((await call(app, 'GET', '/api/v1/overview', { cookie })).status, 200);
    now += 13 * 3_600_000; // past the 12h session lifetime
    const expired = await call(app, 'GET', '/api/v1/overview', { cookie });
    assert.deepEqual([expired.status, expired.json.error.code], [401, 'session_expired']);

    for (const token of ['obm_not-a-real-token', 'plainvalue']) {
      const res = await call(app, 'GET', '/api/v1/overview', { token });
      assert.deepEqual([res.status, res.json.error.code], [401, 'invalid_token'], token);
    }
    const malformed = await app.inject({
      method: 'GET',
      url: '/api/v1/overview',
      headers: { authorization: 'Basic abc' },
    });
    assert.equal(malformed.statusCode, 401);
    await store.db.updateTable('api_tokens').set({ revoked: 1 }).where('name', '=', 'admin-script').execute();
    assert.equal((await call(app, 'GET', '/api/v1/overview', { token: tokens.admin! })).status, 401);
    const forgedCookie = await call(app, 'GET', '/api/v1/overview', { cookie: 'obmen_session=forged' });
    assert.equal(forgedCookie.status, 401);
  });

  it('throttles logins after repeated failures for that login and address, and the right password then waits too', async () => {
    for (let i = 0; i < 3; i++) {
      const res = await call(app, 'POST', '/api/v1/auth/login', {
        body: { login: 'admin', password: `bad-${i}-xx` },
      });
      assert.equal(res.status, 401);
    }
    const blocked = await call(app, 'POST', '/api/v1/auth/login', {
      body: { login: 'admin', password: PASSWORD },
    });
    assert.equal(blocked.status, 429);
    assert.equal(blocked.json.error.code, 'too_many_attempts');
    assert.ok(Number(blocked.headers['retry-after']) > 0);
    const other = await call(app, 'POST', '/api/v1/auth/login', {
      body: { login: 'viewer', password: PASSWORD },
    });
    assert.equal(other.status, 200, 'another login is not locked out');
    now += 16 * 60_000;
    const later = await call(app, 'POST', '/api/v1/auth/login', {
      body: { login: 'admin', password: PASSWORD },
    });
    assert.equal(later.status, 200);
  });

  it('audits every state change with who, what, target and details without secrets', async () => {
    const admin = { token: tokens.admin! };
    const created = await call(app, 'POST', '/api/v1/users', {
      ...admin,
      body: { login: 'anna', password: 'Пароль-очень-секретный', role: 'operator' },
    });
    assert.equal(created.status, 201);
    const token = await call(app, 'POST', '/api/v1/tokens', {
      ...admin,
      body: { name: 'ci', role: 'viewer' },
    });
    assert.equal(token.status, 201);
    assert.match(token.json.token, /^obm_[A-Za-z0-9_-]{43}$/);
    assert.equal((await call(app, 'GET', '/api/v1/overview', { token: token.json.token })).status, 200);
    const listed = await call(app, 'GET', '/api/v1/tokens', admin);
    const ci = listed.json.items.find((t: { name: string }) => t.name === 'ci');
    assert.deepEqual([ci.role, ci.revoked, typeof ci.lastUsedAt], ['viewer', false, 'number']);
    assert.doesNotMatch(JSON.stringify(listed.json), new RegExp(token.json.token));
    assert.equal((await call(app, 'DELETE', `/api/v1/tokens/${ci.id}`, admin)).status, 200);
    assert.equal((await call(app, 'GET', '/api/v1/overview', { token: token.json.token })).status, 401);
    assert.equal((await call(app, 'DELETE', "/api/v1/tokens/' OR 1=1", admin)).status, 404);
    await call(app, 'POST', '/api/v1/failures/retry', {
      token: tokens.operator!,
      body: { route: 'site-products-out' },
    });
    const refused = await call(app, 'POST', '/api/v1/failures/retry', {
      token: tokens.operator!,
      body: { bogus: 1 },
    });
    assert.equal(refused.status, 400);
    await call(app, 'POST', '/api/v1/auth/login', { body: { login: 'anna', password: 'wrong-password' } });

    const audit = await call(app, 'GET', '/api/v1/audit?limit=50', admin);
    assert.equal(audit.status, 200);
    const rows = audit.json.items as Array<{
      user: string;
      action: string;
      target: string | null;
      // biome-ignore lint/suspicious/noExplicitAny: details differ per action
      details: any;
    }>;
    const actions = rows.map((r) => `${r.user} ${r.action}`).reverse();
    assert.deepEqual(actions, [
      'token:admin-script user.save',
      'token:admin-script token.create',
      'token:admin-script token.revoke',
      'token:operator-script failures.retry',
      'anna auth.login_failed',
    ]);
    const userRow = rows.find((r) => r.action === 'user.save')!;
    assert.deepEqual(userRow.details, { login: 'anna', password: '***', role: 'operator' });
    assert.equal(rows.find((r) => r.action === 'failures.retry')!.details.route, 'site-products-out');
    const everything = JSON.stringify(await store.db.selectFrom('audit_log').selectAll().execute());
    assert.doesNotMatch(everything, /Пароль-очень-секретный/);
    assert.doesNotMatch(everything, new RegExp(token.json.token));
    const stored = await store.db
      .selectFrom('users')
      .select('password_hash')
      .where('login', '=', 'anna')
      .executeTakeFirstOrThrow();
    assert.match(stored.password_hash, /^scrypt\$16384\$8\$1\$/);
    assert.ok(await verifyPassword('Пароль-очень-секретный', stored.password_hash));
    assert.ok(!(await verifyPassword('Пароль-очень-секретныЙ', stored.password_hash)));
  });

  it('creates users from the CLI and the first admin from the environment only once', async () => {
    const lines: string[] = [];
    const io = { out: (t: string) => lines.push(t), env: { OBMEN_USER_PASSWORD: 'cli-password-1' } };
    assert.equal(await runUserCli(['add', 'ops', '--role', 'admin'], store, io), 0);
    assert.equal(await runUserCli(['add', 'ops', '--role', 'root'], store, io), 2);
    assert.equal(
      await runUserCli(['add', 'x', '--role', 'viewer'], store, {
        ...io,
        env: { OBMEN_USER_PASSWORD: 'short' },
      }),
      2,
    );
    assert.deepEqual(lines, [
      'created user ops (admin)',
      '--role root: use one of viewer, operator, admin',
      'the password must be at least 8 characters',
    ]);
    const login = await call(app, 'POST', '/api/v1/auth/login', {
      body: { login: 'ops', password: 'cli-password-1' },
    });
    assert.equal(login.json.user.role, 'admin');
    // Users exist already: the env admin is not created, nor is a password reset.
    assert.equal(
      await ensureAdminFromEnv(store, { OBMEN_ADMIN_LOGIN: 'boss', OBMEN_ADMIN_PASSWORD: 'boss-password' }),
      undefined,
    );
    await store.db.deleteFrom('users').execute();
    assert.equal(
      await ensureAdminFromEnv(store, { OBMEN_ADMIN_LOGIN: 'boss', OBMEN_ADMIN_PASSWORD: 'boss-password' }),
      'boss',
    );
    const boss = await call(app, 'POST', '/api/v1/auth/login', {
      body: { login: 'boss', password: 'boss-password' },
    });
    assert.deepEqual(boss.json.user, { login: 'boss', role: 'admin' });
  });
});
