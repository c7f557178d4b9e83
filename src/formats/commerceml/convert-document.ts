import { isDeleted } from './convert-classifier.ts';
import type { ItemSink } from './sink.ts';
import { child, children, rawText, requisites, text, withRaw, type XNode } from './tree.ts';
import { joinDateTime, parseBool, parseNumeric, parseVatRate, toIsoDate } from './values.ts';

/**
 * Документ (orders, both directions) → order, and its Контрагенты → counterparty items.
 * 3.1 wraps all documents of one order in a Контейнер: the order itself ("Заказ товара") and
 * its payments and shipments, which are folded into the order's payment/shipment fields.
 */

const ORDER_OPERATIONS = /заказ/i;
const PAYMENT_OPERATIONS = /выплата|оплат|платеж/i;
const SHIPMENT_OPERATIONS = /отпуск|отгруз|реализац/i;

/** Контрагент → counterparty; returns its Ид. Bitrix ids look like `38#login#Name`. */
function convertCounterparty(node: XNode, sink: ItemSink): string | undefined {
  const id = text(node, 'Ид');
  if (id === undefined) return undefined;
  const lastName = text(node, 'Фамилия');
  const firstName = text(node, 'Имя');
  const person = [lastName, firstName].filter((part) => part !== undefined).join(' ');
  const login = id
    .split('#')
    .filter((part) => part.trim() !== '')[1]
    ?.trim();
  // Bitrix sends empty Наименование for users without a name: the login is the best label left.
  const name =
    text(node, 'Наименование') ??
    text(node, 'ПолноеНаименование') ??
    text(node, 'ОфициальноеНаименование') ??
    (person !== '' ? person : undefined) ??
    login ??
    id;
  const data: Record<string, unknown> = { name };
  const fullName = text(node, 'ПолноеНаименование') ?? text(node, 'ОфициальноеНаименование');
  // Sites repeat the name as ПолноеНаименование; only a different full name says something.
  if (fullName !== undefined && fullName !== name) data.fullName = fullName;
  const inn = text(node, 'ИНН');
  const kpp = text(node, 'КПП');
  // Sites let buyers type anything into these fields ("12"); an invalid code is left in raw
  // rather than making the whole buyer, and with it the order, unloadable.
  if (inn !== undefined && /^(?:\d{10}|\d{12})$/.test(inn)) data.inn = inn;
  if (kpp !== undefined && /^\d{4}[0-9A-Z]{2}\d{3}$/.test(kpp)) data.kpp = kpp;
  if (kpp !== undefined || inn?.length === 10 || child(node, 'ОфициальноеНаименование'))
    data.kind = 'company';
  else if (lastName !== undefined || firstName !== undefined || inn?.length === 12) data.kind = 'person';
  const addresses: Array<Record<string, string>> = [];
  const legal = text(node, 'АдресРегистрации/Представление') ?? text(node, 'ЮридическийАдрес/Представление');
  if (legal !== undefined) addresses.push({ type: 'legal', value: legal });
  const actual = text(node, 'Адрес/Представление');
  if (actual !== undefined) addresses.push({ type: 'actual', value: actual });
  if (addresses.length > 0) data.addresses = addresses;
  const phones: Array<Record<string, string>> = [];
  const emails: Array<Record<string, string>> = [];
  for (const contact of children(child(node, 'Контакты'), 'Контакт')) {
    const kind = text(contact, 'Тип') ?? text(contact, 'КонтактВид') ?? '';
    const value = text(contact, 'Значение');
    if (value === undefined) continue;
    if (/почт|mail/i.test(kind) || value.includes('@')) emails.push({ value, type: kind });
    else if (/телефон|phone/i.test(kind)) phones.push({ value, type: kind });
  }
  if (phones.length > 0) data.phones = phones;
  if (emails.length > 0) data.emails = emails;
  if (isDeleted(node)) data.deleted = true;
  sink.item(
    'counterparty',
    withRaw({ externalId: id, data, deleted: data.deleted === true }, node),
    node.line,
  );
  return id;
}

function lineVatRate(line: XNode): number | null | undefined {
  const rate = text(line, 'СтавкиНалогов/СтавкаНалога/Ставка') ?? text(line, 'Налоги/Налог/Ставка');
  return parseVatRate(rate);
}

