import { randomInt } from 'node:crypto';
import { ExchangeFailure, type ExchangeSession } from '../../src/exchange/commerceml/index.ts';
import {
  type CanonicalOrderForCml,
  parseCommerceMl,
  writeOrdersXml,
} from '../../src/formats/commerceml/index.ts';
import type { SiteOrder, SiteState } from './state.ts';

/**
 * The emulated `sale.export.1c`: orders changed since the last *confirmed* export (`query`
 * records the export time, only `success` from the same session commits it), orders 1C sends
 * back (`file` + `import`) update status, payment and shipment, and a storefront that places
 * orders from the catalog.
 */

/** Bitrix's default order statuses (b_sale_status). */
export const ORDER_STATUSES: Record<string, string> = {
  N: 'Принят, ожидается оплата',
  P: 'Оплачен, формируется к отправке',
  F: 'Выполнен',
};

const FIRST_NAMES = ['Иван', 'Мария', 'Пётр', 'Анна', 'Ольга', 'Сергей'];
const LAST_NAMES = ['Петров', 'Иванова', 'Сидоров', 'Кузнецова', 'Смирнова', 'Волков'];

export interface OrdersOptions {
  version: '2.05' | '3.1';
  encoding: 'windows-1251' | 'utf-8';
}

/** Places `count` storefront orders with 1–3 lines of active catalog products. */
export function generateOrders(state: SiteState, count: number, now = Date.now()): SiteOrder[] {
  const products = [...state.products.values()].filter((p) => p.active && p.parentXmlId === undefined);
  if (products.length === 0) {
    throw new Error('the catalog is empty: feed products to the site before generating orders');
  }
  const created: SiteOrder[] = [];
  for (let i = 0; i < count; i++) {
    const id = state.nextOrderId++;
    const userId = state.nextUserId++;
    const first = FIRST_NAMES[randomInt(FIRST_NAMES.length)]!;
    const last = LAST_NAMES[randomInt(LAST_NAMES.length)]!;
    const lines = new Map<string, { productXmlId: string; name: string; price: number; quantity: number }>();
    const lineCount = 1 + randomInt(Math.min(3, products.length));
    while (lines.size < lineCount) {
      const product = products[randomInt(products.length)]!;
      const prices = Object.values(state.offers.get(product.xmlId)?.prices ?? {});
      lines.set(product.xmlId, {
        productXmlId: product.xmlId,
        name: product.name,
        price: prices[0]?.value ?? 100,
        quantity: 1 + randomInt(3),
      });
    }
    const order: SiteOrder = {
      id,
      accountNumber: String(id),
      createdAt: now,
      updatedAt: now,
      user: {
        id: userId,
        login: `user${userId}`,
        name: first,
        lastName: last,
        email: `user${userId}@example.ru`,
        phone: `+7900${String(1000000 + userId).slice(-7)}`,
      },
      lines: [...lines.values()],
      statusId: 'N',
      payed: false,
      deducted: false,
      canceled: false,
      comment: '',
      updatesFrom1c: 0,
      updated1c: false,
    };
    state.orders.set(id, order);
    created.push(order);
  }
  return created;
}

function toCml(order: SiteOrder): CanonicalOrderForCml {
  const lines = order.lines.map((line, index) => ({
    lineNo: index + 1,
    productId: line.productXmlId,
    name: line.name,
    price: line.price,
    quantity: line.quantity,
    amount: Math.round(line.price * line.quantity * 100) / 100,
  }));
  const amount = lines.reduce((sum, l) => sum + l.amount, 0);
  const fullName = `${order.user.lastName} ${order.user.name}`;
  return {
    id: String(order.id),
    order: {
      number: order.accountNumber,
      date: new Date(order.createdAt).toISOString().slice(0, 19),
      customerId: `${order.user.id}#${order.user.login}#${fullName}`,
      currency: 'RUB',
      lines,
      totals: { amount },
      status: `[${order.statusId}] ${ORDER_STATUSES[order.statusId] ?? order.statusId}`,
      paid: order.payed,
      shipped: order.deducted,
      cancelled: order.canceled,
      comment: order.comment,
      source: '[s1] Интернет-магазин',
    },
    customer: {
      id: `${order.user.id}#${order.user.login}#${fullName}`,
      data: {
        name: fullName,
        kind: 'person',
        emails: [{ value: order.user.email, type: 'Электронная почта' }],
        phones: [{ value: order.user.phone, type: 'Телефон' }],
      } as CanonicalOrderForCml['customer']['data'],
      firstName: order.user.name,
      lastName: order.user.lastName,
    },
    requisites: { 'Метод оплаты': 'Наличный расчет', 'Статуса заказа ИД': order.statusId },
    statusChangedAt: new Date(order.updatedAt).toISOString().slice(0, 19),
    finalStatus: order.statusId === 'F',
  };
}

