import { RestError } from '../bitrix24/errors.ts';
import { asObject, type Params } from '../bitrix24/params.ts';
import { ORDER_STATUSES } from './orders.ts';
import { list } from './rest-list.ts';
import type { SiteOrder, SiteState } from './state.ts';

/**
 * The `sale.*` REST methods of a 1C-Bitrix site over the emulator's one shop (the storefront
 * places orders there, the exchange exports and updates them): orders, their basket, property
 * values, payments and shipments, statuses. Field names, value shapes and errors follow the
 * REST documentation (api-reference/sale) and the sale module's controllers:
 *  - camelCase fields, `Y`/`N` flags, ISO dates with the site's offset, second precision;
 *  - in `sale.order.get` basket ids are strings, in `sale.basketitem.list` numbers;
 *  - lists as the controllers page them (rest-list.ts);
 *  - "order is not exists" 200540400001, "payment is not exists" 200640400001, "shipment is not
 *    exists" 201140400001 (the controllers' own texts), a missing parameter as the REST engine
 *    reports it. A status id that is not a status of the site is refused with the status
 *    controller's "status is not exists" 201340400001: the module's own behaviour on update is
 *    not documented, and a shop that silently stored it would hide the mistake.
 */

type Row = Record<string, unknown>;

export interface SaleContext {
  state: SiteState;
  now: () => number;
  /** The site's time zone offset, minutes east of UTC (Moscow: 180). */
  offsetMinutes: number;
}

export type SaleMethod = (
  params: Params,
  ctx: SaleContext,
) => { result: unknown; total?: number; next?: number };

/** Delivery statuses (type D) the sale module creates next to the order statuses. */
const DELIVERY_STATUSES: Record<string, string> = { DN: 'Ожидает обработки', DF: 'Отгружен' };
const STATUS_NAMES_EN: Record<string, string> = {
  N: 'Accepted, awaiting payment',
  P: 'Paid, preparing for shipment',
  F: 'Completed',
  DN: 'Awaiting processing',
  DF: 'Dispatched',
};

const yn = (flag: boolean) => (flag ? 'Y' : 'N');