/** Товары/Товар → order lines; undefined with an error when a number is not a number. */
function orderLines(doc: XNode, orderId: string, sink: ItemSink): Array<Record<string, unknown>> | undefined {
  const lines: Array<Record<string, unknown>> = [];
  let index = 0;
  for (const line of children(child(doc, 'Товары'), 'Товар')) {
    index += 1;
    const productId = text(line, 'Ид');
    if (productId === undefined) {
      sink.error(
        'order',
        orderId,
        `Документ ${orderId}: у строки ${index} (<Товар>) нет <Ид>; заказ пропущен`,
        line.line,
      );
      return undefined;
    }
    const numbers: Record<string, number> = {};
    for (const [field, element] of [
      ['quantity', 'Количество'],
      ['price', 'ЦенаЗаЕдиницу'],
      ['amount', 'Сумма'],
    ] as const) {
      const shown = text(line, element) ?? (element === 'ЦенаЗаЕдиницу' ? text(line, 'Цена') : undefined);
      const value = shown === undefined ? undefined : parseNumeric(shown);
      if (value === undefined) {
        const why =
          shown === undefined ? `нет <${element}>` : `<${element}> «${shown.slice(0, 40)}» — не число`;
        sink.error(
          'order',
          orderId,
          `Документ ${orderId}, строка ${index} (товар ${productId}): ${why}; заказ пропущен`,
          line.line,
        );
        return undefined;
      }
      numbers[field] = value;
    }
    const out: Record<string, unknown> = { lineNo: index, productId, ...numbers };
    const name = text(line, 'Наименование');
    if (name !== undefined) out.name = name;
    const vat = lineVatRate(line);
    if (vat !== undefined) out.vatRate = vat;
    const vatAmount = parseNumeric(text(line, 'Налоги/Налог/Сумма') ?? '');
    if (vatAmount !== undefined) out.vatAmount = vatAmount;
    const discount = parseNumeric(text(line, 'Скидки/Скидка/Сумма') ?? '');
    if (discount !== undefined && discount !== 0) out.discount = discount;
    lines.push(out);
  }
  return lines;
}

/** Order fields read from ЗначенияРеквизитов, as Bitrix (site → 1C) and 1C (1C → site) name them. */
function applyRequisites(data: Record<string, unknown>, reqs: Record<string, string>): void {
  const status = reqs['Статус заказа'] ?? reqs['Статуса заказа ИД'];
  if (status) data.status = status;
  if (parseBool(reqs['Заказ оплачен']) === true) data.paid = true;
  const paymentDate = toIsoDate(reqs['Дата оплаты по 1С'] ?? reqs['Дата оплаты']);
  if (paymentDate !== undefined) data.paymentDate = paymentDate;
  const paymentNumber = reqs['Номер оплаты по 1С'] ?? reqs['Номер платежного документа'];
  if (paymentNumber) data.paymentNumber = paymentNumber;
  // 1C reports a payment by its number and date, without "Заказ оплачен".
  if (reqs['Номер оплаты по 1С'] && paymentDate !== undefined) data.paid = true;
  const shipmentDate = toIsoDate(reqs['Дата отгрузки по 1С']);
  if (shipmentDate !== undefined) data.shipmentDate = shipmentDate;
  const shipmentNumber = reqs['Номер отгрузки по 1С'];
  if (shipmentNumber) data.shipmentNumber = shipmentNumber;
  if (parseBool(reqs['Отгружен']) === true || (shipmentNumber && shipmentDate !== undefined))
    data.shipped = true;
  if (parseBool(reqs['Отменен']) === true) data.cancelled = true;
  if (reqs['Сайт']) data.source = reqs['Сайт'];
}

