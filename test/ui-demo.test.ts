import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { type RunningDemo, runDemo } from '../src/demo/run.ts';
import { ru } from '../web/src/i18n/ru.ts';
import { browserMissing, launchBrowser } from './support/browser.ts';

// The proof: the overview's charts filled by a short run of the demo itself (emulated
// 1C, Bitrix24 and two shops), seen in a real browser — not by data a test wrote for itself.
const missing = browserMissing();
const PASSWORD = 'demo-browser-pass';

describe('the demo in Chromium', { skip: missing ?? false }, () => {
  let dir: string;
  let demo: RunningDemo;
  let browser: Browser;
  let page: Page;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'obmen-ui-demo-'));
    demo = await runDemo({
      port: 0,
      goods: 200,
      exchangeGoods: 10,
      dataDir: dir,
      orderEveryMs: 3_000,
      timing: { catalogPoll: '30s', ordersPoll: '5s', site2Schedule: '30s' },
      faults: false,
      adminPassword: PASSWORD,
      say: () => {},
    });
    // A short run: wait until the shop has received goods through obmen.
    const until = Date.now() + 120_000;
    for (;;) {
      const row = await demo.store.db
        .selectFrom('outbox')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('route', '=', 'product-to-shop')
        .where('state', '=', 'delivered')
        .executeTakeFirstOrThrow();
      if (Number(row.n) > 0) break;
      if (Date.now() > until) throw new Error('the demo delivered no goods to the shop within 2 minutes');
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    browser = await launchBrowser();
    page = await browser.newPage();
  });

  after(async () => {
    await browser?.close();
    await demo?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('logs in with the printed password and sees every system and the filled charts', async () => {
    await page.goto(demo.url);
    await page.fill('input[name=login]', demo.login);
    await page.fill('input[name=password]', demo.password);
    await page.getByRole('button', { name: ru['login.submit'] }).click();
    await page.locator('[data-testid=chart-entity] canvas').waitFor({ timeout: 30_000 });
    await page.locator('[data-testid=chart-system] canvas').waitFor();
    assert.match(await page.locator('[data-testid=chart-entity] .u-legend').innerText(), /product/);
    assert.match(await page.locator('[data-testid=chart-system] .u-legend').innerText(), /shop/);
    const health = await page.getByTestId('systems-health').innerText();
    for (const system of ['ut', 'b24', 'shop', 'outlet']) assert.match(health, new RegExp(system));
  });
});