/** A site date: local time of the site with its offset, whole seconds ("2024-02-28T17:36:55+03:00"). */
export function siteDate(ms: number | undefined, offsetMinutes: number): string | null {
  if (ms === undefined) return null;
  const local = new Date(Math.floor(ms / 1000) * 1000 + offsetMinutes * 60_000).toISOString().slice(0, 19);
  const sign = offsetMinutes < 0 ? '-' : '+';
  const abs = Math.abs(offsetMinutes);
  return `${local}${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
}

const missing = (name: string) => new RestError(400, 100, `Could not find value for parameter {${name}}`);
const orderNotFound = () => new RestError(400, 200540400001, 'order is not exists');

function total(order: SiteOrder): number {
  return Math.round(order.lines.reduce((sum, l) => sum + l.price * l.quantity, 0) * 100) / 100;
}

function orderRow(o: SiteOrder, ctx: SaleContext): Row {
  const date = (ms: number | undefined) => siteDate(ms, ctx.offsetMinutes);
  return {
    accountNumber: o.accountNumber,
    additionalInfo: '',
    affiliateId: null,
    canceled: yn(o.canceled),
    comments: o.comment,
    companyId: null,
    currency: 'RUB',
    dateCanceled: date(o.canceledAt),
    dateInsert: date(o.createdAt),
    dateLock: null,
    dateMarked: null,
    dateStatus: date(o.statusChangedAt ?? o.createdAt),
    dateUpdate: date(o.updatedAt),
    deducted: yn(o.deducted),
    discountValue: 0,
    empCanceledId: null,
    empMarkedId: null,
    empStatusId: null,
    externalOrder: 'N',
    id: o.id,
    id1c: '',
    lid: 's1',
    lockedBy: '',
    marked: 'N',
    orderTopic: '',
    payed: yn(o.payed),
    personTypeId: 1,
    personTypeXmlId: '',
    price: total(o),
    reasonCanceled: '',
    reasonMarked: '',
    recountFlag: 'Y',
    recurringId: '',
    responsibleId: 1,
    statusId: o.statusId,
    statusXmlId: '',
    taxValue: 0,
    updated1c: yn(o.updated1c),
    userDescription: '',
    userId: o.user.id,
    version: o.updatesFrom1c,
    version1c: '',
    xmlId: `bx_${o.id.toString(16).padStart(8, '0')}`,
  };
}

function basketItems(o: SiteOrder, ctx: SaleContext): Row[] {
  return o.lines.map((line, index) => ({
    barcodeMulti: 'N',
    basePrice: line.price,
    canBuy: 'Y',
    catalogXmlId: 'obmen-catalog',
    currency: 'RUB',
    customPrice: 'N',
    dateInsert: siteDate(o.createdAt, ctx.offsetMinutes),
    dateUpdate: siteDate(o.createdAt, ctx.offsetMinutes),
    discountPrice: 0,
    id: o.id * 1000 + index + 1,
    measureCode: '796',
    measureName: 'шт',
    name: line.name,
    orderId: o.id,
    price: line.price,
    productId: ctx.state.elementId(line.productXmlId),
    productXmlId: line.productXmlId,
    quantity: line.quantity,
    sort: (index + 1) * 100,
    type: null,
    vatIncluded: 'Y',
    vatRate: null,
    weight: 0,
    xmlId: `bx_${o.id}_${index + 1}`,
  }));
}

function propertyValues(o: SiteOrder): Row[] {
  const props: Array<[string, string, string]> = [
    ['FIO', 'Ф.И.О.', `${o.user.lastName} ${o.user.name}`],
    ['EMAIL', 'E-Mail', o.user.email],
    ['PHONE', 'Телефон', o.user.phone],
  ];
  return props.map(([code, name, value], index) => ({
    code,
    id: o.id * 10 + index + 1,
    name,
    orderId: o.id,
    orderPropsId: index + 1,
    orderPropsXmlId: null,
    value,
  }));
}

/** One payment per order, with the order's id (a site makes one at checkout). */
function payments(o: SiteOrder, ctx: SaleContext): Row[] {
  return [
    {
      accountNumber: `${o.accountNumber}/1`,
      currency: 'RUB',
      datePaid: siteDate(o.paidAt, ctx.offsetMinutes),
      id: o.id,
      id1c: '',
      isReturn: 'N',
      orderId: o.id,
      paid: yn(o.payed),
      paySystemId: 1,
      paySystemIsCash: 'Y',
      paySystemName: 'Наличные',
      payVoucherNum: o.paymentNumber ?? '',
      sum: total(o),
      updated1c: yn(o.updated1c),
      xmlId: `bx_pay_${o.id}`,
    },
  ];
}

/** One shipment per order, with the order's id (the system shipment is never shown by REST). */
function shipments(o: SiteOrder, ctx: SaleContext): Row[] {
  return [
    {
      accountNumber: `${o.accountNumber}/2`,
      allowDelivery: yn(o.deducted),
      canceled: 'N',
      currency: 'RUB',
      dateDeducted: siteDate(o.deductedAt, ctx.offsetMinutes),
      deducted: yn(o.deducted),
      deliveryDocNum: o.shipmentNumber ?? '',
      deliveryId: 1,
      deliveryName: 'Самовывоз',
      id: o.id,
      id1c: '',
      orderId: o.id,
      priceDelivery: 0,
      statusId: o.deducted ? 'DF' : 'DN',
      system: 'N',
      updated1c: yn(o.updated1c),
      xmlId: `bx_ship_${o.id}`,
    },
  ];
}

function fullOrder(o: SiteOrder, ctx: SaleContext): Row {
  return {
    ...orderRow(o, ctx),
    // sale.order.get shows basket ids as strings (a quirk of the documented answer).
    basketItems: basketItems(o, ctx).map((item) => ({
      ...item,
      id: String(item['id']),
      orderId: String(item['orderId']),
    })),
    clients: [],
    payments: payments(o, ctx),
    propertyValues: propertyValues(o),
    requisiteLink: [],
    shipments: shipments(o, ctx),
    tradeBindings: [],
  };
}

function orderById(params: Params, ctx: SaleContext): SiteOrder {
  if (params['id'] === undefined || params['id'] === '') throw missing('id');
  const order = ctx.state.orders.get(Number(params['id']));
  if (!order) throw orderNotFound();
  return order;
}

function fieldsOf(params: Params): Params {
  const fields = asObject(params['fields']);
  if (!fields || Object.keys(fields).length === 0) throw missing('fields');
  return fields;
}

/** A change saved on the site: DATE_UPDATE moves, and UPDATED_1C is reset unless the save sets it. */
function touch(order: SiteOrder, ctx: SaleContext, updated1c: unknown): void {
  order.updatedAt = ctx.now();
  order.updated1c = updated1c === 'Y';
}

const orders = (ctx: SaleContext) => [...ctx.state.orders.values()];

/** An order with every field set, to know each entity's field names when the shop has no orders. */
const SAMPLE: SiteOrder = {
  id: 1,
  accountNumber: '1',
  createdAt: 0,
  updatedAt: 0,
  user: { id: 1, login: 'u', name: 'n', lastName: 'l', email: 'e', phone: 'p' },
  lines: [{ productXmlId: 'x', name: 'n', price: 1, quantity: 1 }],
  statusId: 'N',
  payed: false,
  deducted: false,
  canceled: false,
  comment: '',
  updatesFrom1c: 0,
  updated1c: false,
};
const sampleContext = (ctx: SaleContext): SaleContext => ({
  ...ctx,
  state: { elementId: () => 1 } as unknown as SiteState,
});
const fieldsOfRows = (make: (ctx: SaleContext) => Row) => (ctx: SaleContext) =>
  Object.keys(make(sampleContext(ctx)));
const ORDER_FIELDS = fieldsOfRows((ctx) => orderRow(SAMPLE, ctx));
const BASKET_FIELDS = fieldsOfRows((ctx) => basketItems(SAMPLE, ctx)[0]!);
const PROPERTY_FIELDS = fieldsOfRows(() => propertyValues(SAMPLE)[0]!);
const PAYMENT_FIELDS = fieldsOfRows((ctx) => payments(SAMPLE, ctx)[0]!);
const SHIPMENT_FIELDS = fieldsOfRows((ctx) => shipments(SAMPLE, ctx)[0]!);
const STATUS_FIELDS = ['id', 'type', 'notify', 'sort', 'color', 'xmlId'];
const STATUS_LANG_FIELDS = ['statusId', 'lid', 'name', 'description'];

export const saleMethods: Record<string, SaleMethod> = {
  'sale.order.list': (params, ctx) =>
    list(
      orders(ctx).map((o) => orderRow(o, ctx)),
      ORDER_FIELDS(ctx),
      params,
      'Order',
      'orders',
    ),
  'sale.order.get': (params, ctx) => ({ result: { order: fullOrder(orderById(params, ctx), ctx) } }),
  'sale.order.update': (params, ctx) => {
    const order = orderById(params, ctx);
    const fields = fieldsOf(params);
    const statusId = fields['statusId'];
    if (statusId !== undefined && ORDER_STATUSES[String(statusId)] === undefined) {
      throw new RestError(400, 201340400001, 'status is not exists');
    }
    if (statusId !== undefined && statusId !== order.statusId) {
      order.statusId = String(statusId);
      order.statusChangedAt = ctx.now();
    }
    if (fields['canceled'] === 'Y' && !order.canceled) {
      order.canceled = true;
      order.canceledAt = ctx.now();
    } else if (fields['canceled'] === 'N') order.canceled = false;
    if (typeof fields['comments'] === 'string') order.comment = fields['comments'];
    // payed and deducted are read-only here (they follow payments and shipments); the REST
    // entity drops read-only and unknown fields without a word, and so does the emulator.
    touch(order, ctx, fields['updated1c']);
    return { result: { order: orderRow(order, ctx) } };
  },
  'sale.basketitem.list': (params, ctx) =>
    list(
      orders(ctx).flatMap((o) => basketItems(o, ctx)),
      BASKET_FIELDS(ctx),
      params,
      'Basket',
      'basketItems',
    ),
  'sale.propertyvalue.list': (params, ctx) =>
    list(
      orders(ctx).flatMap(propertyValues),
      PROPERTY_FIELDS(ctx),
      params,
      'PropertyValue',
      'propertyValues',
    ),
  'sale.payment.list': (params, ctx) =>
    list(
      orders(ctx).flatMap((o) => payments(o, ctx)),
      PAYMENT_FIELDS(ctx),
      params,
      'Payment',
      'payments',
    ),
  'sale.payment.update': (params, ctx) => {
    if (params['id'] === undefined || params['id'] === '') throw missing('id');
    const order = ctx.state.orders.get(Number(params['id']));
    if (!order) throw new RestError(400, 200640400001, 'payment is not exists');
    const fields = fieldsOf(params);
    if (fields['paid'] === 'Y' && !order.payed) {
      order.payed = true;
      order.paidAt = ctx.now();
    } else if (fields['paid'] === 'N') order.payed = false;
    touch(order, ctx, fields['updated1c']);
    return { result: { payment: payments(order, ctx)[0] } };
  },
  'sale.shipment.list': (params, ctx) =>
    list(
      orders(ctx).flatMap((o) => shipments(o, ctx)),
      SHIPMENT_FIELDS(ctx),
      params,
      'Shipment',
      'shipments',
    ),
  'sale.shipment.update': (params, ctx) => {
    if (params['id'] === undefined || params['id'] === '') throw missing('id');
    const order = ctx.state.orders.get(Number(params['id']));
    if (!order) throw new RestError(400, 201140400001, 'shipment is not exists');
    const fields = fieldsOf(params);
    if (fields['deducted'] === 'Y' && !order.deducted) {
      order.deducted = true;
      order.deductedAt = ctx.now();
    } else if (fields['deducted'] === 'N') order.deducted = false;
    touch(order, ctx, fields['updated1c']);
    return { result: { shipment: shipments(order, ctx)[0] } };
  },
  'sale.status.list': (params) =>
    list(
      [
        ...Object.keys(ORDER_STATUSES).map((id, i) => ({
          id,
          type: 'O',
          notify: 'Y',
          sort: (i + 1) * 10,
          color: null,
          xmlId: null,
        })),
        ...Object.keys(DELIVERY_STATUSES).map((id, i) => ({
          id,
          type: 'D',
          notify: 'N',
          sort: (i + 1) * 10,
          color: null,
          xmlId: null,
        })),
      ],
      STATUS_FIELDS,
      params,
      'Status',
      'statuses',
    ),
  'sale.statuslang.list': (params) =>
    list(
      Object.entries({ ...ORDER_STATUSES, ...DELIVERY_STATUSES }).flatMap(([statusId, name]) => [
        { statusId, lid: 'ru', name, description: '' },
        { statusId, lid: 'en', name: STATUS_NAMES_EN[statusId] ?? name, description: '' },
      ]),
      STATUS_LANG_FIELDS,
      params,
      'StatusLang',
      'statusLangs',
    ),
};

/** Methods that change data (counted as writes in `/_stats`). */
export const isSaleWrite = (method: string) => /\.(add|update|delete|modify)$/.test(method);
