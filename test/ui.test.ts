import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import type { Browser, Page } from 'playwright-core';
import { type HttpTarget, startHttpTarget } from '../emulators/http-target/index.ts';
import { holdsRoutes } from '../src/api/routes/holds.ts';
import { buildApi } from '../src/api/server.ts';
import { dashboardRoutes } from '../src/api/static.ts';
import { type Clock, systemClock } from '../src/core/clock.ts';
import { createSecretBox } from '../src/core/secrets.ts';
import { runPull } from '../src/engine/pull.ts';
import { createRuntime, type Runtime } from '../src/engine/runtime.ts';
import { drainRoute } from '../src/engine/worker.ts';
import { createMappingApi } from '../src/mapping/api.ts';
import { holdPossibleDuplicate, listHolds } from '../src/matching/holds.ts';
import { upsertUser } from '../src/ops/auth/accounts.ts';
import { openStore, type Store } from '../src/store/store.ts';
import { en } from '../web/src/i18n/en.ts';
import { ru } from '../web/src/i18n/ru.ts';
import { browserMissing, launchBrowser } from './support/browser.ts';
import { hubConfig } from './support/hub.ts';

// The dashboard driven in a real Chromium against a real obmen: an SQLite file, the engine
// pulling from one http-target emulator ("erp") and delivering to another ("shop") that rejects
// one article, so sessions, failures, links and request logs all come from real activity.

const ROOT = new URL('../', import.meta.url);
// The README's screenshots are rewritten only on request, so a test run leaves the tree clean.
const UPDATE_SCREENSHOTS = process.env.OBMEN_UPDATE_SCREENSHOTS === '1';
const DAY = 86_400_000;
const ADMIN = { login: 'admin', password: 'Ui-test-password-1', role: 'admin' as const };
const VIEWER = { login: 'watcher', password: 'Ui-test-password-2', role: 'viewer' as const };
const REJECTED_ARTICLE = 'ART-007';
const REJECTED_TOO = 'ART-011';
const SECRET = `S3cret-${randomBytes(6).toString('hex')}`;

/** Pinned while the test plays back past days, then the real time (the API reads Date.now). */
class PlaybackClock implements Clock {
  pinned: number | undefined;
  now(): number {
    return this.pinned ?? Date.now();
  }
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (this.pinned === undefined) return systemClock.sleep(ms, signal);
    this.pinned += Math.max(0, ms);
    return Promise.resolve();
  }
}

const product = (n: number, extra: Record<string, unknown> = {}) => ({
  id: `e-${n}`,
  data: { name: `Чайник электрический ${n}`, article: `ART-${String(n).padStart(3, '0')}`, ...extra },
});

const missing = browserMissing();