/** One order document → order (+ its counterparties); returns the order data for Контейнер folding. */
function convertOrder(doc: XNode, sink: ItemSink): { id: string; data: Record<string, unknown> } | undefined {
  const id = text(doc, 'Ид') ?? text(doc, 'Номер');
  if (id === undefined) {
    sink.error('order', undefined, 'Документ без <Ид> и <Номер> пропущен', doc.line);
    return undefined;
  }
  const counterparties: Array<{ id: string; role: string | undefined }> = [];
  for (const node of children(child(doc, 'Контрагенты'), 'Контрагент')) {
    const partyId = convertCounterparty(node, sink);
    if (partyId !== undefined) counterparties.push({ id: partyId, role: text(node, 'Роль') });
  }
  const customer = counterparties.find((party) => /покупатель/i.test(party.role ?? '')) ?? counterparties[0];
  if (customer === undefined) {
    sink.error(
      'order',
      id,
      `Документ ${id}: нет <Контрагенты>/<Контрагент> с <Ид> (покупателя); заказ пропущен`,
      doc.line,
    );
    return undefined;
  }
  const date = joinDateTime(text(doc, 'Дата'), text(doc, 'Время'));
  if (date === undefined) {
    sink.error(
      'order',
      id,
      `Документ ${id}: <Дата> «${text(doc, 'Дата') ?? ''}» не читается как дата; заказ пропущен`,
      doc.line,
    );
    return undefined;
  }
  const lines = orderLines(doc, id, sink);
  if (lines === undefined) return undefined;
  const data: Record<string, unknown> = {
    number: text(doc, 'Номер') ?? id,
    date,
    customerId: customer.id,
    lines,
  };
  const currency = text(doc, 'Валюта');
  if (currency !== undefined) data.currency = currency;
  const amount = parseNumeric(text(doc, 'Сумма') ?? '');
  if (amount !== undefined) data.totals = { amount };
  const comment = rawText(doc, 'Комментарий')?.trim();
  if (comment) data.comment = comment;
  applyRequisites(data, requisites(doc));
  if (isDeleted(doc)) data.deleted = true;
  return { id, data };
}

function emitOrder(order: { id: string; data: Record<string, unknown> }, node: XNode, sink: ItemSink): void {
  sink.item(
    'order',
    withRaw({ externalId: order.id, data: order.data, deleted: order.data.deleted === true }, node),
    node.line,
  );
}

/** A Документ directly under the root (2.x). */
export function convertDocument(doc: XNode, sink: ItemSink): void {
  const operation = text(doc, 'ХозОперация') ?? 'Заказ товара';
  if (!ORDER_OPERATIONS.test(operation)) {
    sink.error(
      'order',
      text(doc, 'Ид'),
      `Документ ${text(doc, 'Ид') ?? ''} с <ХозОперация> «${operation}» вне <Контейнер> не является заказом и пропущен`,
      doc.line,
    );
    return;
  }
  const order = convertOrder(doc, sink);
  if (order !== undefined) emitOrder(order, doc, sink);
}

/** A 3.1 Контейнер: the order plus its payment and shipment documents. */
export function convertContainer(container: XNode, sink: ItemSink): void {
  const docs = children(container, 'Документ');
  const orderDoc = docs.find((doc) => ORDER_OPERATIONS.test(text(doc, 'ХозОперация') ?? 'Заказ товара'));
  if (orderDoc === undefined) {
    sink.error('order', undefined, '<Контейнер> без документа «Заказ товара» пропущен', container.line);
    return;
  }
  const order = convertOrder(orderDoc, sink);
  if (order === undefined) return;
  for (const doc of docs) {
    if (doc === orderDoc || isDeleted(doc)) continue;
    const operation = text(doc, 'ХозОперация') ?? '';
    const posted = parseBool(requisites(doc)['Проведен']) !== false;
    const date = joinDateTime(text(doc, 'Дата'), text(doc, 'Время'));
    const number = text(doc, 'Номер1С') ?? text(doc, 'Номер');
    if (PAYMENT_OPERATIONS.test(operation) && posted) {
      order.data.paid = true;
      if (date !== undefined) order.data.paymentDate = date;
      if (number !== undefined) order.data.paymentNumber = number;
    } else if (SHIPMENT_OPERATIONS.test(operation) && posted) {
      order.data.shipped = true;
      if (date !== undefined) order.data.shipmentDate = date;
      if (number !== undefined) order.data.shipmentNumber = number;
    }
  }
  emitOrder(order, container, sink);
}
