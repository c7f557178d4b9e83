import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import Fastify from 'fastify';
import { pino } from 'pino';
import { type Bitrix24Emulator, startBitrix24Emulator } from '../emulators/bitrix24/index.ts';
import type { RouteConfig, SystemConfig } from '../src/config/schema.ts';
import {
  type Bitrix24Context,
  bitrix24Connector,
  reauthorizationOf,
} from '../src/connectors/bitrix24/index.ts';
import { registerConnector } from '../src/connectors/registry.ts';
import type { Connector, ConnectorContext, DeliveryItem } from '../src/core/connector.ts';
import { ObmenError } from '../src/core/errors.ts';
import { drainRoute } from '../src/engine/worker.ts';
import { createHttpClient } from '../src/http/client.ts';
import { openStore, type Store } from '../src/store/store.ts';
import { createTestHub, hubConfig } from './support/hub.ts';
import { startChild } from './support/processes.ts';
import { createTestDatabase, forEachDialect } from './support/stores.ts';

process.env.OBMEN_SECRET_KEY ??= 'bitrix24-oauth-test-key';
const log = pino({ level: 'silent' });
const CLIENT = { clientId: 'local.obmen.1', clientSecret: 'app-secret-value' };

function oauthSystem(
  url: string,
  tokens: { access_token: string; refresh_token: string },
  tokenUrl: string,
): SystemConfig {
  return {
    kind: 'bitrix24',
    url,
    credentials: { ...CLIENT, accessToken: tokens.access_token, refreshToken: tokens.refresh_token },
    options: { tokenServerUrl: tokenUrl },
  };
}

function connect(sys: SystemConfig, store: Store, extra: Partial<Bitrix24Context> = {}): Connector {
  const http = createHttpClient({ system: 'b24', maxRetries: 0 });
  const ctx: Bitrix24Context = {
    systemName: 'b24',
    system: sys,
    http,
    log,
    signal: new AbortController().signal,
    store,
    ...extra,
  };
  return bitrix24Connector.create(ctx);
}

const route: RouteConfig = {
  name: 'products-to-b24',
  entity: 'product',
  target: 'b24',
  schedule: 'on-change',
  batchSize: 50,
};
const product = (i: number): DeliveryItem => ({
  recordId: `product-${i}`,
  entity: 'product',
  version: 1,
  hash: `h${i}`,
  data: { name: `Товар ${i}` },
  deleted: false,
  externalId: undefined,
});

