import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import { type Bitrix24Emulator, startBitrix24Emulator } from '../emulators/bitrix24/index.ts';
import {
  generatePackage,
  OnecOrderBase,
  runCatalogExchange,
  runSaleExchange,
} from '../emulators/onec-exchange/index.ts';
import { bitrix24Connector } from '../src/connectors/bitrix24/index.ts';
import { onecCommercemlConnector } from '../src/connectors/onec-commerceml/index.ts';
import { registerConnector } from '../src/connectors/registry.ts';
import { runPull } from '../src/engine/pull.ts';
import { ExchangeClient } from '../src/exchange/commerceml/index.ts';
import { b24rest, eventsProcessed as eventsProcessedIn, writesSince } from './support/bitrix24.ts';
import { createTestHub, hubConfig, type TestHub } from './support/hub.ts';
import { forEachDialect, type TestDatabase } from './support/stores.ts';

/**
 * The order lifecycle with 1C connected the most common way, by its own «Обмен с сайтом»
 * (CommerceML pushed to obmen's endpoint), over real HTTP with the 1C exchange emulator and the
 * Bitrix24 emulator: won deals go to 1C with mode=query, and the documents 1C sends back for
 * them (posted, paid, shipped, cancelled) come back as the deals' stages — through order_status,
 * as with the OData connector — while the orders themselves stay as the deals made them, so
 * nothing goes back to 1C.
 */

registerConnector(bitrix24Connector);
registerConnector(onecCommercemlConnector);

const CODE = 'cml-scenario-webhook';
const APP_TOKEN = 'cml-scenario-app-token';
const ONEC = { login: 'Обмен', password: 'пароль-1С' };

interface Scenario {
  b24: Bitrix24Emulator;
  hub: TestHub;
  app: FastifyInstance;
  dir: string;
  onec(): ExchangeClient;
  close(): Promise<void>;
}

