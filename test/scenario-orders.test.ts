import assert from 'node:assert/strict';
import { it } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import { type BitrixSite, startBitrixSite } from '../emulators/bitrix-site/index.ts';
import { type Bitrix24Emulator, startBitrix24Emulator } from '../emulators/bitrix24/index.ts';
import { type OnecOdataEmulator, startOnecOdataEmulator } from '../emulators/onec-odata/index.ts';
import { bitrixSiteConnector } from '../src/connectors/bitrix-site/index.ts';
import { bitrix24Connector } from '../src/connectors/bitrix24/index.ts';
import { onecOdataConnector } from '../src/connectors/onec-odata/index.ts';
import { registerConnector } from '../src/connectors/registry.ts';
import { replayRoute } from '../src/engine/operations.ts';
import { runPull } from '../src/engine/pull.ts';
import { eventsProcessed as eventsProcessedIn, writesSince } from './support/bitrix24.ts';
import { createTestHub, hubConfig, type TestHub } from './support/hub.ts';
import { waitUntil } from './support/processes.ts';
import { forEachDialect, type TestDatabase } from './support/stores.ts';

/**
 * The order lifecycle end to end (seed 004), over real HTTP with the three emulators: a deal won
 * in Bitrix24 and an order placed on a 1C-Bitrix shop become posted Заказы клиента in 1C (the
 * customer matched to 1C's counterparty or created there first), and what 1C then does with
 * them (confirm, pay, ship, cancel) comes back as deal stages and shop order statuses — with
 * every write to every system counted, so an echo or a duplicate would show.
 */

registerConnector(onecOdataConnector);
registerConnector(bitrix24Connector);
registerConnector(bitrixSiteConnector);

const CODE = 'scenario-webhook-code';
const APP_TOKEN = 'scenario-app-token';
const SITE = { login: 'obmen', password: 'секрет' };
const ORDERS = 'Document_ЗаказКлиента';

interface Scenario {
  onec: OnecOdataEmulator;
  b24: Bitrix24Emulator;
  shop: BitrixSite;
  hub: TestHub;
  app: FastifyInstance;
  close(): Promise<void>;
}

async function startScenario(db: TestDatabase): Promise<Scenario> {
  const onec = await startOnecOdataEmulator({ items: 12, counterparties: 5 });
  const b24 = await startBitrix24Emulator({ webhook: { userId: 1, code: CODE } });
  const shop = await startBitrixSite({ ...SITE, importStepMs: 50 });
  const store = await db.open();
  const config = hubConfig({
    systems: {
      ut: {
        kind: 'onec-odata',
        url: onec.publicationUrl,
        credentials: { login: 'Обмен', password: 'секрет' },
        // Short, so the test's lost answer costs little; generous enough for a loaded machine.
        limits: { timeout: '2s' },
      },
      b24: {
        kind: 'bitrix24',
        url: b24.url,
        credentials: { webhookUserId: '1', webhookCode: CODE, applicationToken: APP_TOKEN },
        // Bitrix24's own default of 2 requests/s would only slow the test down.
        limits: { rate: '50/s' },
      },
      shop: { kind: 'bitrix-site', url: shop.url, credentials: SITE },
    },
    sources: [
      { name: 'ut-groups', system: 'ut', entity: 'product_group' },
      { name: 'ut-products', system: 'ut', entity: 'product' },
      { name: 'ut-counterparties', system: 'ut', entity: 'counterparty' },
      // РегистрСведений.СостоянияЗаказовКлиентов: what 1C did with the orders.
      { name: 'ut-order-states', system: 'ut', entity: 'order_status' },
      { name: 'b24-companies', system: 'b24', entity: 'counterparty' },
      { name: 'b24-contacts', system: 'b24', entity: 'counterparty', options: { bitrixEntity: 'contact' } },
      // Only won deals are orders (options.orderStages, default ["WON"]).
      { name: 'b24-deals', system: 'b24', entity: 'order' },
      { name: 'shop-orders', system: 'shop', entity: 'order' },
    ],
    routes: [
      { name: 'groups-to-shop', entity: 'product_group', target: 'shop' },
      { name: 'products-to-shop', entity: 'product', target: 'shop', ignoreRefs: ['baseUnitId'] },
      { name: 'products-to-b24', entity: 'product', target: 'b24', ignoreRefs: ['groupId', 'baseUnitId'] },
      // 1C owns its counterparties: only customers 1C does not have yet are created there.
      {
        name: 'counterparties-to-ut',
        entity: 'counterparty',
        target: 'ut',
        filter: "$not($exists($externalId('ut')))",
      },
      {
        name: 'orders-to-ut',
        entity: 'order',
        target: 'ut',
        options: { defaults: { ХозяйственнаяОперация: 'РеализацияКлиенту' } },
      },
      { name: 'status-to-b24', entity: 'order_status', target: 'b24' },
      { name: 'status-to-shop', entity: 'order_status', target: 'shop' },
    ],
  });
  const hub = await createTestHub(store, config, {
    clock: { now: () => Date.now(), sleep: (ms) => new Promise((r) => setTimeout(r, ms)) },
  });
  const app = Fastify({ logger: false });
  await hub.runtime.connectors.get('b24')!.mountInbound!(app, hub.runtime);
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  // Deals come by events (the won stage is an ONCRMDEALUPDATE); companies and contacts by the
  // catch-up poll, which also brings a company's requisite (ИНН/КПП are added after the company).
  for (const event of ['ONCRMDEALADD', 'ONCRMDEALUPDATE'])
    b24.bindOutgoing(event, `${address}/webhooks/bitrix24/b24`, APP_TOKEN);
  return {
    onec,
    b24,
    shop,
    hub,
    app,
    async close() {
      await app.close();
      await hub.close();
      await store.close();
      await Promise.all([onec.close(), b24.close(), shop.close()]);
    },
  };
}

