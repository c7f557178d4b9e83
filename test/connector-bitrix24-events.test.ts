import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import Fastify from 'fastify';
import { pino } from 'pino';
import { type Bitrix24Emulator, startBitrix24Emulator } from '../emulators/bitrix24/index.ts';
import { type Bitrix24Context, bitrix24Connector } from '../src/connectors/bitrix24/index.ts';
import { registerConnector } from '../src/connectors/registry.ts';
import { runPull } from '../src/engine/pull.ts';
import { createHttpClient } from '../src/http/client.ts';
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

async function setup(): Promise<Setup> {
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
    sources: [
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

async function rest(e: Bitrix24Emulator, method: string, body: unknown): Promise<unknown> {
  const res = await fetch(`${e.webhookUrl}${method}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return ((await res.json()) as { result: unknown }).result;
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

describe('bitrix24 events and the catch-up poll', () => {
  const setups: Setup[] = [];
  after(() => Promise.all(setups.map((s) => s.close())));

  it('an event is verified, stored in the inbox before the 200, then the object is fetched and ingested', async () => {
    const s = await setup();
    setups.push(s);
    for (const event of ['ONCRMCOMPANYADD', 'ONCRMCOMPANYUPDATE', 'ONCRMDEALADD'])
      s.e.bindOutgoing(event, s.hookUrl, APP_TOKEN);
    const id = (await rest(s.e, 'crm.company.add', {
      fields: { TITLE: 'ООО Событие', PHONE: [{ VALUE: '+74950000001', VALUE_TYPE: 'WORK' }] },
    })) as number;
    await rest(s.e, 'crm.requisite.add', {
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
    await rest(s.e, 'crm.company.update', { id, fields: { TITLE: 'ООО Событие-2' } });
    await s.e.settleEvents();
    await waitUntil(
      async () => (await recordOf(s.hub, 'counterparty', `company:${id}`))?.['name'] === 'ООО Событие-2',
      10_000,
      'the update is ingested',
    );

    // Deals: product rows fetched with the deal; only won deals are orders (options.orderStages).
    const deal = (await rest(s.e, 'crm.deal.add', {
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
    const first = (await rest(s.e, 'crm.company.add', { fields: { TITLE: 'ООО Первая' } })) as number;
    await s.e.settleEvents();
    const initial = await runPull(s.hub.runtime, 'b24-companies');
    assert.equal(initial.stats.read, 1);

    s.e.setFaults({ dropEvents: 1 });
    s.e.advance(5_000);
    const second = (await rest(s.e, 'crm.company.add', { fields: { TITLE: 'ООО Вторая' } })) as number;
    await rest(s.e, 'crm.company.update', { id: first, fields: { TITLE: 'ООО Первая (изм.)' } });
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
      assert.equal(handlers.length, 9);
      assert.ok(handlers.every((h) => h.handler === 'https://obmen.example.ru/webhooks/bitrix24/b24'));
      assert.ok(handlers.some((h) => h.event === 'ONCRMDEALUPDATE'));
    } finally {
      await e.close();
    }
  });
});
