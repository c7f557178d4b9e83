import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { pino } from 'pino';
import { type Bitrix24Emulator, startBitrix24Emulator } from '../emulators/bitrix24/index.ts';
import { bitrixSiteOptionsSchema } from '../src/connectors/bitrix-site/spec.ts';
import { siteStatusId, statusForSite, statusFromSite } from '../src/connectors/bitrix-site/statuses.ts';
import { bitrix24Connector } from '../src/connectors/bitrix24/index.ts';
import type { ResourceContext } from '../src/connectors/bitrix24/resources/common.ts';
import {
  isOrderDeal,
  isOrderStage,
  stageOf,
  statusOfStage,
} from '../src/connectors/bitrix24/resources/deal.ts';
import { bitrix24OptionsSchema } from '../src/connectors/bitrix24/spec.ts';
import { orderResource } from '../src/connectors/onec-odata/resources/order.ts';
import { orderStatusResource, statusOfState } from '../src/connectors/onec-odata/resources/order-status.ts';
import type { DeliveryItem } from '../src/core/connector.ts';
import { createHttpClient } from '../src/http/client.ts';

/** The order status tables of each system, both ways (seed 004 is the default map). */

const b24 = (options: Record<string, unknown> = {}) =>
  ({ options: bitrix24OptionsSchema.parse(options) }) as unknown as ResourceContext;
const site = (options: Record<string, unknown> = {}) => bitrixSiteOptionsSchema.parse(options);

describe('1C УТ 11: СостоянияЗаказовКлиентов → order status', () => {
  const cases: Array<[string, number, number, string]> = [
    ['ОжидаетсяСогласование', 0, 0, 'new'],
    ['ГотовКОтгрузке', 0, 0, 'confirmed'],
    ['ОжидаетсяОбеспечение', 0, 0, 'confirmed'],
    ['ОжидаетсяПредоплатаДоОтгрузки', 30, 0, 'confirmed'],
    ['ГотовКОтгрузке', 100, 0, 'paid'],
    ['ВПроцессеОтгрузки', 100, 40, 'confirmed'],
    ['ОжидаетсяОплатаПослеОтгрузки', 0, 100, 'shipped'],
    ['ГотовКЗакрытию', 100, 100, 'completed'],
    ['Закрыт', 100, 100, 'completed'],
    ['Закрыт', 0, 0, 'cancelled'],
    ['СостояниеИзРасширения', 0, 0, 'СостояниеИзРасширения'],
  ];
  for (const [state, paid, shipped, status] of cases) {
    it(`${state}, paid ${paid}%, shipped ${shipped}% → ${status}`, () => {
      assert.equal(statusOfState(state, paid, shipped), status);
    });
  }

  it('a register row becomes an order_status of the order it names', () => {
    const ref = '0f1e2d3c-0000-11e6-aede-5404a6b4b8ed';
    const raw = {
      Заказ: ref.toUpperCase(),
      Заказ_Type: 'StandardODATA.Document_ЗаказКлиента',
      Состояние: 'ОжидаетсяОплатаПослеОтгрузки',
      ДатаСобытия: '2026-05-02T11:00:00',
      ПроцентОплаты: 0,
      ПроцентОтгрузки: 100,
      ПроцентДолга: 100,
    };
    assert.equal(orderStatusResource.externalId(raw), ref);
    assert.deepEqual(orderStatusResource.toCanonical(raw), {
      data: {
        orderId: ref,
        status: 'shipped',
        paid: false,
        shipped: true,
        cancelled: false,
        changedAt: '2026-05-02T11:00:00',
      },
      deleted: false,
    });
    assert.equal(orderStatusResource.externalId({ ...raw, Заказ: 'not a guid' }), undefined);
  });

  it('an order read from 1C: Статус in the hub’s words, cancelled lines make it cancelled', () => {
    const read = (raw: Record<string, unknown>) => orderResource.toCanonical({ Number: 'УТ-1', ...raw }).data;
    assert.equal(read({ Статус: 'НеСогласован' })['status'], 'new');
    assert.equal(read({ Статус: 'КОтгрузке' })['status'], 'confirmed', '11.1–11.3 name');
    assert.equal(read({ Статус: 'Закрыт', Товары: [{ Отменено: false }] })['status'], 'completed');
    const cancelled = read({ Статус: 'Закрыт', Товары: [{ Отменено: true }, { Отменено: true }] });
    assert.equal(cancelled['status'], 'cancelled');
    assert.equal(cancelled['cancelled'], true);
  });

  it('a new order gets Статус from its status, once: won deals arrive agreed, shop orders wait', () => {
    assert.deepEqual(orderResource.onCreate?.({ status: 'confirmed' }), { Статус: 'КВыполнению' });
    assert.deepEqual(orderResource.onCreate?.({ status: 'new' }), { Статус: 'НеСогласован' });
    assert.deepEqual(orderResource.onCreate?.({ status: '[N] Принят' }), {}, 'unknown: 1C decides');
    assert.deepEqual(orderResource.onCreate?.({}), {});
  });
});