async function startScenario(db: TestDatabase): Promise<Scenario> {
  const dir = mkdtempSync(join(tmpdir(), 'obmen-cml-orders-'));
  const b24 = await startBitrix24Emulator({ webhook: { userId: 1, code: CODE } });
  const store = await db.open();
  const config = hubConfig({
    systems: {
      erp: {
        kind: 'onec-commerceml',
        credentials: ONEC,
        options: { dataDir: join(dir, 'exchange'), importStepSeconds: 0.5, encoding: 'utf-8' },
      },
      b24: {
        kind: 'bitrix24',
        url: b24.url,
        credentials: { webhookUserId: '1', webhookCode: CODE, applicationToken: APP_TOKEN },
        limits: { rate: '50/s' },
      },
    },
    sources: [
      { name: 'b24-companies', system: 'b24', entity: 'counterparty' },
      { name: 'b24-deals', system: 'b24', entity: 'order' },
    ],
    routes: [
      {
        name: 'products-to-b24',
        entity: 'product',
        target: 'b24',
        ignoreRefs: ['groupId', 'baseUnitId', 'properties[].propertyId'],
      },
      // 1C takes these itself with type=sale&mode=query.
      { name: 'orders-to-erp', entity: 'order', target: 'erp' },
      { name: 'status-to-b24', entity: 'order_status', target: 'b24' },
    ],
  });
  const hub = await createTestHub(store, config, {
    clock: { now: () => Date.now(), sleep: (ms) => new Promise((r) => setTimeout(r, ms)) },
  });
  const app = Fastify({ logger: false });
  for (const connector of hub.runtime.connectors.values()) await connector.mountInbound?.(app, hub.runtime);
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  for (const event of ['ONCRMDEALADD', 'ONCRMDEALUPDATE'])
    b24.bindOutgoing(event, `${address}/webhooks/bitrix24/b24`, APP_TOKEN);
  return {
    b24,
    hub,
    app,
    dir,
    onec: () => new ExchangeClient({ url: `${address}/bitrix/admin/1c_exchange.php`, ...ONEC }),
    async close() {
      await app.close();
      await hub.close();
      await store.close();
      await b24.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const rest = async <T = unknown>(s: Scenario, method: string, params: unknown) =>
  (await b24rest(s.b24, method, params)) as T;
const eventsProcessed = (s: Scenario) => eventsProcessedIn(s.b24, s.hub.store, 'b24');

async function linkOf(
  s: Scenario,
  entity: string,
  system: string,
  by: { recordId?: string; externalId?: string },
) {
  let query = s.hub.store.db
    .selectFrom('links')
    .select(['record_id', 'external_id'])
    .where('entity', '=', entity)
    .where('system', '=', system);
  if (by.recordId) query = query.where('record_id', '=', by.recordId);
  if (by.externalId) query = query.where('external_id', '=', by.externalId);
  return query.executeTakeFirst();
}

async function versions(s: Scenario, entity: string): Promise<Record<string, number>> {
  const rows = await s.hub.store.db
    .selectFrom('records')
    .select(['id', 'version'])
    .where('entity', '=', entity)
    .execute();
  return Object.fromEntries(rows.map((row) => [row.id, row.version]));
}

const dealStage = (s: Scenario, id: number) => String(s.b24.state.table('deal').get(id)?.['STAGE_ID']);
const b24WritesSince = (s: Scenario, before: Record<string, number>) => writesSince(s.b24, before);

forEachDialect('scenario: order states from 1C over the CommerceML exchange', (db) => {
  it('1C’s documents for won deals move their stages (posted, paid and shipped, cancelled); the orders stay the deals’, nothing goes back to 1C', async () => {
    const s = await startScenario(db());
    try {
      // ── 1C's catalog through its exchange, then to Bitrix24.
      const files = await generatePackage(join(s.dir, 'package'), { goods: 3, offers: false });
      await runCatalogExchange({ client: s.onec(), files });
      assert.equal((await s.hub.deliver('products-to-b24')).delivered, 3);
      const productIds = [...s.b24.state.table('product').keys()];
      assert.equal(productIds.length, 3);

      // ── A company with requisites and three won deals.
      const company = await rest<number>(s, 'crm.company.add', { fields: { TITLE: 'ООО Ромашка' } });
      await rest(s, 'crm.requisite.add', {
        fields: {
          ENTITY_TYPE_ID: 4,
          ENTITY_ID: company,
          PRESET_ID: 1,
          RQ_INN: '7707083893',
          RQ_KPP: '773601001',
        },
      });
      await runPull(s.hub.runtime, 'b24-companies');
      const deals: number[] = [];
      for (const [n, product] of productIds.entries()) {
        const id = await rest<number>(s, 'crm.deal.add', {
          fields: { TITLE: `Сделка ${n + 1}`, COMPANY_ID: company, CURRENCY_ID: 'RUB' },
        });
        await rest(s, 'crm.deal.productrows.set', {
          id,
          rows: [{ PRODUCT_ID: product, PRICE: 1000 * (n + 1), QUANTITY: n + 1 }],
        });
        await rest(s, 'crm.deal.update', { id, fields: { STAGE_ID: 'WON' } });
        deals.push(id);
      }
      await eventsProcessed(s);
      const orderOf = new Map<number, string>();
      for (const deal of deals)
        orderOf.set(deal, (await linkOf(s, 'order', 'b24', { externalId: String(deal) }))!.record_id);
      const orderVersions = await versions(s, 'order');
      assert.equal(Object.keys(orderVersions).length, 3);

      // ── 1C's exchange takes the orders (query → success).
      const base = new OnecOrderBase();
      const taken = await runSaleExchange({ client: s.onec(), base });
      assert.equal(taken.orders, 3);
      assert.deepEqual(
        [...base.orders.keys()].sort(),
        [...orderOf.values()].sort(),
        'the document Ид is the order’s hub id',
      );
      assert.deepEqual(taken.messages, {}, 'nothing changed in 1C yet: no documents');

      // ── A manager posts the three orders; the next exchange sends their documents.
      for (const id of base.orders.keys()) base.post(id);
      const beforePosted = { ...s.b24.stats().writesByMethod };
      const posted = await runSaleExchange({ client: s.onec(), base });
      assert.equal(posted.orders, 0, 'nothing new for 1C');
      assert.match(
        posted.messages['documents.xml'] ?? '',
        /Импорт documents\.xml завершён: объектов \d+, записано 3/,
      );
      const states = await s.hub.store.db
        .selectFrom('records')
        .select(['id', 'data'])
        .where('entity', '=', 'order_status')
        .execute();
      assert.equal(states.length, 3);
      for (const [deal, orderId] of orderOf) {
        const link = await linkOf(s, 'order_status', 'erp', { externalId: orderId });
        assert.ok(link, `deal ${deal}: its state is keyed by the order's Ид in 1C`);
        const data = JSON.parse(states.find((row) => row.id === link.record_id)!.data) as Record<
          string,
          unknown
        >;
        assert.equal(data['orderId'], orderId, 'the state points at the deal’s order');
        assert.equal(data['status'], 'confirmed');
        assert.match(String(data['number']), /^ЗК-\d{6}$/, '1C’s own number');
      }
      assert.deepEqual(
        await versions(s, 'order'),
        orderVersions,
        '1C’s documents leave the deals’ orders alone',
      );
      await s.hub.deliver('status-to-b24');
      assert.deepEqual(
        deals.map((d) => dealStage(s, d)),
        ['FINAL_INVOICE', 'FINAL_INVOICE', 'FINAL_INVOICE'],
        'agreed in 1C: «Финальный счёт» while 1C prepares it',
      );
      assert.deepEqual(b24WritesSince(s, beforePosted), { 'crm.deal.update': 3 });
      await eventsProcessed(s);

      // ── Deal 1 is paid and shipped, deal 2 cancelled, deal 3 shipped on credit.
      const [o1, o2, o3] = deals.map((d) => orderOf.get(d)!);
      base.pay(o1!);
      base.ship(o1!);
      base.cancel(o2!);
      base.ship(o3!);
      const beforeDone = { ...s.b24.stats().writesByMethod };
      const done = await runSaleExchange({ client: s.onec(), base, documentsVersion: '3.1' });
      assert.equal(done.orders, 0);
      await s.hub.deliver('status-to-b24');
      assert.deepEqual(
        deals.map((d) => dealStage(s, d)),
        ['WON', 'LOSE', 'WON'],
        'paid and shipped, cancelled, shipped',
      );
      assert.deepEqual(b24WritesSince(s, beforeDone), { 'crm.deal.update': 3 });

      // ── No echo: the stage writes come back as events and read as the same orders; 1C gets
      //    nothing back; the same documents again change nothing.
      await eventsProcessed(s);
      assert.deepEqual(
        await versions(s, 'order'),
        orderVersions,
        'no order changed because of our own writes',
      );
      const again = await runSaleExchange({ client: s.onec(), base });
      assert.equal(again.orders, 0, 'nothing goes back to 1C');
      for (const order of base.orders.values()) order.changed = true;
      const beforeRepeat = { ...s.b24.stats().writesByMethod };
      const repeat = await runSaleExchange({ client: s.onec(), base, documentsVersion: '3.1' });
      assert.match(repeat.messages['documents.xml'] ?? '', /записано 0, без изменений/);
      assert.equal((await s.hub.deliver('status-to-b24')).claimed, 0);
      assert.deepEqual(b24WritesSince(s, beforeRepeat), {}, 'no write after the repeat');
    } finally {
      await s.close();
    }
  });
});
