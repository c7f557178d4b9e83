import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import SQLite from 'better-sqlite3';
import { stringify } from 'yaml';
import { parseConfig } from '../src/config/load.ts';
import { runDemoCli } from '../src/demo/cli.ts';
import { demoConfigObject } from '../src/demo/config.ts';
import { startChild, waitUntil } from './support/processes.ts';

const ENDPOINTS = {
  onecOdataUrl: 'http://127.0.0.1:1/ut11',
  onecLogin: 'Обмен',
  onecPassword: 'секрет',
  bitrix24Url: 'http://127.0.0.1:2',
  bitrix24WebhookCode: 'code',
  site1Url: 'http://127.0.0.1:3',
  site2Url: 'http://127.0.0.1:4',
  siteLogin: 'obmen',
  sitePassword: 'password',
  exchangeLogin: 'exchange',
  exchangePassword: 'password',
};

describe('demo configuration', () => {
  test('is a valid obmen.yaml wiring 1C, Bitrix24 and both sites', () => {
    const config = parseConfig(stringify(demoConfigObject(ENDPOINTS, 'data/demo.db', 0, 'data/x')), {
      env: {},
    });
    assert.deepEqual(Object.keys(config.systems).sort(), ['b24', 'erp', 'outlet', 'shop', 'ut']);
    const targets = new Set(config.routes.map((r) => `${r.entity}>${r.target}`));
    for (const wanted of [
      'product>shop',
      'product>outlet',
      'price>outlet',
      'order>ut',
      'order>b24',
      'counterparty>b24',
    ])
      assert.ok(targets.has(wanted), `route ${wanted} missing`);
    // The second shop differs from the first by its route settings.
    const shop = config.routes.find((r) => r.name === 'product-to-shop')!;
    const outlet = config.routes.find((r) => r.name === 'product-to-outlet')!;
    assert.notEqual(shop.schedule, outlet.schedule);
    assert.notEqual(shop.batchSize, outlet.batchSize);
  });
});

describe('obmen demo flags', () => {
  test('a wrong value is refused naming the flag, before anything starts', async () => {
    await assert.rejects(runDemoCli(['--goods', 'many']), /--goods many: give an integer/);
    await assert.rejects(runDemoCli(['--port', '70000']), /--port 70000/);
    await assert.rejects(runDemoCli(['--orders-poll', 'soon']), /"soon" is not a duration/);
    await assert.rejects(runDemoCli(['--colour']), /Unknown option '--colour'/);
  });
});

describe('obmen demo (child process)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'obmen-demo-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('runs 1C → hub → Bitrix24, a site and back to 1C, serves the dashboard and stops on SIGINT', async () => {
    const child = startChild(
      [
        '--import',
        'tsx',
        'src/demo/bin.ts',
        '--port',
        '0',
        '--goods',
        '300',
        '--exchange-goods',
        '20',
        '--poll',
        '5s',
        '--orders-poll',
        '2s',
        '--orders-every',
        '1s',
        '--data',
        dir,
      ],
      // No admin password given: the demo makes one up and prints it, as for a newcomer.
      { OBMEN_ADMIN_PASSWORD: '', OBMEN_ADMIN_LOGIN: '', OBMEN_SECRET_KEY: '11'.repeat(32) },
    );
    try {
      const [, url] = await child.waitFor(/Dashboard:\s+(http:\/\/\S+)/, 40_000);
      const [, b24] = await child.waitFor(/Bitrix24 (http:\/\/\S+)/);
      const [, shop] = await child.waitFor(/Shop (http:\/\/\S+)/);
      const [, onec] = await child.waitFor(/1C \(OData, 300 goods\) (http:\/\/\S+)/);
      assert.match(child.output(), /Login:\s+admin/);
      const [, password] = await child.waitFor(/Password:\s+(\S+)/);

      // Records from 1C reach the hub's store.
      const db = new SQLite(join(dir, 'demo.db'), { readonly: true, fileMustExist: true });
      try {
        await waitUntil(
          async () => {
            const rows = db
              .prepare('select entity, count(*) as n from records group by entity')
              .all() as Array<{ entity: string; n: number }>;
            const by = new Map(rows.map((r) => [r.entity, r.n]));
            return (by.get('product') ?? 0) >= 300 && (by.get('counterparty') ?? 0) > 0;
          },
          40_000,
          'goods and counterparties from 1C are in the store',
        );
      } finally {
        db.close();
      }

      // Deliveries reach Bitrix24 (companies, goods) and the first shop (its catalog).
      await waitUntil(
        async () => {
          const stats = (await (await fetch(`${b24}/_stats`)).json()) as { writes: number };
          return stats.writes > 0;
        },
        40_000,
        'Bitrix24 received writes',
      );
      await waitUntil(
        async () => {
          const state = (await (await fetch(`${shop}/_state`)).json()) as { counts: { products: number } };
          return state.counts.products > 0;
        },
        40_000,
        'the shop received goods',
      );

      // Orders flow to 1C: a Bitrix24 deal is read back by obmen and written as a Заказ клиента.
      const basic = `Basic ${Buffer.from('Обмен:секрет').toString('base64')}`;
      await waitUntil(
        async () => {
          const response = await fetch(
            `${onec}/odata/standard.odata/${encodeURIComponent('Document_ЗаказКлиента')}?$format=json`,
            { headers: { authorization: basic } },
          );
          if (!response.ok) return false; // an injected 503: ask again
          const body = (await response.json()) as { value: Array<Record<string, unknown>> };
          // 1C starts with no orders: one here was written by obmen, with its lines, and posted.
          return body.value.some((d) => d['Posted'] === true && (d['Товары'] as unknown[]).length > 0);
        },
        45_000,
        'an order reached 1C',
      );

      // The dashboard answers, the printed login works and opens the API.
      const page = await fetch(url!);
      assert.equal(page.status, 200);
      assert.match(await page.text(), /<html/i);
      const wrong = await fetch(`${url}/api/v1/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ login: 'admin', password: 'not-the-password' }),
      });
      assert.equal(wrong.status, 401);
      const login = await fetch(`${url}/api/v1/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ login: 'admin', password }),
      });
      assert.equal(login.status, 200);
      const cookie = login.headers.get('set-cookie')?.split(';')[0];
      assert.ok(cookie, 'the login sets a session cookie');
      const overview = await fetch(`${url}/api/v1/overview`, { headers: { cookie } });
      assert.equal(overview.status, 200);
      const anonymous = await fetch(`${url}/api/v1/overview`);
      assert.equal(anonymous.status, 401);

      child.process.kill('SIGINT');
      const exit = await child.exited;
      assert.equal(exit.code, 0, child.output());
      assert.match(child.output(), /demo stopped/);
    } finally {
      if (child.process.exitCode === null) child.process.kill('SIGKILL');
    }
  });
});