describe('Bitrix24: order status ↔ deal stage', () => {
  it('writes seed 004’s table on the default pipeline; stageMap overrides it; a category prefixes the stage', () => {
    const stage = (data: Record<string, unknown>, options = {}, category?: number) =>
      stageOf(b24(options), data, category);
    assert.equal(stage({ status: 'new' }), 'EXECUTING', 'Новый → «В обработке»');
    assert.equal(stage({ status: 'confirmed' }), 'FINAL_INVOICE', 'Подтвержден → «Готов к отгрузке»');
    assert.equal(stage({ status: 'shipped' }), 'WON', 'Отгружен → «Выполнен»');
    assert.equal(stage({ status: 'cancelled' }), 'LOSE', 'Отменен → «Отменен»');
    assert.equal(stage({ status: 'paid', cancelled: true }), 'LOSE', 'the cancelled flag wins');
    assert.equal(
      stage({ status: 'paid' }, { stageMap: { paid: 'PREPAYMENT_INVOICE' } }),
      'PREPAYMENT_INVOICE',
    );
    assert.equal(stage({ status: 'shipped' }, {}, 3), 'C3:WON', "the deal's own category");
    assert.equal(stage({ status: 'shipped' }, { dealCategoryId: 2 }), 'C2:WON');
    assert.equal(stage({ status: 'shipped' }, { stageMap: { shipped: 'C5:UC_SHIP' } }, 3), 'C5:UC_SHIP');
  });

  it('reads a stage back: the default table, then stageMap backwards, then stageStatusMap', () => {
    assert.equal(statusOfStage(b24(), 'WON'), 'confirmed', 'a won deal is a confirmed order');
    assert.equal(statusOfStage(b24(), 'C4:WON'), 'confirmed');
    assert.equal(statusOfStage(b24(), 'LOSE'), 'cancelled');
    assert.equal(statusOfStage(b24(), 'NEW'), 'new');
    assert.equal(statusOfStage(b24(), 'UC_CUSTOM'), 'uc_custom', 'an unknown stage passes in lower case');
    assert.equal(statusOfStage(b24({ stageMap: { paid: 'C1:UC_PAID' } }), 'C1:UC_PAID'), 'paid');
    assert.equal(statusOfStage(b24({ stageStatusMap: { WON: 'completed' } }), 'WON'), 'completed');
  });

  it('orderStages: won deals by default, in any pipeline; a list, or all', () => {
    assert.equal(isOrderStage(b24(), 'WON'), true);
    assert.equal(isOrderStage(b24(), 'C7:WON'), true);
    assert.equal(isOrderStage(b24(), 'FINAL_INVOICE'), false);
    assert.equal(isOrderStage(b24({ orderStages: ['C1:FINAL_INVOICE'] }), 'FINAL_INVOICE'), false);
    assert.equal(isOrderStage(b24({ orderStages: ['C1:FINAL_INVOICE'] }), 'C1:FINAL_INVOICE'), true);
    assert.equal(isOrderStage(b24({ orderStages: 'all' }), 'NEW'), true);
    assert.equal(
      bitrix24OptionsSchema.safeParse({ orderStages: [] }).success,
      false,
      'an empty list is a mistake',
    );
    // A won deal obmen made shows another system's order: it is not read back as one.
    assert.equal(isOrderDeal(b24(), { STAGE_ID: 'WON', ORIGINATOR_ID: 'obmen', ORIGIN_ID: 'hub-1' }), false);
    assert.equal(isOrderDeal(b24(), { STAGE_ID: 'WON', ORIGINATOR_ID: 'other-app', ORIGIN_ID: '7' }), true);
    assert.equal(isOrderDeal(b24(), { STAGE_ID: 'WON' }), true);
  });
});

