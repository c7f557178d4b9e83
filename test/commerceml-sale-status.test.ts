import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { SystemConfig } from '../src/config/schema.ts';
import { orderStatusOf } from '../src/connectors/onec-commerceml/sale-status.ts';
import { resolveOnecCommercemlSystem } from '../src/connectors/onec-commerceml/spec.ts';
import type { SourceItem } from '../src/core/connector.ts';
import { orderStatusSchema } from '../src/core/entities/index.ts';
import { parseCommerceMl } from '../src/formats/commerceml/index.ts';

/**
 * 1C's order documents (type=sale, 1C → site) read as order_status: the real 3.1 documents of
 * a 1C-Bitrix module 6 exchange (shared/fixtures), and the status id a 1C node maps its states to.
 */

const FIXTURES = new URL('../../shared/fixtures/commerceml/', import.meta.url).pathname;
const DOCUMENTS = join(FIXTURES, 'irpsv+commerceml@41056aa__bitrix-module-6_documents_1_documents.xml');
const settings = (options: Record<string, unknown> = {}) =>
  resolveOnecCommercemlSystem('erp', {
    kind: 'onec-commerceml',
    credentials: { login: 'Обмен', password: 'x' },
    options,
  } as SystemConfig);

async function ordersIn(path: string): Promise<SourceItem[]> {
  const orders: SourceItem[] = [];
  for await (const event of parseCommerceMl(path))
    if (event.kind === 'item' && event.entity === 'order') orders.push(event.item);
  return orders;
}

const dir = mkdtempSync(join(tmpdir(), 'obmen-sale-status-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** One 2.09 document from 1C with these requisites. */
async function documentWith(requisites: Record<string, string>): Promise<SourceItem> {
  const path = join(dir, `doc-${Math.random().toString(36).slice(2)}.xml`);
  const reqs = Object.entries(requisites)
    .map(
      ([name, value]) =>
        `<ЗначениеРеквизита><Наименование>${name}</Наименование><Значение>${value}</Значение></ЗначениеРеквизита>`,
    )
    .join('');
  writeFileSync(
    path,
    `<?xml version="1.0" encoding="UTF-8"?>
<КоммерческаяИнформация ВерсияСхемы="2.09"><Документ><Ид>142</Ид><Номер>142</Номер><Номер1С>ЗК-000142</Номер1С>
<Дата>2024-03-01</Дата><ХозОперация>Заказ товара</ХозОперация>
<Контрагенты><Контрагент><Ид>7#ivan#Иван</Ид><Наименование>Иван</Наименование><Роль>Покупатель</Роль></Контрагент></Контрагенты>
<Товары><Товар><Ид>p1</Ид><Количество>1</Количество><Цена>10</Цена><Сумма>10</Сумма></Товар></Товары>
<ЗначенияРеквизитов>${reqs}</ЗначенияРеквизитов></Документ></КоммерческаяИнформация>`,
  );
  const [order] = await ordersIn(path);
  return order!;
}

describe('order_status from 1C’s order documents', () => {
  it(
    'reads the 3.1 documents of a real exchange: posted, shipped, paid and shipped, new',
    {
      skip: existsSync(DOCUMENTS)
        ? false
        : '../shared/fixtures/commerceml is absent (a fresh clone has no shared fixtures)',
    },
    async () => {
      const orders = await ordersIn(DOCUMENTS);
      assert.equal(orders.length, 20);
      const states = new Map(orders.map((order) => [order.externalId, orderStatusOf(order, settings())!]));
      const byStatus: Record<string, string[]> = {};
      for (const [id, state] of states) {
        const status = String(state.data['status']);
        byStatus[status] = [...(byStatus[status] ?? []), id];
      }
      assert.deepEqual(byStatus, {
        shipped: ['320', '482', '485', '487', '491', '322'],
        new: ['483', '484', '486', '488', '489', '325'],
        confirmed: ['321', '492', '493', '323', '324', '326', '327'],
        completed: ['490'],
      });
      assert.deepEqual(states.get('320'), {
        externalId: '320',
        data: {
          orderId: '320',
          status: 'shipped',
          paid: false,
          shipped: true,
          cancelled: false,
          shipmentDate: '2017-08-04T12:22:01',
          shipmentNumber: 'О0000000976',
          number: 'L320',
        },
      });
      const paidAndShipped = states.get('490')!.data;
      assert.equal(paidAndShipped['paymentNumber'], 'О0000001008');
      assert.equal(paidAndShipped['paymentDate'], '2017-08-16T21:30:00');
      for (const state of states.values()) assert.ok(orderStatusSchema.safeParse(state.data).success);
    },
  );

  it('takes the status 1C maps its states to, by id or name, through the tables; cancellation and later documents win', async () => {
    const cases: Array<[string, Record<string, string>, Record<string, unknown>, string]> = [
      ['a status id', { 'Статуса заказа ИД': 'P' }, {}, 'paid'],
      ['the site’s label', { 'Статус заказа': '[F] Выполнен' }, {}, 'completed'],
      ['a status name of mode=info', { 'Статус заказа': 'Выполнен' }, {}, 'completed'],
      ['the user’s table', { 'Статуса заказа ИД': 'N' }, { statusMap: { N: 'confirmed' } }, 'confirmed'],
      [
        'a status of the shop’s own',
        { 'Статуса заказа ИД': 'D' },
        { statuses: [{ id: 'D', name: 'Доставляется' }] },
        'D',
      ],
      ['cancelled', { 'Статуса заказа ИД': 'N', Отменен: 'true', Проведен: 'true' }, {}, 'cancelled'],
      [
        'shipped since the status was mapped',
        { 'Статуса заказа ИД': 'N', Проведен: 'true', Отгружен: 'true' },
        {},
        'shipped',
      ],
      ['a later status than the documents', { 'Статуса заказа ИД': 'F', Проведен: 'true' }, {}, 'completed'],
      ['posted, nothing else', { Проведен: 'true' }, {}, 'confirmed'],
    ];
    for (const [what, requisites, options, status] of cases) {
      const state = orderStatusOf(await documentWith(requisites), settings(options));
      assert.equal(state?.data['status'], status, what);
    }
  });

  it('a deleted document gives no state', async () => {
    const doc = await documentWith({ Проведен: 'true' });
    assert.equal(orderStatusOf({ ...doc, deleted: true }, settings()), undefined);
  });
});