/** A person working in the portal: Bitrix24's REST API through the inbound webhook. */
async function rest<T = unknown>(s: Scenario, method: string, params: unknown): Promise<T> {
  const res = await fetch(`${s.b24.webhookUrl}${method}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(params),
  });
  const body = (await res.json()) as { result: T; error_description?: string };
  assert.equal(res.status, 200, `${method}: ${body.error_description}`);
  return body.result;
}

/** A person working in 1C: the emulator's control API (status, payment, shipment, cancel). */
async function inOnec(s: Scenario, ref: string, action: string, body: unknown = {}): Promise<unknown> {
  const res = await fetch(`${new URL(s.onec.url).origin}/_orders/${ref}/${action}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const answer = (await res.json()) as { state?: unknown; error?: { message: string } };
  assert.equal(res.status, 200, answer.error?.message);
  return answer.state;
}

async function hubIdOf(s: Scenario, entity: string, system: string, externalId: string) {
  const row = await s.hub.store.db
    .selectFrom('links')
    .select('record_id')
    .where('entity', '=', entity)
    .where('system', '=', system)
    .where('external_id', '=', externalId)
    .executeTakeFirst();
  return row?.record_id;
}

async function externalIdOf(s: Scenario, entity: string, system: string, recordId: string) {
  const row = await s.hub.store.db
    .selectFrom('links')
    .select('external_id')
    .where('entity', '=', entity)
    .where('system', '=', system)
    .where('record_id', '=', recordId)
    .executeTakeFirst();
  return row?.external_id;
}

/** entity → { hub id: version }: a new version anywhere shows as a difference. */
async function versions(s: Scenario, entity: string): Promise<Record<string, number>> {
  const rows = await s.hub.store.db
    .selectFrom('records')
    .select(['id', 'version'])
    .where('entity', '=', entity)
    .execute();
  return Object.fromEntries(rows.map((row) => [row.id, row.version]));
}

/** Delivers the routes in rounds until none has anything due (dependencies go first). */
async function settle(s: Scenario, routes: string[]): Promise<number> {
  let written = 0;
  for (let round = 0; round < 6; round++) {
    let claimed = 0;
    for (const route of routes) {
      const totals = await s.hub.deliver(route);
      claimed += totals.claimed;
      written += totals.delivered;
    }
    if (claimed === 0) return written;
  }
  throw new Error(`routes ${routes.join(', ')} still had work after 6 rounds`);
}

/** Lets the portal's events reach obmen and be processed. */
const eventsProcessed = (s: Scenario) => eventsProcessedIn(s.b24, s.hub.store, 'b24');

const dealStage = (s: Scenario, id: number) => String(s.b24.state.table('deal').get(id)?.['STAGE_ID']);
/** Every write Bitrix24 took, by method: a stray write of any kind shows in the comparison. */
const b24Writes = (s: Scenario) => ({ ...s.b24.stats().writesByMethod });
/** What was written since `before`, by method. */
const b24WritesSince = (s: Scenario, before: Record<string, number>) => writesSince(s.b24, before);
const onecDocs = (s: Scenario) => s.onec.catalog.created(ORDERS);

/** The catalog both channels sell: 1C's goods in the shop and in Bitrix24, 1C's counterparties in the hub. */
async function loadCatalog(s: Scenario): Promise<void> {
  for (const source of ['ut-groups', 'ut-products', 'ut-counterparties'])
    await runPull(s.hub.runtime, source);
  await settle(s, ['groups-to-shop', 'products-to-shop', 'products-to-b24']);
  assert.equal(s.shop.state.products.size, 12);
  assert.equal(s.b24.state.table('product').size, 12);
}

/** The Bitrix24 product id of 1C's product n. */
async function b24Product(s: Scenario, n: number): Promise<number> {
  const hubId = await hubIdOf(s, 'product', 'ut', s.onec.catalog.refs.product(n));
  return Number(await externalIdOf(s, 'product', 'b24', hubId!));
}

/** A manager's deal with product rows, at the stage the manager leaves it. */
async function makeDeal(
  s: Scenario,
  fields: Record<string, unknown>,
  rows: Array<{ product: number; price: number; quantity: number }>,
): Promise<number> {
  const id = await rest<number>(s, 'crm.deal.add', { fields: { CURRENCY_ID: 'RUB', ...fields } });
  const productRows = [];
  for (const row of rows)
    productRows.push({
      PRODUCT_ID: await b24Product(s, row.product),
      PRICE: row.price,
      QUANTITY: row.quantity,
    });
  await rest(s, 'crm.deal.productrows.set', { id, rows: productRows });
  return id;
}

forEachDialect('scenario: order lifecycle 1C ↔ Bitrix24 ↔ site', (db) => {
  it('won deals and a shop order become posted 1C orders; 1C’s statuses come back as stages and shop statuses; nothing bounces', async () => {
    const s = await startScenario(db());
    try {
      await loadCatalog(s);
      const cp = (k: number) =>
        s.onec.catalog.get('Catalog_Контрагенты', s.onec.catalog.refs.counterparty(k))!;

      // ── Bitrix24: three customers. One is 1C's counterparty 1 (same ИНН and КПП), one is the
      //    sole trader 1C knows as counterparty 4 (his phone, written another way), one is new.
      const known = await rest<number>(s, 'crm.company.add', { fields: { TITLE: 'Ромашка-2 (CRM)' } });
      await rest(s, 'crm.requisite.add', {
        fields: {
          ENTITY_TYPE_ID: 4,
          ENTITY_ID: known,
          PRESET_ID: 1,
          RQ_INN: cp(1)['ИНН'],
          RQ_KPP: cp(1)['КПП'],
        },
      });
      const fresh = await rest<number>(s, 'crm.company.add', { fields: { TITLE: 'ООО Новый клиент' } });
      await rest(s, 'crm.requisite.add', {
        fields: {
          ENTITY_TYPE_ID: 4,
          ENTITY_ID: fresh,
          PRESET_ID: 1,
          RQ_INN: '7707083893',
          RQ_KPP: '773601001',
        },
      });
      const person = await rest<number>(s, 'crm.contact.add', {
        fields: {
          NAME: 'Пётр',
          LAST_NAME: 'Кузнецов',
          PHONE: [{ VALUE: `8 (495) 004-00-00`, VALUE_TYPE: 'MOBILE' }],
        },
      });
      await runPull(s.hub.runtime, 'b24-companies');
      await runPull(s.hub.runtime, 'b24-contacts');
      const knownHub = await hubIdOf(s, 'counterparty', 'b24', `company:${known}`);
      const personHub = await hubIdOf(s, 'counterparty', 'b24', `contact:${person}`);
      assert.equal(knownHub, await hubIdOf(s, 'counterparty', 'ut', s.onec.catalog.refs.counterparty(1)));
      assert.equal(personHub, await hubIdOf(s, 'counterparty', 'ut', s.onec.catalog.refs.counterparty(4)));

      // ── Deals. Three are won; one stays open and is never an order.
      const d1 = await makeDeal(s, { TITLE: 'Ромашка: дрели', COMPANY_ID: known }, [
        { product: 0, price: 1500, quantity: 2 },
        { product: 3, price: 990, quantity: 1 },
      ]);
      const d2 = await makeDeal(s, { TITLE: 'Новый клиент', COMPANY_ID: fresh }, [
        { product: 1, price: 700, quantity: 5 },
      ]);
      const d3 = await makeDeal(s, { TITLE: 'ИП Кузнецов', CONTACT_ID: person }, [
        { product: 2, price: 350, quantity: 4 },
      ]);
      const open = await makeDeal(s, { TITLE: 'Ещё думают', COMPANY_ID: known }, [
        { product: 5, price: 100, quantity: 1 },
      ]);
      for (const deal of [d1, d2, d3])
        await rest(s, 'crm.deal.update', { id: deal, fields: { STAGE_ID: 'WON' } });
      await rest(s, 'crm.deal.update', { id: open, fields: { STAGE_ID: 'PREPARATION' } });
      await eventsProcessed(s);
      for (const deal of [d1, d2, d3])
        assert.ok(await hubIdOf(s, 'order', 'b24', String(deal)), `deal ${deal}`);
      assert.equal(await hubIdOf(s, 'order', 'b24', String(open)), undefined, 'an open deal is not an order');

      // ── To 1C: the orders of known customers go at once; the new company is created first.
      const onecWrites = s.onec.stats().writes;
      await settle(s, ['orders-to-ut', 'counterparties-to-ut']);
      assert.equal(onecDocs(s).length, 3);
      const docOf = async (system: string, id: number | string) => {
        const hubId = await hubIdOf(s, 'order', system, String(id));
        const ref = await externalIdOf(s, 'order', 'ut', hubId!);
        return s.onec.catalog.get(ORDERS, ref!)!;
      };
      const doc1 = await docOf('b24', d1);
      assert.equal(doc1['Posted'], true);
      assert.equal(doc1['НомерПоДаннымКлиента'], String(d1));
      assert.equal(doc1['Статус'], 'КВыполнению', 'a won deal arrives agreed');
      assert.equal(doc1['Контрагент_Key'], s.onec.catalog.refs.counterparty(1), 'matched by ИНН+КПП');
      assert.deepEqual(
        (doc1['Товары'] as Array<Record<string, unknown>>).map((r) => [
          r['Номенклатура_Key'],
          r['Количество'],
          r['Цена'],
        ]),
        [
          [s.onec.catalog.refs.product(0), 2, 1500],
          [s.onec.catalog.refs.product(3), 1, 990],
        ],
      );
      assert.equal(
        (await docOf('b24', d3))['Контрагент_Key'],
        s.onec.catalog.refs.counterparty(4),
        'matched by phone',
      );
      const newCustomer = s.onec.catalog.created('Catalog_Контрагенты');
      assert.equal(newCustomer.length, 1, 'only the new company is created in 1C');
      assert.equal(newCustomer[0]!['ИНН'], '7707083893');
      assert.equal((await docOf('b24', d2))['Контрагент_Key'], newCustomer[0]!['Ref_Key']);
      // Per order a create and a /Post, plus the one counterparty: nothing else was written.
      assert.equal(s.onec.stats().writes - onecWrites, 3 * 2 + 1);

      // ── The shop: a buyer orders; obmen takes the order as 1C does and writes it to 1C.
      await fetch(`${s.shop.url}/_orders/generate?count=1`, { method: 'POST' });
      const pulled = await runPull(s.hub.runtime, 'shop-orders');
      assert.equal(pulled.stats.created, 1);
      await settle(s, ['orders-to-ut', 'counterparties-to-ut']);
      const siteOrder = [...s.shop.state.orders.values()][0]!;
      const doc4 = await docOf('shop', siteOrder.id);
      assert.equal(doc4['НомерПоДаннымКлиента'], siteOrder.accountNumber);
      assert.equal(doc4['Статус'], 'НеСогласован', 'a new shop order waits for a manager in 1C');
      const buyer = s.onec.catalog.get('Catalog_Контрагенты', String(doc4['Контрагент_Key']))!;
      assert.equal(buyer['Description'], `${siteOrder.user.lastName} ${siteOrder.user.name}`);
      assert.equal(onecDocs(s).length, 4);

      // ── 1C's first word on the orders: the won deals are being prepared, the shop order is new.
      const states = await runPull(s.hub.runtime, 'ut-order-states');
      assert.equal(states.stats.created, 4);
      const beforeStatus = { b24: b24Writes(s), imports: s.shop.state.stats.imports };
      const orderVersions = await versions(s, 'order');
      await settle(s, ['status-to-b24', 'status-to-shop']);
      assert.deepEqual(
        [d1, d2, d3].map((d) => dealStage(s, d)),
        ['FINAL_INVOICE', 'FINAL_INVOICE', 'FINAL_INVOICE'],
      );
      assert.equal(dealStage(s, open), 'PREPARATION');
      assert.equal(s.b24.state.table('deal').get(d1)?.['CLOSED'], 'N', 'open again while 1C prepares it');
      assert.deepEqual(
        b24WritesSince(s, beforeStatus.b24),
        { 'crm.deal.update': 3 },
        'one stage write per deal, nothing else',
      );
      assert.equal(
        s.shop.state.stats.imports - beforeStatus.imports,
        1,
        "one document for the shop's own order",
      );
      assert.equal(siteOrder.statusId, 'N');
      // The stage writes come back as events: deals that left the won stage are not orders any more.
      await eventsProcessed(s);
      assert.deepEqual(
        await versions(s, 'order'),
        orderVersions,
        'no order changed because of our own writes',
      );

      // ── A manager works in 1C: the shop order is agreed, paid and shipped; deal 1 is paid and
      //    then shipped, deal 2 shipped on credit, deal 3 cancelled.
      const refOf = async (system: string, id: number | string) =>
        (await externalIdOf(s, 'order', 'ut', (await hubIdOf(s, 'order', system, String(id)))!))!;
      await inOnec(s, await refOf('shop', siteOrder.id), 'status', { status: 'КВыполнению' });
      await inOnec(s, await refOf('b24', d1), 'payment', { percent: 100 });
      // Paid but not shipped: seed 004's "paid" maps to the stage the deal already has.
      await runPull(s.hub.runtime, 'ut-order-states');
      const beforePaid = b24Writes(s);
      await settle(s, ['status-to-b24', 'status-to-shop']);
      assert.deepEqual(b24WritesSince(s, beforePaid), {}, 'same stage: nothing written');
      assert.equal(siteOrder.statusId, 'N', 'agreed in 1C is still «Принят» on the shop');

      await inOnec(s, await refOf('shop', siteOrder.id), 'payment', { percent: 100 });
      await inOnec(s, await refOf('shop', siteOrder.id), 'shipment', { percent: 100 });
      await inOnec(s, await refOf('b24', d1), 'shipment', { percent: 100 });
      await inOnec(s, await refOf('b24', d2), 'shipment', { percent: 100 });
      await inOnec(s, await refOf('b24', d3), 'cancel');
      const onecBefore = s.onec.stats().writes;
      const changed = await runPull(s.hub.runtime, 'ut-order-states');
      assert.equal(changed.stats.updated, 4);
      const before = { b24: b24Writes(s), imports: s.shop.state.stats.imports };
      await settle(s, ['status-to-b24', 'status-to-shop']);
      assert.equal(dealStage(s, d1), 'WON', 'shipped and paid: «Выполнен»');
      assert.equal(dealStage(s, d2), 'WON', 'shipped: «Выполнен»');
      assert.equal(dealStage(s, d3), 'LOSE', 'cancelled: «Отменен»');
      assert.deepEqual(
        [d1, d2, d3].map((d) => s.b24.state.table('deal').get(d)?.['STAGE_SEMANTIC_ID']),
        ['S', 'S', 'F'],
      );
      assert.deepEqual(b24WritesSince(s, before.b24), { 'crm.deal.update': 3 });
      assert.equal(s.shop.state.stats.imports - before.imports, 1);
      assert.equal(siteOrder.statusId, 'F', 'shipped: «Выполнен»');
      assert.equal(siteOrder.payed, true);
      assert.equal(siteOrder.deducted, true);

      // ── No echo: the won deals come back as events and read the same as before; the shop
      //    does not offer 1C's change back; 1C got nothing from any of this.
      await eventsProcessed(s);
      assert.deepEqual(
        await versions(s, 'order'),
        orderVersions,
        'no order changed because of our own writes',
      );
      const echo = await runPull(s.hub.runtime, 'shop-orders');
      assert.equal(echo.stats.read, 0, 'the shop does not offer 1C’s change back');
      const catchUp = await runPull(s.hub.runtime, 'b24-deals');
      assert.equal(catchUp.stats.created + catchUp.stats.updated, 0, 'the catch-up poll finds nothing new');
      assert.equal(
        await settle(s, ['orders-to-ut', 'counterparties-to-ut', 'status-to-b24', 'status-to-shop']),
        0,
      );
      assert.equal(s.onec.stats().writes, onecBefore, 'statuses never go back to 1C');
      assert.deepEqual(b24WritesSince(s, before.b24), { 'crm.deal.update': 3 }, 'no write after the echoes');
      assert.equal(s.shop.state.stats.imports - before.imports, 1, 'no document after the echoes');
      assert.equal(onecDocs(s).length, 4, 'no order was written twice');
      const again = await runPull(s.hub.runtime, 'ut-order-states');
      assert.equal(again.stats.created + again.stats.updated, 0, 'a re-poll of 1C finds nothing new');
    } finally {
      await s.close();
    }
  });

  it('nothing lost, nothing doubled: a dropped won event is found by the catch-up poll, a lost create answer is found again, a replay updates the same document', async () => {
    const s = await startScenario(db());
    try {
      await loadCatalog(s);
      const cp1 = s.onec.catalog.get('Catalog_Контрагенты', s.onec.catalog.refs.counterparty(1))!;
      const company = await rest<number>(s, 'crm.company.add', { fields: { TITLE: 'Ромашка-2 (CRM)' } });
      await rest(s, 'crm.requisite.add', {
        fields: {
          ENTITY_TYPE_ID: 4,
          ENTITY_ID: company,
          PRESET_ID: 1,
          RQ_INN: cp1['ИНН'],
          RQ_KPP: cp1['КПП'],
        },
      });
      await runPull(s.hub.runtime, 'b24-companies');
      const deal = await makeDeal(s, { TITLE: 'Ромашка: краска', COMPANY_ID: company }, [
        { product: 7, price: 420, quantity: 3 },
      ]);
      await eventsProcessed(s);
      // The first catch-up poll reads every deal (an open one is no order) and keeps the newest
      // DATE_MODIFY; later polls read only what changed since.
      const initial = await runPull(s.hub.runtime, 'b24-deals');
      assert.equal(initial.stats.created, 0);

      // The won stage's event is lost (Bitrix24 never sends an event twice).
      s.b24.setFaults({ dropEvents: 1 });
      s.b24.advance(5_000);
      await rest(s, 'crm.deal.update', { id: deal, fields: { STAGE_ID: 'WON' } });
      await eventsProcessed(s);
      assert.equal(s.b24.stats().eventsDropped, 1);
      assert.equal(await hubIdOf(s, 'order', 'b24', String(deal)), undefined, 'no event, no order yet');
      const poll = await runPull(s.hub.runtime, 'b24-deals');
      assert.equal(poll.stats.created, 1, 'the catch-up poll finds the won deal');

      // 1C creates the order but its answer never arrives: the next attempt finds the document by
      // customer + НомерПоДаннымКлиента and posts it, instead of making a second one.
      s.onec.setFaults({ dropAnswerNext: 1 });
      const first = await s.hub.deliver('orders-to-ut');
      assert.equal(first.retried, 1, 'the lost answer is a transient failure');
      assert.equal(s.onec.stats().dropped, 1);
      assert.equal(s.onec.catalog.created(ORDERS).length, 1, '1C made the document');
      await new Promise((resolve) => setTimeout(resolve, 1_100));
      await waitUntil(
        async () => (await s.hub.deliver('orders-to-ut')).delivered === 1,
        5_000,
        'the retry delivers the order',
      );
      const docs = s.onec.catalog.created(ORDERS);
      assert.equal(docs.length, 1, 'one document, not two');
      assert.equal(docs[0]!['Posted'], true);
      const orderId = (await hubIdOf(s, 'order', 'b24', String(deal)))!;
      assert.equal(await externalIdOf(s, 'order', 'ut', orderId), docs[0]!['Ref_Key']);

      // Re-polls change nothing and write nothing.
      const writes = s.onec.stats().writes;
      const repoll = await runPull(s.hub.runtime, 'b24-deals', { full: true });
      assert.equal(repoll.stats.created + repoll.stats.updated, 0);
      assert.equal(await settle(s, ['orders-to-ut', 'counterparties-to-ut']), 0);
      assert.equal(s.onec.stats().writes, writes);

      // A replay (after a mapping change, say) sends the order again: the same document is
      // updated and posted again.
      await replayRoute(s.hub.store, { name: 'orders-to-ut', entity: 'order' });
      assert.equal(await settle(s, ['orders-to-ut']), 1);
      assert.equal(s.onec.catalog.created(ORDERS).length, 1);
      assert.equal(s.onec.stats().writes - writes, 2, 'a PATCH and a /Post, nothing created');
    } finally {
      await s.close();
    }
  });
});