// The crash child: refreshes, and the parent kills it right after the new tokens are committed.
if (process.env.B24_CRASH_CHILD) {
  const store = await openStore({ url: process.env.B24_DB_URL! });
  const sys = JSON.parse(process.env.B24_SYSTEM!) as SystemConfig;
  const hang = (line: string) => {
    process.stdout.write(`${line}\n`);
    return new Promise<never>(() => {}); // the parent kills us here
  };
  let connector: Connector;
  if (process.env.B24_CRASH_CHILD === 'before-save') {
    // The token server has answered (and rotated the refresh token); obmen never got to save.
    const fetchImpl: typeof fetch = async (input, init) => {
      const response = await fetch(input, init);
      if (String(input).includes('/oauth/token/')) await hang('TOKEN_ANSWERED');
      return response;
    };
    const http = createHttpClient({ system: 'b24', maxRetries: 0, fetchImpl });
    connector = bitrix24Connector.create({
      systemName: 'b24',
      system: sys,
      http,
      log,
      signal: new AbortController().signal,
      store,
    } as Bitrix24Context);
  } else {
    connector = connect(sys, store, { afterTokensSaved: () => hang('TOKENS_SAVED') });
  }
  await connector.write!(route, [product(1000)]);
  process.stdout.write('UNEXPECTED_WRITE_DONE\n');
} else {
  const emulators: Bitrix24Emulator[] = [];
  after(() => Promise.all(emulators.map((e) => e.close())));
  const emulator = async () => {
    const e = await startBitrix24Emulator({ oauth: CLIENT });
    emulators.push(e);
    return e;
  };

  forEachDialect('bitrix24 OAuth tokens', (db) => {
    it('token expiry mid-sync: one refresh, nothing lost, no extra writes; tokens stored encrypted', async () => {
      const e = await emulator();
      const tokens = e.issueTokens();
      const store = await db().open();
      try {
        const sys = oauthSystem(e.url, tokens, e.tokenUrl);
        registerConnector({
          kind: 'bitrix24',
          create: (ctx: ConnectorContext) => bitrix24Connector.create({ ...ctx, store } as Bitrix24Context),
        });
        const hub = await createTestHub(
          store,
          hubConfig({
            systems: { onec: { kind: 'noop' }, b24: sys },
            routes: [{ name: 'products-to-b24', entity: 'product', target: 'b24', batchSize: 50 }],
          }),
        );
        try {
          await hub.ingest(
            'onec',
            'product',
            Array.from({ length: 200 }, (_, i) => ({ externalId: `p${i}`, data: { name: `Товар ${i}` } })),
          );
          let batches = 0;
          const totals = await drainRoute(hub.runtime, 'products-to-b24', {
            onBatch: () => {
              // One hour passes after the first batch: every later call meets expired_token.
              if (++batches === 1) e.advance(3_600_000);
            },
          });
          assert.equal(totals.delivered, 200);
          const rows = await hub.outbox('products-to-b24');
          assert.ok(rows.every((r) => r.state === 'delivered'));
          const stats = e.stats();
          assert.equal(stats.tokenRefreshes, 1, 'refreshed exactly once');
          assert.equal(stats.writesByMethod['catalog.product.add'], 200, 'no product written twice');
          assert.equal(e.state.table('product').size, 200);
          const row = await store.db
            .selectFrom('bitrix24_tokens')
            .selectAll()
            .where('system', '=', 'b24')
            .executeTakeFirstOrThrow();
          assert.equal(row.version, 2);
          assert.ok(
            !row.refresh_token.includes(tokens.refresh_token) && row.refresh_token.startsWith('v1:'),
            'refresh token encrypted at rest',
          );
          assert.ok(!row.access_token.includes(tokens.access_token));
        } finally {
          await hub.close();
          registerConnector(bitrix24Connector);
        }
      } finally {
        await store.close();
      }
    });

    it('two workers meeting the same expired token refresh it once', async () => {
      const e = await emulator();
      const tokens = e.issueTokens();
      const storeA = await db().open();
      // SQLite: one connection per process (better-sqlite3 blocks the thread on a held lock);
      // the two connectors still only share the database, not their in-process state.
      const storeB = db().dialect === 'sqlite' ? storeA : await db().open();
      try {
        const sys = oauthSystem(e.url, tokens, e.tokenUrl);
        const a = connect(sys, storeA);
        const b = connect(sys, storeB);
        await a.check();
        await b.check();
        e.advance(3_600_000);
        const [ra, rb] = await Promise.all([a.write!(route, [product(1)]), b.write!(route, [product(2)])]);
        assert.ok(ra[0]?.ok && rb[0]?.ok);
        assert.equal(e.stats().tokenRefreshes, 1);
      } finally {
        await storeA.close();
        if (storeB !== storeA) await storeB.close();
      }
    });
    it('obmen bitrix24 authorize --code: a code pasted by hand is exchanged once; a reused code or one from another portal is refused', async () => {
      const e = await emulator();
      const store = await db().open();
      try {
        // The application's address is not obmen here: the code is read from the address bar.
        e.oauth!.redirectUri = 'https://app.example.ru/bitrix24';
        const sys = oauthSystem(e.url, e.issueTokens(), e.tokenUrl);
        const codeFrom = async (link: string) => {
          const res = await fetch(link, { redirect: 'manual' });
          return new URL(res.headers.get('location')!).searchParams.get('code')!;
        };
        const connector = connect(sys, store);
        const reauth = reauthorizationOf(connector)!;
        const code = await codeFrom(reauth.link());
        const before = await store.db
          .selectFrom('bitrix24_tokens')
          .select('version')
          .where('system', '=', 'b24')
          .executeTakeFirst();
        const done = await reauth.withCode(code, []);
        assert.equal(
          done.version,
          Number(before?.version ?? 0) + 1,
          'the authorised pair is the next version',
        );
        const again = await reauth.withCode(code, []).catch((error: unknown) => error);
        assert.ok(again instanceof ObmenError && again.code === 'AUTH_CODE_REFUSED', String(again));
        assert.match((again as Error).message, /works once: run `obmen bitrix24 authorize b24` again/);
        const out = await connector.write!(route, [product(1)]);
        assert.ok(out[0]?.ok, 'the authorised tokens work');

        const port = new URL(e.url).port;
        const elsewhere = reauthorizationOf(connect({ ...sys, url: `http://localhost:${port}` }, store))!;
        const wrong = await elsewhere
          .withCode(await codeFrom(reauth.link()), [])
          .catch((error: unknown) => error);
        assert.ok(wrong instanceof ObmenError && wrong.code === 'AUTH_WRONG_PORTAL', String(wrong));
      } finally {
        await store.close();
      }
    });
  });

  describe('bitrix24 OAuth without a store', () => {
    it('is refused with a config error instead of keeping single-use refresh tokens only in memory', async () => {
      const e = await emulator();
      const sys = oauthSystem(e.url, e.issueTokens(), e.tokenUrl);
      const connector = bitrix24Connector.create({
        systemName: 'b24',
        system: sys,
        http: createHttpClient({ system: 'b24' }),
        log,
        signal: new AbortController().signal,
      });
      await assert.rejects(connector.check(), (error: unknown) => {
        assert.ok(error instanceof Error && 'errorClass' in error && error.errorClass === 'config');
        assert.match(error.message, /OAuth needs the database/);
        return true;
      });
      assert.equal(e.stats().httpRequests, 0);
    });
  });

  describe('bitrix24 OAuth crash during refresh', () => {
    it("killed between the token server's answer and the save (the residual window): a lock-out error naming the re-authorisation, no retry storm; authorising again over HTTP recovers and re-queues what was parked", async () => {
      const e = await emulator();
      const tokens = e.issueTokens();
      const db = await createTestDatabase('sqlite');
      const sys = oauthSystem(e.url, tokens, e.tokenUrl);
      try {
        const seed = await db.open();
        await connect(sys, seed).check();
        await seed.close();
        e.advance(3_600_000);
        const child = startChild(['--import', 'tsx', 'test/connector-bitrix24-oauth.test.ts'], {
          ...db.env,
          B24_CRASH_CHILD: 'before-save',
          B24_DB_URL: db.env['OBMEN_DATABASE_URL'] ?? '',
          B24_SYSTEM: JSON.stringify(sys),
        });
        await child.waitFor(/TOKEN_ANSWERED/);
        child.process.kill('SIGKILL');
        await child.exited;
        const store = await db.open();
        registerConnector(bitrix24Connector);
        // The killed worker's refresh lease has run out by now.
        const clock = { now: () => Date.now() + 120_000, sleep: async () => {} };
        const hub = await createTestHub(
          store,
          hubConfig({
            systems: { onec: { kind: 'noop' }, b24: sys },
            routes: [{ name: 'products-to-b24', entity: 'product', target: 'b24', batchSize: 2 }],
          }),
          { clock },
        );
        const app = Fastify({ logger: false });
        try {
          await hub.ingest(
            'onec',
            'product',
            Array.from({ length: 5 }, (_, i) => ({ externalId: `p${i}`, data: { name: `Товар ${i}` } })),
          );
          const tokenRequests = e.oauth!.tokenRequests;
          await hub.deliver('products-to-b24');
          const parked = await hub.outbox('products-to-b24');
          assert.equal(parked.length, 5);
          for (const row of parked) {
            assert.equal(row.state, 'failed');
            assert.equal(row.last_error_class, 'config');
            assert.match(row.last_error ?? '', /refused the stored refresh token \(invalid_grant\)/);
            assert.match(row.last_error ?? '', /run `obmen bitrix24 authorize b24`/);
          }
          assert.equal(
            e.oauth!.tokenRequests - tokenRequests,
            1,
            'refused once; later calls fail without asking again',
          );
          assert.equal(e.stats().writes, 0, 'nothing was written with lost tokens');

          // Recovery: the administrator opens the link; Bitrix24 returns to obmen with a code.
          await hub.runtime.connectors.get('b24')!.mountInbound!(app, hub.runtime);
          const address = await app.listen({ host: '127.0.0.1', port: 0 });
          e.oauth!.redirectUri = `${address}/webhooks/bitrix24/b24/oauth`;
          const forged = await fetch(`${e.oauth!.redirectUri}?code=abc&state=b24.99999999999999.x.y`);
          assert.equal(forged.status, 400, 'a state obmen did not issue is refused');
          const link = reauthorizationOf(hub.runtime.connectors.get('b24'))!.link();
          assert.match(link, new RegExp(`^${e.url}/oauth/authorize/\\?client_id=local\\.obmen\\.1&state=`));
          const page = await fetch(link);
          const text = await page.text();
          assert.equal(page.status, 200, text);
          assert.match(text, /authorised again; 5 parked deliveries are queued again/);

          const totals = await hub.deliver('products-to-b24');
          assert.equal(totals.delivered, 5);
          assert.equal(e.stats().writesByMethod['catalog.product.add'], 5);
          assert.equal(e.stats().tokenRefreshes, 1, 'only the lost one: the new tokens work as they are');
        } finally {
          await app.close();
          await hub.close();
          await store.close();
        }
      } finally {
        await db.drop();
      }
    });

    it('a worker killed right after the token server answered leaves usable tokens: no lockout, no second refresh', async () => {
      const e = await emulator();
      const tokens = e.issueTokens();
      const db = await createTestDatabase('sqlite');
      const sys = oauthSystem(e.url, tokens, e.tokenUrl);
      try {
        const seedStore = await db.open();
        await connect(sys, seedStore).check();
        await seedStore.close();
        e.advance(3_600_000);
        const child = startChild(['--import', 'tsx', 'test/connector-bitrix24-oauth.test.ts'], {
          ...db.env,
          B24_CRASH_CHILD: 'after-save',
          B24_DB_URL: db.env['OBMEN_DATABASE_URL'] ?? '',
          B24_SYSTEM: JSON.stringify(sys),
        });
        await child.waitFor(/TOKENS_SAVED/);
        child.process.kill('SIGKILL');
        const exit = await child.exited;
        assert.equal(exit.signal, 'SIGKILL');
        assert.ok(!child.output().includes('UNEXPECTED_WRITE_DONE'));
        assert.equal(e.stats().tokenRefreshes, 1);
        const store = await db.open();
        try {
          const out = await connect(sys, store).write!(route, [product(1)]);
          assert.ok(out[0]?.ok, out[0] && !out[0].ok ? out[0].error.message : '');
          assert.equal(e.stats().tokenRefreshes, 1, 'the saved tokens work: no refresh, no lockout');
        } finally {
          await store.close();
        }
      } finally {
        await db.drop();
      }
    });
  });
}
