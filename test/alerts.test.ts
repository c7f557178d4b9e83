import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, it } from 'node:test';
import { SMTPServer } from 'smtp-server';
import { configSchema } from '../src/config/schema.ts';
import { holdMissingValue } from '../src/matching/holds.ts';
import { runAlertsOnce } from '../src/ops/alerts/evaluator.ts';
import { holdsFromStore } from '../src/ops/alerts/holds.ts';
import type { Store } from '../src/store/store.ts';
import { forEachDialect } from './support/stores.ts';

const BOT_TOKEN = '123456:ABC-secret-bot-token';
const T0 = Date.UTC(2026, 5, 1, 9, 0, 0);

interface Receivers {
  mails: string[];
  telegram: Array<{ path: string; body: { chat_id: string; text: string } }>;
  webhook: Array<Record<string, unknown>>;
  smtpPort: number;
  httpUrl: string;
  close(): Promise<void>;
}

async function startReceivers(): Promise<Receivers> {
  const mails: string[] = [];
  const telegram: Receivers['telegram'] = [];
  const webhook: Receivers['webhook'] = [];
  const smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, _session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        mails.push(Buffer.concat(chunks).toString('utf8'));
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
  const http: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      if (req.url?.startsWith('/bot')) {
        telegram.push({ path: req.url, body });
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true,"result":{}}');
      } else {
        webhook.push(body);
        res.writeHead(204).end();
      }
    });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  return {
    mails,
    telegram,
    webhook,
    smtpPort: (smtp.server.address() as AddressInfo).port,
    httpUrl: `http://127.0.0.1:${(http.address() as AddressInfo).port}`,
    async close() {
      await new Promise<void>((resolve) => smtp.close(() => resolve()));
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}

forEachDialect('alerts', (db) => {
  let store: Store;
  let rx: Receivers;

  beforeEach(async () => {
    store = await db().open();
    rx = await startReceivers();
  });
  afterEach(async () => {
    await store.close();
    await rx.close();
  });

  const configFor = () =>
    configSchema.parse({
      systems: { site: { kind: 'http', url: 'http://127.0.0.1:9' } },
      routes: [{ name: 'site-products', entity: 'product', target: 'site' }],
      alerts: {
        repeatInterval: '1h',
        channels: {
          email: { host: '127.0.0.1', port: rx.smtpPort, from: 'obmen@example.ru', to: ['ops@example.ru'] },
          telegram: { botToken: BOT_TOKEN, chatId: -100500, baseUrl: rx.httpUrl },
          webhook: { url: `${rx.httpUrl}/hook` },
        },
        rules: [{ name: 'site-failures', kind: 'failures', threshold: 2 }],
      },
    });

  async function park(id: string, name: string) {
    await store.db
      .insertInto('records')
      .values({
        entity: 'product',
        id,
        version: 1,
        hash: `h-${id}`,
        data: JSON.stringify({ name }),
        origin: 'onec',
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
        record_id: id,
        entity: 'product',
        state: 'failed',
        want_version: 1,
        attempts: 8,
        next_attempt_at: T0,
        lease_owner: null,
        lease_expires_at: null,
        lease_version: null,
        last_error: 'site: HTTP 422 price must be ≥ 0',
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
  }

  it('sends one grouped alert to e-mail, Telegram and a webhook, repeats after the interval, and says when it is resolved', async () => {
    const config = configFor();
    await park('p1', 'Чайник');
    let now = T0;
    const run = () => runAlertsOnce({ store, config, now: () => now });

    const quiet = await run();
    assert.equal(quiet.notifications.length, 0, 'one failure is below the threshold of 2');

    await park('p2', 'Утюг');
    await park('p3', 'Фен');
    const first = await run();
    assert.equal(first.notifications.length, 1, 'three failures of one route are one alert');
    assert.deepEqual(
      first.deliveries.map((d) => [d.channel, d.delivered, d.error]),
      [
        ['email', true, null],
        ['telegram', true, null],
        ['webhook', true, null],
      ],
    );
    const text = first.notifications[0]!.text;
    assert.match(text, /^🔴: Маршрут site-products: 3 объекта не доставлены/);
    assert.match(text, /Система: site/);
    assert.match(text, /Объекты: .*Чайник \(p1\)/);
    assert.match(text, /Что делать: Откройте «Сбои»/);
    assert.equal(rx.mails.length, 1);
    assert.match(rx.mails[0]!, /Subject: =\?UTF-8\?/);
    assert.match(rx.mails[0]!, /To: ops@example.ru/);
    assert.equal(rx.telegram.length, 1);
    assert.equal(rx.telegram[0]!.path, `/bot${BOT_TOKEN}/sendMessage`);
    assert.equal(rx.telegram[0]!.body.chat_id, -100500 as unknown as string);
    assert.equal(rx.telegram[0]!.body.text, text);
    assert.deepEqual(
      [rx.webhook[0]!.status, rx.webhook[0]!.rule, rx.webhook[0]!.route, rx.webhook[0]!.system],
      ['firing', 'site-failures', 'site-products', 'site'],
    );

    now += 30 * 60_000;
    assert.equal((await run()).notifications.length, 0, 'no storm: nothing new within the repeat interval');
    now += 31 * 60_000;
    const repeat = await run();
    assert.deepEqual(
      repeat.notifications.map((n) => n.status),
      ['repeat'],
    );
    assert.match(repeat.notifications[0]!.text, /^🔁 Всё ещё: /);

    await store.db.updateTable('outbox').set({ state: 'delivered' }).execute();
    const resolved = await run();
    assert.deepEqual(
      resolved.notifications.map((n) => n.status),
      ['resolved'],
    );
    assert.match(resolved.notifications[0]!.text, /^✅ Решено: Маршрут site-products/);
    assert.equal(rx.webhook.at(-1)!.status, 'resolved');
    assert.equal((await run()).notifications.length, 0, 'a resolved alert is told once');
    assert.equal(rx.mails.length, 3);
    assert.equal(rx.telegram.length, 3);

    const history = await store.db
      .selectFrom('alert_history')
      .select(['kind', 'channel', 'delivered'])
      .execute();
    assert.equal(history.length, 9);
    assert.ok(history.every((h) => h.delivered === 1));
  });

  it('records a channel that fails without the secret, and retries the alert next time', async () => {
    const config = configFor();
    config.alerts.channels.telegram!.baseUrl = 'http://127.0.0.1:9';
    config.alerts.rules[0]!.channels = ['telegram'];
    await park('p1', 'a');
    await park('p2', 'b');
    const now = T0;
    const failed = await runAlertsOnce({ store, config, now: () => now });
    assert.equal(failed.deliveries.length, 1);
    assert.equal(failed.deliveries[0]!.delivered, false);
    assert.doesNotMatch(failed.deliveries[0]!.error!, /ABC-secret-bot-token/);
    const stored = JSON.stringify(await store.db.selectFrom('alert_history').selectAll().execute());
    assert.doesNotMatch(stored, /ABC-secret-bot-token/);
    config.alerts.channels.telegram!.baseUrl = rx.httpUrl;
    const retried = await runAlertsOnce({ store, config, now: () => now + 1000 });
    assert.deepEqual(
      retried.deliveries.map((d) => d.delivered),
      [true],
    );
    assert.equal(rx.mails.length, 0, 'the rule names its channels');
  });

  it('fires stuck, system_down, failure_rate and hold rules with their own targets', async () => {
    const config = configSchema.parse({
      systems: {
        site: { kind: 'http', url: 'http://127.0.0.1:9' },
        onec: { kind: 'http', url: 'http://127.0.0.1:9' },
      },
      sources: [{ name: 'onec-products', system: 'onec', entity: 'product' }],
      routes: [{ name: 'site-products', entity: 'product', target: 'site' }],
      alerts: {
        language: 'en',
        channels: { webhook: { url: `${rx.httpUrl}/hook` } },
        rules: [
          { name: 'stuck', kind: 'stuck', window: '30m' },
          { name: 'down', kind: 'system_down', window: '15m', minCalls: 3 },
          { name: 'rate', kind: 'failure_rate', threshold: 0.5, minCalls: 4 },
          { name: 'holds', kind: 'hold' },
        ],
      },
    });
    const now = T0 + 3_600_000;
    const session = (
      name: string,
      kind: string,
      status: 'ok' | 'failed' | 'partial',
      at: number,
      counts: object,
    ) =>
      store.db
        .insertInto('sessions')
        .values({
          kind,
          system: 'onec',
          name,
          owner: 'w',
          started_at: at,
          finished_at: at + 1,
          status,
          counts: JSON.stringify(counts),
          error: null,
        })
        .execute();
    await session('onec-products', 'pull', 'ok', now - 45 * 60_000, { read: 1 });
    await session('onec-products', 'pull', 'failed', now - 5 * 60_000, {});
    await session('site-products', 'deliver', 'partial', now - 60_000, { delivered: 1, failed: 3 });
    for (let i = 0; i < 4; i++) {
      await store.db
        .insertInto('request_log')
        .values({
          at: now - i * 1000,
          system: 'site',
          method: 'POST',
          url: 'http://site/x',
          status: null,
          duration_ms: 5,
          request_body: null,
          response_body: null,
          error: 'site: ECONNREFUSED',
          session_id: null,
        })
        .execute();
    }
    const holds = async () => [
      {
        id: 7,
        entity: 'counterparty',
        recordId: 'c-1',
        route: 'site-products',
        system: 'site',
        reason: 'same INN as c-0',
      },
    ];
    const run = await runAlertsOnce({ store, config, now: () => now, holds });
    const byRule = Object.fromEntries(run.notifications.map((n) => [n.finding.rule, n]));
    assert.deepEqual(Object.keys(byRule).sort(), ['down', 'holds', 'rate', 'stuck']);
    assert.match(byRule.stuck!.text, /Exchange onec-products has not succeeded for 44 min/);
    assert.match(byRule.down!.text, /System site is down: 100% of requests fail/);
    assert.match(byRule.rate!.text, /Route site-products: 75% of deliveries fail/);
    assert.match(byRule.holds!.text, /counterparty c-1: same INN as c-0/);
    assert.equal(rx.webhook.length, 4);
    const noHolds = await runAlertsOnce({ store, config, now: () => now + 1000, holds: async () => [] });
    assert.deepEqual(
      noHolds.notifications.map((n) => [n.finding.rule, n.status]),
      [['holds', 'resolved']],
    );
  });

  it('reads open holds from the matching table for the hold rule', async () => {
    const config = configSchema.parse({
      systems: { site: { kind: 'http', url: 'http://127.0.0.1:9' } },
      routes: [{ name: 'site-products', entity: 'product', target: 'site' }],
      alerts: {
        channels: { webhook: { url: `${rx.httpUrl}/hook` } },
        rules: [{ name: 'holds', kind: 'hold' }],
      },
    });
    await holdMissingValue(
      store,
      {
        entity: 'product',
        route: 'site-products',
        recordId: 'p1',
        field: 'brand',
        value: 'Bosch',
        message: 'в Битрикс нет значения «Bosch» свойства «Бренд»',
      },
      T0,
    );
    const run = await runAlertsOnce({ store, config, now: () => T0, holds: holdsFromStore(store) });
    assert.equal(run.notifications.length, 1);
    assert.match(run.notifications[0]!.text, /1 объект ждёт решения/);
    assert.match(run.notifications[0]!.text, /Маршрут: site-products/);
    assert.match(run.notifications[0]!.text, /product p1: в Битрикс нет значения «Bosch»/);
  });
});
