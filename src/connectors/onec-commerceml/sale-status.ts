import type { SourceItem } from '../../core/connector.ts';
import { ORDER_STATUSES } from '../../core/entities/index.ts';
import type { Runtime } from '../../engine/runtime.ts';
import type { CmlEvent } from '../../formats/commerceml/index.ts';
import { parseBool, toIsoDate } from '../../formats/commerceml/values.ts';
import { siteStatusId, statusFromSite } from '../bitrix-site/statuses.ts';
import type { EventReading } from './import.ts';
import type { OnecCommercemlSettings } from './spec.ts';

/**
 * 1C's order documents (`type=sale&mode=file`, the documents «Обмен с сайтом» sends for the
 * orders it took) → `order_status`, the state of the order in the system that fulfils it, the
 * way the OData connector reads it from РегистрСведений.СостоянияЗаказовКлиентов: keyed by the
 * order's id in this 1C system (the document's Ид, which is the Ид 1C took the order with), its
 * `orderId` that same Ид, so the state follows the order into Bitrix24 deals and shops
 * (docs/orders.md) whichever way 1C is connected.
 *
 * An order the hub holds from another system (a Bitrix24 deal, a shop's order, which 1C took
 * with mode=query) is read only as its order_status: its order record keeps the content of the
 * system it came from (docs/orders.md), so the stages and statuses obmen writes back read as
 * the same order and nothing is sent to 1C again. The same goes for the buyer in the document
 * when the hub holds it from another system (1C's copy of a CRM company would replace the CRM's
 * requisites). Orders and buyers that started in 1C are read as they are.
 *
 * What the document says (ЗначенияРеквизитов; a 3.1 Контейнер's payment and shipment documents
 * are already folded into the order by the parser):
 *  - Отменен → cancelled;
 *  - «Статуса заказа ИД» / «Статус заказа»: the site status 1C maps its order states to (the ids
 *    obmen lists at mode=info, `options.statuses`) → the hub's status through `options.statusMap`
 *    over seed 004's table (N → new, P → paid, F → completed), as a 1C-Bitrix site reads it;
 *  - Проведен, «Номер/Дата оплаты по 1С», «Номер/Дата отгрузки по 1С», Отгружен: an order 1C
 *    posted is confirmed, then paid, shipped, or completed (shipped and paid). These move the
 *    status on when 1C's status mapping lags behind the documents, never back.
 */

/** The lifecycle's order, for "never back": a later stage wins over an earlier one. */
const STAGE = new Map<string, number>(ORDER_STATUSES.map((status, at) => [status, at]));

type Raw = Record<string, unknown>;

const asList = (value: unknown): Raw[] =>
  Array.isArray(value) ? (value as Raw[]) : value && typeof value === 'object' ? [value as Raw] : [];
const textOf = (value: unknown): string | undefined =>
  typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;

/** The order's own Документ: the document itself (2.x), or the «Заказ товара» of a Контейнер (3.1). */
function orderDocument(raw: Raw): Raw {
  if (!('Документ' in raw)) return raw;
  const docs = asList(raw['Документ']);
  return docs.find((doc) => /заказ/i.test(textOf(doc['ХозОперация']) ?? 'Заказ товара')) ?? docs[0] ?? {};
}

function requisitesOf(doc: Raw): Map<string, string> {
  const out = new Map<string, string>();
  for (const req of asList((doc['ЗначенияРеквизитов'] as Raw | undefined)?.['ЗначениеРеквизита'])) {
    const name = textOf(req['Наименование']);
    if (name !== undefined && !out.has(name)) out.set(name, textOf(req['Значение']) ?? '');
  }
  return out;
}

/** The hub's status 1C's «Статуса заказа ИД» / «Статус заказа» names, if it names one. */
function toldStatus(reqs: Map<string, string>, settings: OnecCommercemlSettings): string | undefined {
  const told = reqs.get('Статуса заказа ИД') || reqs.get('Статус заказа');
  if (!told) return undefined;
  const id = siteStatusId(told);
  // A status sent by its name («Выполнен»): the id mode=info listed it under.
  const named = settings.statuses.find((s) => s.name.toLowerCase() === id.toLowerCase())?.id;
  return statusFromSite({ statusMap: {}, siteStatusMap: settings.statusMap }, named ?? id);
}

/** The order_status of one order document from 1C; undefined for a deleted document. */
export function orderStatusOf(order: SourceItem, settings: OnecCommercemlSettings): SourceItem | undefined {
  if (order.deleted) return undefined;
  const data = order.data as Record<string, unknown>;
  const doc = orderDocument((order.raw as Raw | undefined) ?? {});
  const reqs = requisitesOf(doc);
  const paid = data['paid'] === true;
  const shipped = data['shipped'] === true;
  const cancelled = data['cancelled'] === true;
  const byDocuments = shipped
    ? paid
      ? 'completed'
      : 'shipped'
    : paid
      ? 'paid'
      : parseBool(reqs.get('Проведен')) === true
        ? 'confirmed'
        : 'new';
  const told = toldStatus(reqs, settings);
  let status: string;
  if (cancelled) status = 'cancelled';
  else if (told === undefined) status = byDocuments;
  // The documents are ahead of the status 1C mapped (paid or shipped since): they win.
  else if (STAGE.has(told) && STAGE.get(byDocuments)! > STAGE.get(told)!) status = byDocuments;
  else status = told;
  const out: Record<string, unknown> = { orderId: order.externalId, status, paid, shipped, cancelled };
  for (const field of ['paymentDate', 'paymentNumber', 'shipmentDate', 'shipmentNumber'] as const)
    if (data[field] !== undefined) out[field] = data[field];
  const number = textOf(doc['Номер1С']);
  if (number !== undefined) out['number'] = number;
  const changedAt = toIsoDate(reqs.get('Дата изменения статуса'));
  if (changedAt !== undefined) out['changedAt'] = changedAt;
  return { externalId: order.externalId, data: out };
}

/**
 * The sale import's reading (import.ts `reading`): each order document also gives its
 * order_status; the order itself goes on only when it is 1C's own (see the top).
 */
export function saleDocuments(
  runtime: Runtime,
  system: string,
  settings: OnecCommercemlSettings,
): EventReading {
  /** The hub holds this object, and another system is where it came from. */
  const startedElsewhere = async (entity: string, externalId: string) => {
    const row = await runtime.store.db
      .selectFrom('links')
      .innerJoin('records', (join) =>
        join.onRef('records.entity', '=', 'links.entity').onRef('records.id', '=', 'links.record_id'),
      )
      .select('records.origin')
      .where('links.entity', '=', entity)
      .where('links.system', '=', system)
      .where('links.external_id', '=', externalId)
      .executeTakeFirst();
    return row !== undefined && row.origin !== system;
  };
  // orderStatusOf reads the document's requisites from the order's raw element.
  return { rawFor: ['order'], read };
  async function* read(events: AsyncIterable<CmlEvent>): AsyncIterable<CmlEvent> {
    for await (const event of events) {
      if (event.kind !== 'item' || (event.entity !== 'order' && event.entity !== 'counterparty')) {
        yield event;
        continue;
      }
      if (!(await startedElsewhere(event.entity, event.item.externalId))) yield event;
      const state = event.entity === 'order' ? orderStatusOf(event.item, settings) : undefined;
      if (state) yield { kind: 'item', entity: 'order_status', item: state, line: event.line };
    }
  }
}