describe('dashboard in Chromium', { skip: missing ?? false }, () => {
  let dir: string;
  let shots: string;
  let store: Store;
  let erp: HttpTarget;
  let shop: HttpTarget;
  let runtime: Runtime;
  let app: FastifyInstance;
  let base: string;
  let browser: Browser;
  let page: Page;
  const rejected = new Set([REJECTED_ARTICLE, REJECTED_TOO]);
  const pageErrors: string[] = [];
  const serverErrors: string[] = [];

  /** Four days of exchanges (three days ago … today) so the daily charts have a shape. */
  async function playExchanges(clock: PlaybackClock): Promise<void> {
    const start = Date.now() - 3 * DAY - 60_000;
    for (let day = 0; day < 4; day++) {
      clock.pinned = start + day * DAY;
      const batch = [1, 2, 3].map((i) => product(day * 3 + i));
      erp.seed(
        'product',
        batch.map((p) => ({ ...p, updatedAt: clock.pinned })),
      );
      if (day === 2) {
        // A change of product 3: its journey shows two versions and the diff.
        erp.seed('product', [
          { ...product(3, { name: 'Чайник электрический 3 (новая модель)' }), updatedAt: clock.pinned! + 1 },
        ]);
        erp.seed('counterparty', [
          { id: 'c-1', data: { name: 'ООО «Ромашка»', inn: '7701234567' }, updatedAt: clock.pinned },
          { id: 'c-2', data: { name: 'ИП Петров', inn: '500100732259' }, updatedAt: clock.pinned },
        ]);
        await runPull(runtime, 'erp-counterparties');
        await drainRoute(runtime, 'counterparties-to-shop');
      }
      await runPull(runtime, 'erp-products');
      await drainRoute(runtime, 'products-to-shop');
    }
    clock.pinned = undefined;
  }

  before(async () => {
    // The dashboard is built, not committed: build it now when web/ changed since the last build.
    execFileSync(process.execPath, [join(ROOT.pathname, 'scripts', 'build-web.mjs'), '--if-stale'], {
      stdio: 'inherit',
    });
    dir = mkdtempSync(join(tmpdir(), 'obmen-ui-'));
    shots = UPDATE_SCREENSHOTS ? join(ROOT.pathname, 'docs', 'screenshots') : join(dir, 'screenshots');
    mkdirSync(shots, { recursive: true });
    store = await openStore({ url: join(dir, 'obmen.db') });
    erp = await startHttpTarget();
    shop = await startHttpTarget({
      faults: {
        rejectWhen: (item) => {
          const article = String(item.data['article'] ?? '');
          return rejected.has(article) ? `артикул ${article} уже занят другим товаром` : undefined;
        },
      },
    });
    const config = hubConfig({
      systems: {
        erp: { kind: 'http', url: erp.url },
        shop: { kind: 'http', url: shop.url },
      },
      sources: [
        { name: 'erp-products', system: 'erp', entity: 'product' },
        { name: 'erp-counterparties', system: 'erp', entity: 'counterparty' },
      ],
      routes: [
        {
          name: 'products-to-shop',
          entity: 'product',
          target: 'shop',
          mapping: { fields: { TITLE: "name & ' (' & article & ')'" } },
        },
        { name: 'counterparties-to-shop', entity: 'counterparty', target: 'shop' },
      ],
    });
    const clock = new PlaybackClock();
    runtime = createRuntime({ config, store, owner: 'ui-test', clock });
    await playExchanges(clock);
    await upsertUser(store, ADMIN, Date.now());
    await upsertUser(store, VIEWER, Date.now());

    app = await buildApi({
      store,
      config,
      logger: false,
      runtime,
      secretBox: createSecretBox(randomBytes(32)),
      extraRoutes: [holdsRoutes],
      mapping: createMappingApi({ config, store }),
    });
    await dashboardRoutes(app);
    await app.listen({ host: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;

    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1366, height: 900 }, locale: 'ru-RU' });
    page.setDefaultTimeout(15_000);
    page.on('pageerror', (error) => pageErrors.push(error.message));
    page.on('response', (response) => {
      if (response.status() >= 500) serverErrors.push(`${response.status()} ${response.url()}`);
    });
  });

  after(async () => {
    await browser?.close();
    await app?.close();
    await runtime?.close();
    await erp?.close();
    await shop?.close();
    await store?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const nav = (label: string) => page.locator('header nav a', { hasText: label });

  test('logs in (Russian by default); a wrong password is refused with a message', async () => {
    await page.goto(`${base}/`);
    await page.getByRole('button', { name: ru['login.submit'] }).waitFor();
    assert.equal(await page.getAttribute('html', 'lang'), 'ru');
    await page.fill('input[name=login]', ADMIN.login);
    await page.fill('input[name=password]', 'not-the-password');
    await page.getByRole('button', { name: ru['login.submit'] }).click();
    await page.locator('.error').waitFor();
    await page.fill('input[name=password]', ADMIN.password);
    await page.getByRole('button', { name: ru['login.submit'] }).click();
    await nav(ru['nav.overview']).waitFor();
    assert.match(await page.getByTestId('user').innerText(), /admin/);
  });

  test('overview: system health, queue, sessions and filled daily charts', async () => {
    const answer = page.waitForResponse((r) => r.url().endsWith('/api/v1/overview'));
    await page.goto(`${base}/`);
    const overview = (await (await answer).json()) as { perDay: Array<{ day: string }> };
    assert.ok(new Set(overview.perDay.map((d) => d.day)).size >= 3, 'exchanges of several days are counted');

    await page.locator('[data-testid=chart-entity] canvas').waitFor();
    await page.locator('[data-testid=chart-system] canvas').waitFor();
    const entityLegend = await page.locator('[data-testid=chart-entity] .u-legend').innerText();
    assert.match(entityLegend, /product/);
    assert.match(entityLegend, /counterparty/);
    const systemLegend = await page.locator('[data-testid=chart-system] .u-legend').innerText();
    assert.match(systemLegend, /shop/);

    const health = await page.getByTestId('systems-health').innerText();
    assert.match(health, /erp/);
    assert.match(health, /shop/);
    const queueRow = page.getByTestId('queue').locator('tr', { hasText: 'products-to-shop' });
    assert.equal(await queueRow.locator('a.bad-text').innerText(), '2', 'two parked failures on the route');
    const sessions = await page.getByTestId('sessions').innerText();
    assert.match(sessions, /deliver/);
    assert.match(sessions, /pull/);
    await page.screenshot({ path: join(shots, 'overview.png'), fullPage: true });
  });

  test('failures: open the rejected objects, retry one and a group, see them delivered', async () => {
    await nav(ru['nav.failures']).click();
    const group = page.getByTestId('failure-groups').locator('tr', { hasText: 'products-to-shop' });
    await group.waitFor();
    assert.match(await group.innerText(), new RegExp(ru['errorClass.permanent']));
    assert.match(await group.innerText(), /\b2\b/, 'the group counts both rejected products');
    const row = page.getByTestId('failures').locator('tr', { hasText: 'Чайник электрический 7' });
    assert.match(await row.innerText(), /уже занят/, 'the human message of the target is shown');
    await page.screenshot({ path: join(shots, 'failures.png'), fullPage: true });

    // The shop's operator frees the article; the retry now has a chance.
    rejected.clear();
    await row.getByRole('button', { name: ru['failures.retry'], exact: true }).click();
    await page.locator('output.notice', { hasText: ru['failures.retried'].replace('{n}', '1') }).waitFor();
    await page.getByTestId('failures').locator('tr', { hasText: 'Чайник электрический 7' }).waitFor({
      state: 'detached',
    });
    // The other one goes back with the whole group (route + error kind).
    await group.getByRole('button', { name: ru['failures.retryGroup'] }).click();
    await page.locator('output.notice', { hasText: ru['failures.retried'].replace('{n}', '1') }).waitFor();
    await page.getByTestId('failure-groups').locator('tr', { hasText: 'products-to-shop' }).waitFor({
      state: 'detached',
    });

    await nav(ru['nav.flows']).click();
    const deliver = page.locator('section', { hasText: ru['flows.deliverHelp'] });
    await deliver.locator('select[name=deliver-route]').selectOption('products-to-shop');
    await deliver.getByRole('button', { name: ru['flows.run'] }).click();
    await deliver.locator('pre.json', { hasText: '"delivered": 2' }).waitFor();
    const articles = [...shop.objects('product').values()].map(
      (o) => (o.data as Record<string, unknown>)['article'],
    );
    assert.ok(articles.includes(REJECTED_ARTICLE), 'the shop now holds the product retried alone');
    assert.ok(articles.includes(REJECTED_TOO), 'the shop now holds the product retried with its group');
  });

  test('object journey: search by article and by INN, versions with diff, links, delivery', async () => {
    await nav(ru['nav.journey']).click();
    await page.getByRole('searchbox').fill('ART-003');
    await page.getByRole('button', { name: ru['journey.search'] }).click();
    const hit = page.getByTestId('search-results').locator('tr', { hasText: 'Чайник электрический 3' });
    assert.match(await hit.innerText(), new RegExp(ru['journey.by.article']));
    await hit.locator('a').first().click();

    const versions = page.getByTestId('journey-versions');
    // Only the table's own rows: each version holds a nested diff table.
    const versionRows = versions.locator(':scope > tbody > tr');
    await versionRows.nth(1).waitFor();
    assert.equal(await versionRows.count(), 2);
    const diff = await versions.locator('table.diff').first().innerText();
    assert.match(diff, /name/);
    assert.match(diff, /новая модель/);
    const links = await page.getByTestId('journey-links').innerText();
    assert.match(links, /erp\s+e-3/);
    assert.match(links, /shop/);
    const delivery = page.getByTestId('journey-deliveries').locator('tr', { hasText: 'products-to-shop' });
    assert.match(await delivery.innerText(), new RegExp(ru['status.delivered']));
    await page.screenshot({ path: join(shots, 'journey.png'), fullPage: true });

    // The retried object of the previous test: delivered on its route now.
    await page.goto(`${base}/journey?q=${REJECTED_ARTICLE}`);
    await page.getByTestId('search-results').locator('a').first().click();
    const retried = page.getByTestId('journey-deliveries').locator('tr', { hasText: 'products-to-shop' });
    await retried.locator('.badge', { hasText: ru['status.delivered'] }).waitFor();

    await page.goto(`${base}/journey?q=7701234567`);
    const byInn = page.getByTestId('search-results').locator('tr', { hasText: 'Ромашка' });
    assert.match(await byInn.innerText(), new RegExp(ru['journey.by.inn']));
  });

  test('holds: a possible duplicate is linked to the existing counterparty', async () => {
    // A CRM brings "Ромашка" with an INN that two hub counterparties share: the matcher parks
    // it as a possible duplicate with both candidates (as it does during a pull).
    const existing = await store.db
      .selectFrom('records')
      .select(['id', 'data'])
      .where('entity', '=', 'counterparty')
      .orderBy('id')
      .execute();
    const romashka = existing.find((r) => r.data.includes('Ромашка'))!;
    const other = existing.find((r) => r !== romashka)!;
    const hold = await holdPossibleDuplicate(store, {
      entity: 'counterparty',
      system: 'crm',
      externalId: 'crm-77',
      data: { name: 'Ромашка ООО', inn: '7701234567' },
      candidates: [
        { recordId: romashka.id, rule: 'inn_kpp', key: '7701234567', name: 'ООО «Ромашка»' },
        { recordId: other.id, rule: 'inn_kpp', key: '7701234567', name: 'ИП Петров' },
      ],
    });
    await nav(ru['nav.failures']).click();
    const row = page.locator(`[data-testid=holds] tr[data-hold="${hold.id}"]`);
    assert.match(await row.innerText(), new RegExp(ru['holds.kind.possible_duplicate']));
    await row.getByRole('button', { name: ru['holds.linkTo'].replace('{id}', 'ООО «Ромашка»') }).click();
    await row.waitFor({ state: 'detached' }).catch(async () => {
      assert.fail(`the hold stayed open: ${await row.innerText()}`);
    });
    const resolved = await listHolds(store, { state: 'resolved' });
    assert.deepEqual(
      resolved.items.map((h) => [h.id, h.resolution]),
      [[hold.id, { link: romashka.id }]],
    );
  });

  test('systems: change limits and a write-only secret, test the connection', async () => {
    await nav(ru['nav.systems']).click();
    const form = page.locator('form[data-system=shop]');
    await form.locator('textarea[name=limits]').fill('{ "rate": "5/s", "burst": 3 }');
    await form.getByPlaceholder(ru['systems.newKey']).fill('token');
    await form.getByRole('button', { name: ru['systems.addKey'] }).click();
    await form.locator('input[name=secret-token]').fill(SECRET);
    await form.getByRole('button', { name: ru['common.save'] }).click();
    await page.locator('output.notice, .error').first().waitFor();
    const problems = await page.locator('.error').allInnerTexts();
    assert.deepEqual(problems, [], 'saving shows no error');
    await page.locator('output.notice', { hasText: 'shop' }).waitFor();

    await page.reload();
    const saved = page.locator('form[data-system=shop]');
    await saved
      .locator('label.secret', { hasText: 'token' })
      .locator('.badge', { hasText: ru['systems.set'] })
      .waitFor();
    assert.match(await saved.locator('textarea[name=limits]').inputValue(), /"5\/s"/);
    assert.equal(
      await saved.locator('input[name=secret-token]').inputValue(),
      '',
      'the secret is never shown',
    );
    const systems = await (await page.request.get(`${base}/api/v1/systems`)).text();
    assert.ok(!systems.includes(SECRET), 'GET /systems never carries a secret value');
    assert.ok(
      !readFileSync(join(dir, 'obmen.db')).includes(SECRET),
      'the database holds the secret encrypted',
    );

    // The emulated shop is up: the connector's own check() must say so.
    await saved.getByRole('button', { name: ru['systems.test'] }).click();
    assert.match(await saved.getByTestId('test-result').innerText(), new RegExp(ru['systems.testOk']));
    await page.screenshot({ path: join(shots, 'systems.png'), fullPage: true });
  });

  test('sessions and the request log open their details', async () => {
    await nav(ru['nav.sessions']).click();
    await page
      .getByTestId('sessions')
      .locator('tbody tr', { hasText: 'products-to-shop' })
      .first()
      .locator('a')
      .click();
    await page.locator('dl.props').waitFor();
    assert.match(await page.locator('main').innerText(), /delivered/);

    await nav(ru['nav.requests']).click();
    // A delivery to the shop: its body carries the products that were written.
    const write = page
      .getByTestId('requests')
      .locator('tbody tr', { hasText: 'POST /product/batch' })
      .first();
    await write.locator('a').click();
    await page.getByTestId('request-body').waitFor();
    assert.match(await page.getByTestId('request-body').innerText(), /Чайник электрический/);
  });

  test('mapping: view a route mapping and dry-run it on a sample', async () => {
    await nav(ru['nav.mapping']).click();
    await page.locator('select[name=mapping-route]').selectOption('products-to-shop');
    await page.getByText('TITLE').first().waitFor();
    // The effective table: the http connector's default (every canonical field) and the added TITLE.
    await page.getByText(ru['mapping.effective']).waitFor();
    const cells = await page.locator('[data-testid=mapping-effective] td').allTextContents();
    assert.ok(
      cells.some((c) => c.includes(ru['mapping.source.default'])),
      cells.join(' | '),
    );
    await page.getByText(ru['mapping.added']).waitFor();
    await page.fill('textarea[name=sample]', JSON.stringify({ name: 'Чайник', article: 'A-1' }));
    await page.getByRole('button', { name: ru['mapping.try'] }).click();
    await page.getByText(ru['mapping.output']).waitFor();
    await page.getByText('Чайник (A-1)').first().waitFor();
  });

  test('switches to English and remembers the choice', async () => {
    await page.getByRole('button', { name: 'EN', exact: true }).click();
    await nav(en['nav.overview']).waitFor();
    await page.reload();
    await nav(en['nav.failures']).waitFor();
    assert.equal(await page.getAttribute('html', 'lang'), 'en');
    await page.getByRole('button', { name: 'RU', exact: true }).click();
    await nav(ru['nav.failures']).waitFor();
  });

  test('a viewer signs in and sees settings read-only; actions are refused with the reason', async () => {
    await page.getByRole('button', { name: ru['login.logout'] }).click();
    await page.fill('input[name=login]', VIEWER.login);
    await page.fill('input[name=password]', VIEWER.password);
    await page.getByRole('button', { name: ru['login.submit'] }).click();
    await nav(ru['nav.systems']).click();
    const form = page.locator('form[data-system=shop]');
    await form.getByText(ru['systems.adminOnly']).waitFor();
    assert.equal(await form.getByRole('button', { name: ru['common.save'] }).count(), 0);
    assert.ok(await form.locator('textarea[name=limits]').isDisabled());

    await nav(ru['nav.flows']).click();
    const deliver = page.locator('section', { hasText: ru['flows.deliverHelp'] });
    await deliver.locator('select[name=deliver-route]').selectOption('products-to-shop');
    await deliver.getByRole('button', { name: ru['flows.run'] }).click();
    await deliver.locator('.error', { hasText: ru['error.forbidden'] }).waitFor();
  });

  test('no script error in the page and no server error behind it', () => {
    assert.deepEqual(pageErrors, []);
    assert.deepEqual(serverErrors, []);
  });
});
