import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import Fastify from 'fastify';
import { pino } from 'pino';
import { type Bitrix24Emulator, startBitrix24Emulator } from '../emulators/bitrix24/index.ts';
import { type Bitrix24Context, bitrix24Connector } from '../src/connectors/bitrix24/index.ts';
import { registerConnector } from '../src/connectors/registry.ts';
import { runPull } from '../src/engine/pull.ts';
import { createHttpClient } from '../src/http/client.ts';
import { b24rest } from './support/bitrix24.ts';
import { createTestHub, hubConfig, type TestHub } from './support/hub.ts';
import { waitUntil } from './support/processes.ts';
import { createTestDatabase, type TestDatabase } from './support/stores.ts';

const APP_TOKEN = 'app-token-of-outgoing-webhook';
const CODE = 'eventscode';

interface Setup {
  e: Bitrix24Emulator;
  hub: TestHub;
  hookUrl: string;
  close(): Promise<void>;
}

async function setup(sources?: unknown[]): Promise<Setup> {
  const e = await startBitrix24Emulator({ webhook: { userId: 1, code: CODE } });
  const db: TestDatabase = await createTestDatabase('sqlite');
  const store = await db.open();
  registerConnector(bitrix24Connector);
  const config = hubConfig({
    systems: {
      b24: {
        kind: 'bitrix24',
        url: e.url,
        credentials: { webhookUserId: '1', webhookCode: CODE, applicationToken: APP_TOKEN },
      },
    },
    sources: sources ?? [
      { name: 'b24-companies', system: 'b24', entity: 'counterparty' },
      { name: 'b24-deals', system: 'b24', entity: 'order' },
    ],
  });
  const hub = await createTestHub(store, config, {
    clock: { now: () => Date.now(), sleep: (ms) => new Promise((r) => setTimeout(r, ms)) },
  });
  const app = Fastify({ logger: false });
  await hub.runtime.connectors.get('b24')!.mountInbound!(app, hub.runtime);
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  const hookUrl = `${address}/webhooks/bitrix24/b24`;
  return {
    e,
    hub,
    hookUrl,
    async close() {
      await app.close();
      await hub.close();
      await store.close();
      await db.drop();
      await e.close();
    },
  };
}

async function recordOf(
  hub: TestHub,
  entity: string,
  externalId: string,
): Promise<Record<string, unknown> | undefined> {
  const row = await hub.store.db
    .selectFrom('links')
    .innerJoin('records', (j) =>
      j.onRef('records.id', '=', 'links.record_id').onRef('records.entity', '=', 'links.entity'),
    )
    .select(['records.data'])
    .where('links.entity', '=', entity)
    .where('links.system', '=', 'b24')
    .where('links.external_id', '=', externalId)
    .executeTakeFirst();
  return row ? (JSON.parse(row.data) as Record<string, unknown>) : undefined;
}

/** Every stored event has been processed (none left "received"). */
async function noneReceived(hub: TestHub): Promise<boolean> {
  const rows = await hub.store.db.selectFrom('inbox').select('id').where('state', '=', 'received').execute();
  return rows.length === 0;
}

