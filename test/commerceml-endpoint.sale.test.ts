import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import iconv from 'iconv-lite';
import { decodeXml, runSaleExchange } from '../emulators/onec-exchange/index.ts';
import { ingest } from '../src/engine/ingest.ts';
import { type ObmenUnderTest, startObmen } from './commerceml-endpoint.harness.ts';
import { createTestDatabase, postgresUnavailable, type TestDatabase } from './support/stores.ts';

/**
 * type=sale: orders that reached obmen from a site are pulled by 1C (query), committed only by
 * `success`, and 1C's own documents (payment, shipment) come back into the same records.
 */
const PG_SKIP = await postgresUnavailable();

for (const dialect of ['sqlite', 'postgres'] as const) {
  describe(`CommerceML endpoint: orders (type=sale) [${dialect}]`, () => {
    const skip = dialect === 'postgres' ? PG_SKIP : undefined;
    if (skip) {
      test(`skipped: ${skip}`, { skip }, () => {});
      return;
    }
    let obmen: ObmenUnderTest;
    let database: TestDatabase;
    let orderId: string;
    let customerId: string;

    before(async () => {
      database = await createTestDatabase(dialect);
      obmen = await startObmen(
        { ordersVersion: '2.05', encoding: 'windows-1251' },
        {
          systems: { site: { kind: 'noop' } },
          routes: [{ name: 'orders-to-erp', entity: 'order', target: 'erp' }],
          database,
        },
      );
      const ctx = obmen.runtime.ingest;
      // A product 1C sent earlier, known to the site under its own id.
      const fromErp = await ingest(ctx, {
        system: 'erp',
        entity: 'product',
        items: [{ externalId: 'erp-p1', data: { name: 'Стол письменный', article: 'СТ-1' } }],
      });
      const productRecord = fromErp.records[0]!.recordId;
      await obmen.store.db
        .insertInto('links')
        .values({
          entity: 'product',
          record_id: productRecord,
          system: 'site',
          external_id: 'site-p1',
          last_hash: null,
          updated_at: Date.now(),
        })
        .execute();
      const customer = await ingest(ctx, {
        system: 'site',
        entity: 'counterparty',
        items: [
          {
            externalId: 'u-38',
            data: { kind: 'person', name: 'Петров Пётр', emails: [{ value: 'petrov@example.ru' }] },
          },
        ],
      });
      customerId = customer.records[0]!.recordId;
      const order = await ingest(ctx, {
        system: 'site',
        entity: 'order',
        items: [
          {
            externalId: 'site-order-142',
            data: {
              number: '142',
              date: '2024-03-01T10:15:00',
              customerId: 'u-38',
              currency: 'RUB',
              lines: [
                { productId: 'site-p1', name: 'Стол письменный', quantity: 2, price: 1500, amount: 3000 },
              ],
              totals: { amount: 3000 },
              status: 'N',
            },
          },
        ],
      });
      assert.equal(order.invalid.length, 0, JSON.stringify(order.invalid));
      orderId = order.records[0]!.recordId;
    });
    after(async () => {
      await obmen.close();
      await database.drop();
    });

    test('query answers the orders XML in windows-1251 with 1C ids; without success the next query repeats it', async () => {
      const first = await runSaleExchange({ client: obmen.client(), confirm: false });
      assert.equal(first.orders, 1);
      assert.match(first.ordersXml.subarray(0, 60).toString('latin1'), /encoding="windows-1251"/);
      assert.match(first.ordersText, /ВерсияСхемы="2\.05"/);
      assert.match(first.ordersText, /<Номер>142<\/Номер>/);
      assert.match(first.ordersText, /<Ид>erp-p1<\/Ид>/, 'the product is written with its 1C Ид');
      assert.match(first.ordersText, /Петров Пётр/);
      assert.ok(
        first.ordersText.includes(`<Ид>${orderId}</Ид>`),
        'the document Ид is the hub id until 1C has one',
      );

      const row = await obmen.store.db
        .selectFrom('outbox')
        .selectAll()
        .where('route', '=', 'orders-to-erp')
        .executeTakeFirstOrThrow();
      assert.equal(row.state, 'in_flight');
      assert.match(row.lease_owner ?? '', /^commerceml:[0-9a-f]{16}$/);

      const again = await runSaleExchange({ client: obmen.client(), confirm: false });
      assert.equal(again.orders, 1, 'an export 1C never confirmed is sent again');
      assert.ok(again.ordersText.includes(`<Ид>${orderId}</Ид>`));
    });

    test('success delivers the rows and links the order; the next query is empty', async () => {
      const confirmed = await runSaleExchange({ client: obmen.client(), confirm: true });
      assert.equal(confirmed.orders, 1);
      const row = await obmen.store.db
        .selectFrom('outbox')
        .selectAll()
        .where('route', '=', 'orders-to-erp')
        .executeTakeFirstOrThrow();
      assert.equal(row.state, 'delivered');
      assert.equal(row.lease_owner, null);
      const links = await obmen.store.db
        .selectFrom('links')
        .selectAll()
        .where('system', '=', 'erp')
        .execute();
      assert.ok(
        links.some((l) => l.entity === 'order' && l.record_id === orderId && l.external_id === orderId),
      );
      assert.ok(links.some((l) => l.entity === 'counterparty' && l.record_id === customerId));

      const next = await runSaleExchange({ client: obmen.client(), confirm: true });
      assert.equal(next.orders, 0);
      assert.match(next.ordersText, /КоммерческаяИнформация/);
    });

    test("1C's documents (payment, shipment) come back as the order's order_status; the site's order keeps its content", async () => {
      const path = join(obmen.dir, 'documents.xml');
      const xml = `<?xml version="1.0" encoding="windows-1251"?>
<КоммерческаяИнформация ВерсияСхемы="2.08" ДатаФормирования="2024-03-02T09:00:00">
  <Документ>
    <Ид>${orderId}</Ид>
    <Номер>142</Номер>
    <Дата>2024-03-01</Дата>
    <Время>10:15:00</Время>
    <ХозОперация>Заказ товара</ХозОперация>
    <Роль>Продавец</Роль>
    <Валюта>RUB</Валюта>
    <Сумма>3000</Сумма>
    <Контрагенты>
      <Контрагент>
        <Ид>${customerId}</Ид>
        <Наименование>Петров Пётр</Наименование>
        <Роль>Покупатель</Роль>
      </Контрагент>
    </Контрагенты>
    <Товары>
      <Товар>
        <Ид>erp-p1</Ид>
        <Наименование>Стол письменный</Наименование>
        <ЦенаЗаЕдиницу>1500</ЦенаЗаЕдиницу>
        <Количество>2</Количество>
        <Сумма>3000</Сумма>
      </Товар>
    </Товары>
    <ЗначенияРеквизитов>
      <ЗначениеРеквизита><Наименование>Проведен</Наименование><Значение>true</Значение></ЗначениеРеквизита>
      <ЗначениеРеквизита><Наименование>Номер оплаты по 1С</Наименование><Значение>ПП-77</Значение></ЗначениеРеквизита>
      <ЗначениеРеквизита><Наименование>Дата оплаты по 1С</Наименование><Значение>2024-03-02T08:00:00</Значение></ЗначениеРеквизита>
      <ЗначениеРеквизита><Наименование>Номер отгрузки по 1С</Наименование><Значение>РН-12</Значение></ЗначениеРеквизита>
      <ЗначениеРеквизита><Наименование>Дата отгрузки по 1С</Наименование><Значение>2024-03-02T08:30:00</Значение></ЗначениеРеквизита>
    </ЗначенияРеквизитов>
  </Документ>
</КоммерческаяИнформация>
`;
      writeFileSync(path, iconv.encode(xml, 'windows-1251'));
      const result = await runSaleExchange({
        client: obmen.client(),
        documents: [{ name: 'documents.xml', path }],
      });
      assert.match(result.messages['documents.xml'] ?? '', /Импорт documents\.xml завершён/);
      const record = await obmen.store.db
        .selectFrom('records')
        .selectAll()
        .where('entity', '=', 'order')
        .where('id', '=', orderId)
        .executeTakeFirstOrThrow();
      // The order came from the site: what 1C did with it is its state, not a new version of it
      // (docs/orders.md), so nothing is sent back to 1C and the site's order reads the same.
      assert.equal(record.version, 1, 'the order record keeps the site’s content');
      assert.equal(record.origin, 'site');
      const states = await obmen.store.db
        .selectFrom('records')
        .selectAll()
        .where('entity', '=', 'order_status')
        .execute();
      assert.equal(states.length, 1);
      const state = JSON.parse(states[0]!.data) as Record<string, unknown>;
      assert.deepEqual(state, {
        orderId,
        status: 'completed',
        paid: true,
        paymentDate: '2024-03-02T08:00:00',
        paymentNumber: 'ПП-77',
        shipped: true,
        shipmentDate: '2024-03-02T08:30:00',
        shipmentNumber: 'РН-12',
        cancelled: false,
      });
      const stateLink = await obmen.store.db
        .selectFrom('links')
        .select('external_id')
        .where('entity', '=', 'order_status')
        .where('record_id', '=', states[0]!.id)
        .executeTakeFirstOrThrow();
      assert.equal(
        stateLink.external_id,
        orderId,
        'keyed by the order’s Ид in 1C, as the OData path keys it',
      );
      assert.equal(await obmen.recordCount('order'), 1, 'no duplicate order');
      assert.equal(await obmen.recordCount('counterparty'), 1, 'no duplicate counterparty');
      // Content that came from 1C is not queued back to 1C.
      const row = await obmen.store.db
        .selectFrom('outbox')
        .select('state')
        .where('route', '=', 'orders-to-erp')
        .executeTakeFirstOrThrow();
      assert.equal(row.state, 'delivered');
    });

    test('old protocol (no version at init): the document is imported within the file call', async () => {
      const client = obmen.client();
      await client.checkauth('sale');
      await client.init('sale');
      const xml = `<?xml version="1.0" encoding="UTF-8"?>
<КоммерческаяИнформация ВерсияСхемы="2.03">
  <Документ>
    <Ид>erp-order-9</Ид><Номер>ЗК-9</Номер><Дата>2024-04-01</Дата><ХозОперация>Заказ товара</ХозОперация>
    <Валюта>RUB</Валюта><Сумма>1500</Сумма>
    <Контрагенты><Контрагент><Ид>erp-c-5</Ид><Наименование>ООО Ромашка</Наименование><Роль>Покупатель</Роль></Контрагент></Контрагенты>
    <Товары><Товар><Ид>erp-p1</Ид><Наименование>Стол</Наименование><ЦенаЗаЕдиницу>1500</ЦенаЗаЕдиницу><Количество>1</Количество><Сумма>1500</Сумма></Товар></Товары>
  </Документ>
</КоммерческаяИнформация>
`;
      await client.sendChunk('sale', 'orders.xml', Buffer.from(xml));
      const link = await obmen.store.db
        .selectFrom('links')
        .select('record_id')
        .where('entity', '=', 'order')
        .where('system', '=', 'erp')
        .where('external_id', '=', 'erp-order-9')
        .executeTakeFirst();
      assert.ok(link, 'the order from 1C is in obmen once the file call answered');
      assert.equal(await obmen.recordCount('order'), 2);
    });

    test('info answers the Bitrix reference book of statuses', async () => {
      const client = obmen.client();
      await client.checkauth('sale');
      const text = decodeXml(await client.info());
      assert.match(text, /<Справочник>/);
      assert.match(text, /<Cтатусы><Элемент><Ид>N<\/Ид><Название>Принят, ожидается оплата<\/Название>/);
    });
  });
}