/** `mode=query`: orders changed since the committed export time and not last changed by 1C. */
export function queryOrders(
  state: SiteState,
  session: ExchangeSession,
  options: OrdersOptions,
  now = Date.now(),
): Buffer {
  const due = [...state.orders.values()].filter(
    (o) => !o.updated1c && o.updatedAt >= state.lastExportCommitted,
  );
  state.lastExport = { at: now, sessionKey: session.key };
  state.stats.ordersExported += due.length;
  return writeOrdersXml(due.map(toCml), { version: options.version, encoding: options.encoding });
}

/** `mode=success`: commits the export time, only for the session that made the query (else Bitrix says error). */
export function confirmOrders(state: SiteState, session: ExchangeSession): void {
  if (!state.lastExport || state.lastExport.sessionKey !== session.key) {
    throw new ExchangeFailure('Подтверждение не принято: в этом сеансе заказы не выгружались (mode=query)');
  }
  state.lastExportCommitted = state.lastExport.at;
  state.lastExport = undefined;
  state.stats.ordersConfirmed++;
}

/** Reads "[N] Принят…", "N" or a status name into a status id. */
function statusIdOf(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const bracket = /^\[([^\]]+)\]/.exec(value.trim());
  if (bracket) return bracket[1];
  if (ORDER_STATUSES[value.trim()] !== undefined) return value.trim();
  return Object.entries(ORDER_STATUSES).find(([, name]) => name === value.trim())?.[0];
}

/** `type=sale` import of 1C's order documents: status, payment, shipment, cancellation. */
export async function importSaleFile(
  state: SiteState,
  path: string,
  filename: string,
  signal: AbortSignal,
  now = Date.now(),
): Promise<string> {
  let updated = 0;
  const unknown: string[] = [];
  for await (const event of parseCommerceMl(path, { signal, fileLabel: filename })) {
    if (event.kind === 'itemError') {
      throw new ExchangeFailure(`Ошибка загрузки документа (строка ${event.line}): ${event.message}`);
    }
    if (event.kind !== 'item' || event.entity !== 'order') continue;
    const data = event.item.data as Record<string, unknown>;
    const order =
      state.orders.get(Number(event.item.externalId)) ??
      [...state.orders.values()].find((o) => o.accountNumber === data.number);
    if (!order) {
      unknown.push(event.item.externalId);
      continue;
    }
    const statusId = statusIdOf(data.status as string | undefined);
    if (statusId !== undefined) order.statusId = statusId;
    if (data.paid === true) order.payed = true;
    if (data.shipped === true) order.deducted = true;
    if (data.cancelled === true) order.canceled = true;
    if (typeof data.paymentNumber === 'string') order.paymentNumber = data.paymentNumber;
    if (typeof data.shipmentNumber === 'string') order.shipmentNumber = data.shipmentNumber;
    order.updatedAt = now;
    // UPDATED_1C=Y: a change made by 1C is not exported back to 1C.
    order.updated1c = true;
    order.updatesFrom1c++;
    updated++;
  }
  state.stats.imports++;
  const missing = unknown.length > 0 ? `; не найдены на сайте: ${unknown.join(', ')}` : '';
  return `Обновлено заказов: ${updated}${missing}`;
}