describe('bitrix24 events and the catch-up poll', () => {
  const setups: Setup[] = [];
  after(() => Promise.all(setups.map((s) => s.close())));

  it('an event is verified, stored in the inbox before the 200, then the object is fetched and ingested', async () => {
    const s = await setup();
    setups.push(s);
    for (const event of ['ONCRMCOMPANYADD', 'ONCRMCOMPANYUPDATE', 'ONCRMDEALADD'])
      s.e.bindOutgoing(event, s.hookUrl, APP_TOKEN);
    const id = (await b24rest(s.e, 'crm.company.add', {
      fields: { TITLE: 'ООО Событие', PHONE: [{ VALUE: '+74950000001', VALUE_TYPE: 'WORK' }] },
    })) as number;
    await b24rest(s.e, 'crm.requisite.add', {
      fields: { ENTITY_TYPE_ID: 4, ENTITY_ID: id, PRESET_ID: 1, RQ_INN: '7707083893' },
    });
    await s.e.settleEvents();
    await waitUntil(
      async () => (await recordOf(s.hub, 'counterparty', `company:${id}`)) !== undefined,
      10_000,
      'the company is ingested',
    );
    const data = (await recordOf(s.hub, 'counterparty', `company:${id}`))!;
    assert.equal(data['name'], 'ООО Событие');
    const inbox = await s.hub.store.db.selectFrom('inbox').selectAll().where('system', '=', 'b24').execute();
    assert.equal(inbox.length, 1);
    assert.equal(inbox[0]!.kind, 'bitrix24.event');
    await waitUntil(
      async () =>
        (await s.hub.store.db.selectFrom('inbox').select('state').executeTakeFirst())?.state === 'processed',
      10_000,
      'the inbox row is processed',
    );

    // An update arrives as another event; the object is fetched again (events carry only the id).
    await b24rest(s.e, 'crm.company.update', { id, fields: { TITLE: 'ООО Событие-2' } });
    await s.e.settleEvents();
    await waitUntil(
      async () => (await recordOf(s.hub, 'counterparty', `company:${id}`))?.['name'] === 'ООО Событие-2',
      10_000,
      'the update is ingested',
    );

    // Deals: product rows fetched with the deal; only won deals are orders (options.orderStages).
    const deal = (await b24rest(s.e, 'crm.deal.add', {
      fields: { TITLE: 'Сделка 1', COMPANY_ID: id, OPPORTUNITY: 500, STAGE_ID: 'WON' },
    })) as number;
    await s.e.settleEvents();
    await waitUntil(
      async () => (await recordOf(s.hub, 'order', String(deal))) !== undefined,
      10_000,
      'the deal is ingested',
    );
    const order = (await recordOf(s.hub, 'order', String(deal)))!;
    assert.equal(order['customerId'] !== undefined, true);
  });

  it('catalog product events (CATALOG.PRODUCT.ON.*): stored before the 200, fetched 50 per batch, mapped by the source mapping like a pull, deletions ingested', async () => {
    const s = await setup([
      {
        name: 'b24-products',
        system: 'b24',
        entity: 'product',
        mapping: {
          fields: { article: 'raw.code', description: "'Б24: ' & name" },
          filter: "name != 'Черновик'",
        },
      },
    ]);
    setups.push(s);
    for (const event of ['CATALOG.PRODUCT.ON.ADD', 'CATALOG.PRODUCT.ON.UPDATE', 'CATALOG.PRODUCT.ON.DELETE'])
      s.e.bindOutgoing(event, s.hookUrl, APP_TOKEN);
    const add = async (name: string, code: string) =>
      (
        (await b24rest(s.e, 'catalog.product.add', { fields: { iblockId: 25, name, code } })) as {
          element: { id: number };
        }
      ).element.id;
    const table = await add('Стол', 'T-1');
    const chair = await add('Стул', 'C-1');
    const draft = await add('Черновик', 'D-1');
    await s.e.settleEvents();
    await waitUntil(
      async () => (await recordOf(s.hub, 'product', String(chair))) !== undefined,
      10_000,
      'the products are ingested',
    );
    assert.deepEqual(await recordOf(s.hub, 'product', String(table)), {
      name: 'Стол',
      article: 'T-1',
      description: 'Б24: Стол',
    });
    assert.equal(
      await recordOf(s.hub, 'product', String(draft)),
      undefined,
      "the source mapping's filter left it out",
    );
    const inbox = await s.hub.store.db.selectFrom('inbox').selectAll().where('system', '=', 'b24').execute();
    assert.equal(inbox.length, 3);
    assert.deepEqual(JSON.parse(inbox[0]!.payload), {
      event: 'CATALOG.PRODUCT.ON.ADD',
      id: String(table),
      ts: JSON.parse(inbox[0]!.payload).ts,
      type: '1',
    });

    await b24rest(s.e, 'catalog.product.update', { id: table, fields: { name: 'Стол большой' } });
    await b24rest(s.e, 'catalog.product.delete', { id: chair });
    await s.e.settleEvents();
    await waitUntil(
      async () => (await recordOf(s.hub, 'product', String(table)))?.['name'] === 'Стол большой',
      10_000,
      'the update is ingested',
    );
    await waitUntil(
      async () =>
        (
          await s.hub.store.db
            .selectFrom('records')
            .innerJoin('links', 'links.record_id', 'records.id')
            .select('records.deleted')
            .where('links.system', '=', 'b24')
            .where('links.external_id', '=', String(chair))
            .executeTakeFirst()
        )?.deleted === 1,
      10_000,
      'the deletion is ingested',
    );

    // Other product types (services, variations) are stored, then marked as ignored with the reason.
    const res = await fetch(s.hookUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        event: 'CATALOG.PRODUCT.ON.UPDATE',
        'data[FIELDS][ID]': '999',
        'data[FIELDS][TYPE]': '7',
        'auth[application_token]': APP_TOKEN,
      }).toString(),
    });
    assert.equal(res.status, 200);
    await waitUntil(() => noneReceived(s.hub), 10_000, 'every event is processed');
    const service = await s.hub.store.db
      .selectFrom('inbox')
      .selectAll()
      .where('payload', 'like', '%"999"%')
      .executeTakeFirstOrThrow();
    assert.equal(service.state, 'processed');
    assert.match(service.error ?? '', /product TYPE 7 is a service; obmen reads simple products/);
  });

  it('a burst of events is fetched in batches, each object once; the newest stored event of an object decides', async () => {
    const s = await setup([{ name: 'b24-products', system: 'b24', entity: 'product' }]);
    setups.push(s);
    // Stored before processing starts: a burst as after obmen's own bulk write.
    const ids: number[] = [];
    for (let i = 0; i < 120; i++) {
      const id = s.e.state.nextId('product');
      s.e.state.table('product').set(id, { id, iblockId: 25, name: `Товар ${i}`, type: 1, active: 'Y' });
      ids.push(id);
    }
    const post = (event: string, id: number) =>
      fetch(s.hookUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          event,
          'data[FIELDS][ID]': String(id),
          'data[FIELDS][TYPE]': '1',
          'auth[application_token]': APP_TOKEN,
        }).toString(),
      });
    s.e.resetStats();
    await Promise.all(ids.map((id) => post('CATALOG.PRODUCT.ON.UPDATE', id)));
    await waitUntil(() => noneReceived(s.hub), 20_000, 'every event is processed');
    const records = await s.hub.store.db
      .selectFrom('records')
      .select('id')
      .where('entity', '=', 'product')
      .execute();
    assert.equal(records.length, 120);
    const gets = s.e.stats().calls['catalog.product.get'] ?? 0;
    assert.equal(gets, 120, 'each object fetched once');
    assert.ok(
      s.e.stats().batchCalls < 120 / 2,
      `fetched in batches, not one call per event (${s.e.stats().batchCalls})`,
    );
  });

  it('an event with a wrong application_token is refused and never stored', async () => {
    const s = await setup();
    setups.push(s);
    const res = await fetch(s.hookUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        event: 'ONCRMCOMPANYADD',
        'data[FIELDS][ID]': '1',
        'auth[application_token]': 'forged',
      }).toString(),
    });
    assert.equal(res.status, 401);
    const inbox = await s.hub.store.db.selectFrom('inbox').selectAll().execute();
    assert.equal(inbox.length, 0);
  });

  it('the catch-up poll by DATE_MODIFY finds changes whose events were dropped', async () => {
    const s = await setup();
    setups.push(s);
    s.e.bindOutgoing('ONCRMCOMPANYADD', s.hookUrl, APP_TOKEN);
    s.e.bindOutgoing('ONCRMCOMPANYUPDATE', s.hookUrl, APP_TOKEN);
    const first = (await b24rest(s.e, 'crm.company.add', { fields: { TITLE: 'ООО Первая' } })) as number;
    await s.e.settleEvents();
    const initial = await runPull(s.hub.runtime, 'b24-companies');
    assert.equal(initial.stats.read, 1);

    s.e.setFaults({ dropEvents: 1 });
    s.e.advance(5_000);
    const second = (await b24rest(s.e, 'crm.company.add', { fields: { TITLE: 'ООО Вторая' } })) as number;
    await b24rest(s.e, 'crm.company.update', { id: first, fields: { TITLE: 'ООО Первая (изм.)' } });
    await s.e.settleEvents();
    assert.equal(s.e.stats().eventsDropped, 2);
    assert.equal(
      await recordOf(s.hub, 'counterparty', `company:${second}`),
      undefined,
      'no event, nothing yet',
    );

    const poll = await runPull(s.hub.runtime, 'b24-companies');
    assert.equal(poll.stats.created, 1);
    assert.equal(poll.stats.updated, 1);
    assert.equal((await recordOf(s.hub, 'counterparty', `company:${second}`))?.['name'], 'ООО Вторая');
    assert.equal((await recordOf(s.hub, 'counterparty', `company:${first}`))?.['name'], 'ООО Первая (изм.)');
    const again = await runPull(s.hub.runtime, 'b24-companies');
    assert.equal(
      again.stats.created + again.stats.updated,
      0,
      'nothing new: the overlap re-reads, ingest drops unchanged',
    );
  });

  it('event.bind registration for an OAuth app (check() binds the CRM events once)', async () => {
    const e = await startBitrix24Emulator({ oauth: { clientId: 'app.2', clientSecret: 'sec-ret' } });
    try {
      process.env.OBMEN_SECRET_KEY ??= 'bitrix24-events-test-key';
      const tokens = e.issueTokens();
      const db = await createTestDatabase('sqlite');
      const store = await db.open();
      after(async () => {
        await store.close();
        await db.drop();
      });
      const connector = bitrix24Connector.create({
        store,
        systemName: 'b24',
        system: {
          kind: 'bitrix24',
          url: e.url,
          credentials: {
            clientId: 'app.2',
            clientSecret: 'sec-ret',
            accessToken: tokens.access_token,
            refreshToken: tokens.refresh_token,
          },
          options: {
            tokenServerUrl: e.tokenUrl,
            eventHandlerUrl: 'https://obmen.example.ru/webhooks/bitrix24/b24',
          },
        },
        http: createHttpClient({ system: 'b24', maxRetries: 0 }),
        log: pino({ level: 'silent' }),
        signal: new AbortController().signal,
      } as Bitrix24Context);
      await connector.check();
      await connector.check();
      const handlers = e.handlers();
      assert.equal(handlers.length, 12, 'the CRM events and the catalog product events');
      assert.ok(handlers.some((h) => h.event === 'CATALOG.PRODUCT.ON.UPDATE'));
      assert.ok(handlers.every((h) => h.handler === 'https://obmen.example.ru/webhooks/bitrix24/b24'));
      assert.ok(handlers.some((h) => h.event === 'ONCRMDEALUPDATE'));
    } finally {
      await e.close();
    }
  });
});