describe('1C-Bitrix site: order status ↔ STATUS_ID', () => {
  it('reads "[N] Принят, ожидается оплата" as new, P as paid, F as completed; unknown passes', () => {
    assert.equal(siteStatusId('[N] Принят, ожидается оплата'), 'N');
    assert.equal(statusFromSite(site(), '[N] Принят, ожидается оплата'), 'new');
    assert.equal(statusFromSite(site(), 'P'), 'paid');
    assert.equal(statusFromSite(site(), '[F] Выполнен'), 'completed');
    assert.equal(statusFromSite(site(), '[D] Доставляется'), '[D] Доставляется');
    assert.equal(statusFromSite(site({ siteStatusMap: { D: 'shipped' } }), '[D] Доставляется'), 'shipped');
  });

  it('writes seed 004’s table: shipped → F («Выполнен»); cancelled leaves the status to the CANCELED flag', () => {
    assert.equal(statusForSite(site(), 'new'), 'N');
    assert.equal(statusForSite(site(), 'confirmed'), 'N');
    assert.equal(statusForSite(site(), 'paid'), 'P');
    assert.equal(statusForSite(site(), 'shipped'), 'F');
    assert.equal(statusForSite(site(), 'cancelled'), undefined);
    assert.equal(statusForSite(site(), 'F'), 'F', "a site's own id passes");
    assert.equal(statusForSite(site({ statusMap: { confirmed: 'C' } }), 'confirmed'), 'C');
  });
});

describe('Bitrix24: an order status becomes the deal stage', () => {
  const emulators: Bitrix24Emulator[] = [];
  after(() => Promise.all(emulators.map((e) => e.close())));

  it('writes STAGE_ID only where it changes, in the deal’s own pipeline; a deal that is gone is a permanent failure', async () => {
    const e = await startBitrix24Emulator({ webhook: { userId: 1, code: 'stagescode' } });
    emulators.push(e);
    const connector = bitrix24Connector.create({
      systemName: 'b24',
      system: {
        kind: 'bitrix24',
        url: e.url,
        credentials: { webhookUserId: '1', webhookCode: 'stagescode' },
      },
      http: createHttpClient({ system: 'b24', maxRetries: 0, secrets: ['stagescode'] }),
      log: pino({ level: 'silent' }),
      signal: new AbortController().signal,
    });
    const deal = (fields: Record<string, unknown>) => {
      const id = e.state.nextId('deal');
      e.state.table('deal').set(id, { ID: String(id), TITLE: `Сделка ${id}`, CATEGORY_ID: '0', ...fields });
      return id;
    };
    const won = deal({ STAGE_ID: 'WON' });
    const ready = deal({ STAGE_ID: 'FINAL_INVOICE' });
    const other = deal({ STAGE_ID: 'C2:WON', CATEGORY_ID: '2' });
    const status = (i: number, orderId: string, data: Record<string, unknown>): DeliveryItem => ({
      recordId: `st-${i}`,
      entity: 'order_status',
      version: 1,
      hash: `h${i}`,
      data: { orderId, paid: false, shipped: false, cancelled: false, ...data },
      deleted: false,
      externalId: undefined,
    });
    const before = e.stats().writesByMethod['crm.deal.update'] ?? 0;
    const outcomes = await connector.write!(
      { name: 'status-to-b24', entity: 'order_status', target: 'b24', schedule: 'on-change', batchSize: 50 },
      [
        status(1, String(won), { status: 'confirmed' }),
        status(2, String(ready), { status: 'paid', paid: true }),
        status(3, String(other), { status: 'cancelled', cancelled: true }),
        status(4, '999', { status: 'shipped' }),
        status(5, 'f1e2d3c4-hub-id', { status: 'shipped' }),
      ],
    );
    assert.deepEqual(
      outcomes.map((o) => (o.ok ? o.externalId : o.error.errorClass)),
      [String(won), String(ready), String(other), 'permanent', 'permanent'],
    );
    assert.match(
      String(!outcomes[3]!.ok && outcomes[3]!.error.message),
      /deal 999 is not in Bitrix24 any more/,
    );
    assert.equal(e.state.table('deal').get(won)!['STAGE_ID'], 'FINAL_INVOICE');
    assert.equal(e.state.table('deal').get(ready)!['STAGE_ID'], 'FINAL_INVOICE', 'paid: the stage it has');
    assert.equal(e.state.table('deal').get(other)!['STAGE_ID'], 'C2:LOSE', "the deal's own pipeline");
    assert.equal(
      (e.stats().writesByMethod['crm.deal.update'] ?? 0) - before,
      2,
      'the unchanged deal is not written',
    );
  });
});
