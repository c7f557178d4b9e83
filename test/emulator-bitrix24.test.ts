import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, it } from 'node:test';
import {
  type Bitrix24Emulator,
  type Bitrix24EmulatorOptions,
  startBitrix24Emulator,
} from '../emulators/bitrix24/index.ts';

const emulators: Bitrix24Emulator[] = [];
after(() => Promise.all(emulators.map((e) => e.close())));

async function emulator(options: Bitrix24EmulatorOptions = {}): Promise<Bitrix24Emulator> {
  const e = await startBitrix24Emulator({ webhook: { userId: 1, code: 'secretcode' }, ...options });
  emulators.push(e);
  return e;
}

async function call(
  e: Bitrix24Emulator,
  method: string,
  body: unknown = {},
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${e.webhookUrl}${method}.json`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('Bitrix24 emulator', () => {
  it('legacy CRM: string numbers, multi-fields, 400 with an EMPTY error code', async () => {
    const e = await emulator();
    const add = await call(e, 'crm.contact.add', {
      fields: { NAME: 'Иван', PHONE: [{ VALUE: '+7 900 000-00-01', VALUE_TYPE: 'WORK' }], OPPORTUNITY: 5 },
    });
    assert.equal(add.status, 200);
    const id = add.body['result'];
    assert.equal(typeof id, 'number');
    const got = await call(e, 'crm.contact.get', { id });
    const row = got.body['result'] as Record<string, unknown>;
    assert.equal(row['ID'], String(id), 'legacy CRM returns ids as strings');
    assert.deepEqual(
      (row['PHONE'] as Array<Record<string, unknown>>).map((m) => [
        m['TYPE_ID'],
        m['VALUE_TYPE'],
        m['VALUE'],
      ]),
      [['PHONE', 'WORK', '+7 900 000-00-01']],
    );
    const missing = await call(e, 'crm.contact.get', { id: 999 });
    assert.equal(missing.status, 400);
    assert.deepEqual(missing.body, { error: '', error_description: 'Not found' });
    const time = got.body['time'] as Record<string, unknown>;
    assert.equal(typeof time['operating'], 'number');
    assert.equal(typeof time['operating_reset_at'], 'number');
  });

  it('multi-fields as crm.contact.update documents them: append without ID, replace by ID, delete three ways', async () => {
    const e = await emulator();
    const phones = (values: string[]) => values.map((VALUE) => ({ VALUE, VALUE_TYPE: 'WORK' }));
    const id = (
      await call(e, 'crm.contact.add', {
        fields: { NAME: 'Мария', PHONE: phones(['111', '222', '333', '444']) },
      })
    ).body['result'];
    const held = async () =>
      ((await call(e, 'crm.contact.get', { id })).body['result'] as { PHONE: Array<Record<string, string>> })
        .PHONE;
    const [a, b, c, d] = await held();
    // A value without an ID is added; the ones held stay.
    await call(e, 'crm.contact.update', { id, fields: { PHONE: phones(['555']) } });
    assert.deepEqual(
      (await held()).map((m) => m['VALUE']),
      ['111', '222', '333', '444', '555'],
    );
    // By ID: replaced in place (the ID stays).
    await call(e, 'crm.contact.update', {
      id,
      fields: { PHONE: [{ ID: b!['ID'], VALUE: '2222', VALUE_TYPE: 'MOBILE' }] },
    });
    const replaced = (await held()).find((m) => m['ID'] === b!['ID']);
    assert.deepEqual([replaced?.['VALUE'], replaced?.['VALUE_TYPE']], ['2222', 'MOBILE']);
    // DELETE=Y, an empty VALUE, or the ID alone remove a value (the docs' own example).
    await call(e, 'crm.contact.update', {
      id,
      fields: { PHONE: [{ ID: a!['ID'], DELETE: 'Y' }, { ID: c!['ID'], VALUE: '' }, { ID: d!['ID'] }] },
    });
    assert.deepEqual(
      (await held()).map((m) => m['VALUE']),
      ['2222', '555'],
    );
    const bad = await call(e, 'crm.contact.update', {
      id,
      fields: { EMAIL: [{ VALUE: 'not-an-address', VALUE_TYPE: 'WORK' }] },
    });
    assert.equal(bad.status, 400);
    assert.deepEqual(bad.body, {
      error: 'ERROR_CORE',
      error_description: 'The field "Work e-mail" contains an invalid address',
    });
  });

  it('crm.item.*: camelCase keys and real numbers over the same deals, fm only with select *', async () => {
    const e = await emulator();
    const added = await call(e, 'crm.item.add', {
      entityTypeId: 2,
      fields: { title: 'Сделка', opportunity: 1500, stageId: 'PREPARATION' },
    });
    const item = (added.body['result'] as { item: Record<string, unknown> }).item;
    assert.equal(typeof item['id'], 'number');
    assert.equal(item['opportunity'], 1500);
    assert.equal(item['stageId'], 'PREPARATION');
    const legacy = (await call(e, 'crm.deal.get', { id: item['id'] })).body['result'] as Record<
      string,
      unknown
    >;
    assert.equal(legacy['OPPORTUNITY'], '1500', 'the legacy view of the same deal has strings');
    const list = await call(e, 'crm.item.list', { entityTypeId: 2, filter: { '>opportunity': 1000 } });
    assert.equal((list.body['result'] as { items: unknown[] }).items.length, 1);
    const badType = await call(e, 'crm.item.list', { entityTypeId: 99 });
    assert.equal(badType.status, 400);
    assert.equal(badType.body['error'], 'NOT_FOUND');
    const contact = await call(e, 'crm.item.add', {
      entityTypeId: 3,
      fields: { name: 'Анна', PHONE: [{ VALUE: '+79000000000' }] },
    });
    const cid = (contact.body['result'] as { item: { id: number } }).item.id;
    const plain = (await call(e, 'crm.item.list', { entityTypeId: 3, select: ['id', 'name'] })).body[
      'result'
    ] as { items: Array<Record<string, unknown>> };
    assert.equal(plain.items[0]!['fm'], undefined);
    const full = (await call(e, 'crm.item.get', { entityTypeId: 3, id: cid })).body['result'] as {
      item: { fm: Array<{ value: string }> };
    };
    assert.equal(full.item.fm[0]!.value, '+79000000000');
  });

  it('catalog: camelCase, real numbers, numeric error codes', async () => {
    const e = await emulator();
    const add = await call(e, 'catalog.product.add', {
      fields: { iblockId: 25, name: 'Стол', weight: '1500' },
    });
    const element = (add.body['result'] as { element: Record<string, unknown> }).element;
    assert.equal(typeof element['id'], 'number');
    assert.equal(element['weight'], 1500);
    const bad = await call(e, 'catalog.product.add', { fields: { iblockId: 99, name: 'x' } });
    assert.equal(bad.status, 400);
    assert.equal(bad.body['error'], 200040300000);
    const noName = await call(e, 'catalog.product.add', { fields: { iblockId: 25 } });
    assert.equal(noName.body['error'], 0);
    const vats = await call(e, 'catalog.vat.list', { select: ['id', 'name', 'rate'] });
    const rates = (vats.body['result'] as { vats: Array<{ name: string; rate: number | null }> }).vats;
    assert.deepEqual(
      rates.map((v) => v.rate),
      [null, 0, 10, 20, 22, 5, 7],
      'без НДС, 0, 10, the old 20, the 2026 standard 22, and the simplified-tax 5 and 7',
    );
    assert.equal(rates[0]!.name, 'Без НДС');
    assert.equal(vats.body['total'], 7);
    const readOnly = await call(e, 'catalog.storeproduct.add', { fields: {} });
    assert.equal(readOnly.status, 404);
    assert.equal(readOnly.body['error'], 'ERROR_METHOD_NOT_FOUND');
  });

  it('lists: 50 per page, next only while more remain, start=-1 skips counting', async () => {
    const e = await emulator();
    for (let i = 0; i < 120; i++)
      e.state.table('company').set(i + 1, { ID: String(i + 1), TITLE: `C${i}`, DATE_MODIFY: e.state.date() });
    const p1 = await call(e, 'crm.company.list', {});
    assert.equal((p1.body['result'] as unknown[]).length, 50);
    assert.equal(p1.body['total'], 120);
    assert.equal(p1.body['next'], 50);
    const p3 = await call(e, 'crm.company.list', { start: 100 });
    assert.equal((p3.body['result'] as unknown[]).length, 20);
    assert.equal(p3.body['next'], undefined);
    const fast = await call(e, 'crm.company.list', {
      start: -1,
      filter: { '>ID': 100 },
      order: { ID: 'ASC' },
    });
    assert.equal(fast.body['total'], 0);
    assert.equal(fast.body['next'], undefined);
    assert.equal((fast.body['result'] as Array<{ ID: string }>)[0]!.ID, '101');
  });

  it('batch: $result references, per-command errors, empty sections as [], at most 50 commands', async () => {
    const e = await emulator();
    const res = await call(e, 'batch', {
      halt: 0,
      cmd: {
        deal: 'crm.deal.add?fields[TITLE]=Заказ%201',
        rows: 'crm.deal.productrows.set?id=$result[deal]&rows[0][PRODUCT_NAME]=Стол&rows[0][PRICE]=100&rows[0][QUANTITY]=2',
        bad: 'crm.deal.get?id=777',
      },
    });
    assert.equal(res.status, 200);
    const r = res.body['result'] as Record<string, Record<string, unknown>>;
    assert.equal(r['result']!['rows'], true);
    assert.deepEqual(r['result_error']!['bad'], { error: '', error_description: 'Not found' });
    const dealId = r['result']!['deal'] as number;
    assert.equal(e.state.productRows.get(dealId)?.length, 1);
    assert.equal(e.state.table('deal').get(dealId)!['OPPORTUNITY'], '200.00');
    const empty = await call(e, 'batch', { cmd: { a: 'scope' } });
    assert.deepEqual((empty.body['result'] as Record<string, unknown>)['result_error'], []);
    const cmd = Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`c${i}`, 'scope']));
    const tooLong = await call(e, 'batch', { cmd });
    assert.equal(tooLong.status, 400);
    assert.equal(tooLong.body['error'], 'ERROR_BATCH_LENGTH_EXCEEDED');
  });

  it('leaky bucket: burst 50 then 503 QUERY_LIMIT_EXCEEDED; drains at the rate', async () => {
    const e = await emulator({ limits: { rate: 2, burst: 5 } });
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++) statuses.push((await call(e, 'scope')).status);
    assert.deepEqual(statuses.slice(0, 5), [200, 200, 200, 200, 200]);
    assert.ok(statuses.slice(5).every((s) => s === 503));
    assert.equal(e.stats().limitErrors, statuses.filter((s) => s === 503).length);
    const limited = await call(e, 'scope');
    assert.equal(limited.body['error'], 'QUERY_LIMIT_EXCEEDED');
    e.advance(1000); // two requests drained
    assert.equal((await call(e, 'scope')).status, 200);
  });

  it('operating time: the call crossing the limit completes, the next one gets 429', async () => {
    const e = await emulator({ limits: { operatingLimitMs: 2500 }, operatingCostMs: () => 1000 });
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await call(e, 'crm.contact.list')).status);
    assert.deepEqual(statuses, [200, 200, 200, 429]);
    assert.equal((await call(e, 'crm.company.list')).status, 200, 'other methods are not blocked');
    const blocked = await call(e, 'crm.contact.list');
    assert.equal(blocked.body['error'], 'OPERATION_TIME_LIMIT');
    e.advance(600_000);
    assert.equal((await call(e, 'crm.contact.list')).status, 200);
  });

  it('OAuth: tokens expire after 3600 s, refresh rotates, the old refresh token stops working', async () => {
    const e = await emulator({ oauth: { clientId: 'app.1', clientSecret: 's3cret' } });
    const tokens = e.issueTokens();
    const ok = await fetch(`${e.url}/rest/scope?auth=${tokens.access_token}`);
    assert.equal(ok.status, 200);
    e.advance(3_600_000);
    const expired = await fetch(`${e.url}/rest/scope?auth=${tokens.access_token}`);
    assert.equal(expired.status, 401);
    assert.equal(((await expired.json()) as { error: string }).error, 'expired_token');
    const q = (rt: string) =>
      `${e.tokenUrl}?grant_type=refresh_token&client_id=app.1&client_secret=s3cret&refresh_token=${rt}`;
    const refreshed = (await (await fetch(q(tokens.refresh_token))).json()) as Record<string, unknown>;
    assert.notEqual(refreshed['refresh_token'], tokens.refresh_token);
    assert.equal(refreshed['expires_in'], 3600);
    const reuse = await fetch(q(tokens.refresh_token));
    assert.equal(reuse.status, 400);
    assert.equal(((await reuse.json()) as { error: string }).error, 'invalid_grant');
    assert.equal((await fetch(`${e.url}/rest/scope?auth=${String(refreshed['access_token'])}`)).status, 200);
  });

  it('OAuth authorisation: /oauth/authorize/ returns to the app with a code that lives 30 s and works once', async () => {
    const e = await emulator({
      oauth: { clientId: 'app.1', clientSecret: 's3cret', redirectUri: 'https://app.example.ru/b24' },
    });
    const codeOf = async () => {
      const res = await fetch(`${e.url}/oauth/authorize/?client_id=app.1&state=xyz`, { redirect: 'manual' });
      assert.equal(res.status, 302);
      const back = new URL(res.headers.get('location')!);
      assert.equal(back.origin + back.pathname, 'https://app.example.ru/b24');
      assert.equal(back.searchParams.get('state'), 'xyz');
      assert.equal(back.searchParams.get('domain'), new URL(e.url).host);
      return back.searchParams.get('code')!;
    };
    const exchange = (code: string) =>
      fetch(`${e.tokenUrl}?grant_type=authorization_code&client_id=app.1&client_secret=s3cret&code=${code}`);
    const code = await codeOf();
    const first = await exchange(code);
    assert.equal(first.status, 200);
    const tokens = (await first.json()) as Record<string, unknown>;
    assert.equal(typeof tokens['refresh_token'], 'string');
    assert.equal((await exchange(code)).status, 400, 'a code works once');
    const late = await codeOf();
    e.advance(31_000);
    const expired = await exchange(late);
    assert.equal(expired.status, 400);
    assert.equal(((await expired.json()) as { error: string }).error, 'invalid_grant');
    const foreign = await fetch(`${e.url}/oauth/authorize/?client_id=other&state=1`, { redirect: 'manual' });
    assert.equal(foreign.status, 400);
  });

  it('events: POSTed form-encoded with auth[application_token]; dropped events are counted, never retried', async () => {
    const received: string[] = [];
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => {
        body += c.toString();
      });
      req.on('end', () => {
        assert.equal(req.headers['content-type'], 'application/x-www-form-urlencoded');
        received.push(body);
        res.end('ok');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    after(() => new Promise<void>((r) => server.close(() => r())));
    const e = await emulator();
    e.bindOutgoing(
      'ONCRMCOMPANYADD',
      `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
      'tok-123',
    );
    await call(e, 'crm.company.add', { fields: { TITLE: 'ООО Ромашка' } });
    await e.settleEvents();
    assert.equal(received.length, 1);
    const form = new URLSearchParams(received[0]);
    assert.equal(form.get('event'), 'ONCRMCOMPANYADD');
    assert.equal(form.get('data[FIELDS][ID]'), '1');
    assert.equal(form.get('auth[application_token]'), 'tok-123');
    e.setFaults({ dropEvents: 1 });
    await call(e, 'crm.company.add', { fields: { TITLE: 'ООО Лютик' } });
    await e.settleEvents();
    assert.equal(received.length, 1);
    assert.equal(e.stats().eventsDropped, 1);
    // Catalog product events carry the product TYPE beside the ID.
    e.setFaults({ dropEvents: 0 });
    e.bindOutgoing(
      'CATALOG.PRODUCT.ON.ADD',
      `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
      'tok-123',
    );
    await call(e, 'catalog.product.add', { fields: { iblockId: 25, name: 'Стол' } });
    await e.settleEvents();
    const product = new URLSearchParams(received[1]);
    assert.equal(product.get('event'), 'CATALOG.PRODUCT.ON.ADD');
    assert.equal(product.get('data[FIELDS][ID]'), '1');
    assert.equal(product.get('data[FIELDS][TYPE]'), '1');
  });

  it('wrong webhook code → 401 NO_AUTH_FOUND; moved portal → 302 to the new host', async () => {
    const e = await emulator();
    const bad = await fetch(`${e.url}/rest/1/wrong/scope`);
    assert.equal(bad.status, 401);
    assert.equal(((await bad.json()) as { error: string }).error, 'NO_AUTH_FOUND');
    const port = new URL(e.url).port;
    e.moveHost(`localhost:${port}`, e.url);
    const moved = await fetch(`http://localhost:${port}/rest/1/secretcode/scope`, { redirect: 'manual' });
    assert.equal(moved.status, 302);
    assert.equal(moved.headers.get('location'), `${e.url}/rest/1/secretcode/scope`);
  });

  it('stock changes only through conducted documents; write-off below zero is refused', async () => {
    const e = await emulator();
    const product = (
      (await call(e, 'catalog.product.add', { fields: { iblockId: 25, name: 'Стул' } })).body['result'] as {
        element: { id: number };
      }
    ).element.id;
    const doc = (
      (await call(e, 'catalog.document.add', { fields: { docType: 'S', currency: 'RUB', responsibleId: 1 } }))
        .body['result'] as { document: { id: number } }
    ).document.id;
    await call(e, 'catalog.document.element.add', {
      fields: { docId: doc, elementId: product, storeTo: 1, amount: 7 },
    });
    let list = await call(e, 'catalog.storeproduct.list', { filter: { productId: product } });
    assert.deepEqual(
      (list.body['result'] as { storeProducts: unknown[] }).storeProducts,
      [],
      'nothing moves before conduct',
    );
    assert.equal((await call(e, 'catalog.document.conduct', { id: doc })).body['result'], true);
    list = await call(e, 'catalog.storeproduct.list', { filter: { productId: product } });
    assert.equal(
      (list.body['result'] as { storeProducts: Array<{ amount: number }> }).storeProducts[0]!.amount,
      7,
    );
    const off = (
      (await call(e, 'catalog.document.add', { fields: { docType: 'D', currency: 'RUB', responsibleId: 1 } }))
        .body['result'] as { document: { id: number } }
    ).document.id;
    await call(e, 'catalog.document.element.add', {
      fields: { docId: off, elementId: product, storeFrom: 1, amount: 9 },
    });
    const refused = await call(e, 'catalog.document.conduct', { id: off });
    assert.equal(refused.status, 400);
    assert.match(String(refused.body['error_description']), /Insufficient quantity/);
  });

  it('catalog.price.modify deletes the prices it is not given', async () => {
    const e = await emulator();
    const product = (
      (await call(e, 'catalog.product.add', { fields: { iblockId: 25, name: 'Шкаф' } })).body['result'] as {
        element: { id: number };
      }
    ).element.id;
    await call(e, 'catalog.priceType.add', { fields: { name: 'Опт' } });
    await call(e, 'catalog.price.add', {
      fields: { productId: product, catalogGroupId: 1, price: 100, currency: 'RUB' },
    });
    await call(e, 'catalog.price.add', {
      fields: { productId: product, catalogGroupId: 2, price: 80, currency: 'RUB' },
    });
    await call(e, 'catalog.price.modify', {
      fields: { product: { id: product, prices: [{ catalogGroupId: 1, price: 110, currency: 'RUB' }] } },
    });
    const prices = (await call(e, 'catalog.price.list', { filter: { productId: product } })).body[
      'result'
    ] as { prices: Array<{ catalogGroupId: number; price: number }> };
    assert.deepEqual(
      prices.prices.map((p) => [p.catalogGroupId, p.price]),
      [[1, 110]],
    );
  });
});
