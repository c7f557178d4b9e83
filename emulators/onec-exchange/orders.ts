import { randomUUID } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import iconv from 'iconv-lite';
import { parseCommerceMl } from '../../src/formats/commerceml/index.ts';

/**
 * 1C's side of the order exchange («Обмен с сайтом» in УТ 11 / КА / ERP): the orders 1C took from
 * the site (`mode=query`) become its own Заказы клиента, a manager posts, pays, ships or cancels
 * them, and the next exchange sends the site a document for each order that changed — the way
 * 1C writes them (CommerceML 2.09 «ArgentCrusade» and 3.1 «bitrix-module-6» samples in
 * shared/reference/commerceml.md): the site's Ид and Номер, 1C's own Номер1С and Дата1С, the
 * lines, and the state in ЗначенияРеквизитов — Проведен, Отменен, Отгружен, «Номер/Дата оплаты
 * по 1С», «Номер/Дата отгрузки по 1С», «Статуса заказа ИД» (the site status the 1C node maps
 * the order's state to; none until one is set).
 */

export interface OnecOrderLine {
  id: string;
  name: string;
  quantity: number;
  price: number;
  amount: number;
}

export interface OnecOrder {
  /** The site's Ид of the order: 1C keeps it to find the order again. */
  id: string;
  siteNumber: string;
  /** 1C's own number, e.g. `ЗК-000001`. */
  number1c: string;
  date: string;
  customer: { id: string; name: string };
  currency: string;
  lines: OnecOrderLine[];
  posted: boolean;
  cancelled: boolean;
  payment?: { number: string; date: string };
  shipment?: { number: string; date: string };
  statusId?: string;
  /** Changed since the last exchange: sent with the next one. */
  changed: boolean;
}

const pad = (n: number) => String(n).padStart(6, '0');
/** 1C's date-time as it writes it in requisites: `2024-03-02T08:30:00`, local time. */
const stamp = (date: Date) =>
  new Date(date.getTime() - date.getTimezoneOffset() * 60_000).toISOString().slice(0, 19);
const xmlText = (value: string) => value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export class OnecOrderBase {
  readonly orders = new Map<string, OnecOrder>();
  #counter = 0;

  constructor(private readonly now: () => Date = () => new Date()) {}

  /** Loads the site's orders from a `mode=query` answer, as 1C does; returns the Ид of new ones. */
  async take(ordersXml: Buffer): Promise<string[]> {
    const path = join(tmpdir(), `onec-orders-${randomUUID()}.xml`);
    await writeFile(path, ordersXml);
    const names = new Map<string, string>();
    const taken: string[] = [];
    try {
      for await (const event of parseCommerceMl(path, { fileLabel: 'orders.xml' })) {
        if (event.kind !== 'item') continue;
        const data = event.item.data as Record<string, unknown>;
        if (event.entity === 'counterparty') names.set(event.item.externalId, String(data['name']));
        if (event.entity !== 'order' || this.orders.has(event.item.externalId)) continue;
        const lines = (data['lines'] as Array<Record<string, unknown>>).map((l) => ({
          id: String(l['productId']),
          name: String(l['name'] ?? l['productId']),
          quantity: Number(l['quantity']),
          price: Number(l['price']),
          amount: Number(l['amount']),
        }));
        const customerId = String(data['customerId']);
        this.orders.set(event.item.externalId, {
          id: event.item.externalId,
          siteNumber: String(data['number']),
          number1c: `ЗК-${pad(++this.#counter)}`,
          date: String(data['date']).slice(0, 10),
          customer: { id: customerId, name: names.get(customerId) ?? customerId },
          currency: String(data['currency'] ?? 'руб'),
          lines,
          posted: false,
          cancelled: false,
          changed: false,
        });
        taken.push(event.item.externalId);
      }
    } finally {
      await rm(path, { force: true });
    }
    return taken;
  }

  #order(id: string): OnecOrder {
    const order = this.orders.get(id);
    if (!order)
      throw new Error(`1C has no order ${id}; known: ${[...this.orders.keys()].join(', ') || 'none'}`);
    order.changed = true;
    return order;
  }

  /** A manager posts the order (agreed, reserved). */
  post(id: string): void {
    this.#order(id).posted = true;
  }

  /** A payment arrives against the order (Поступление безналичных ДС). */
  pay(id: string): void {
    const order = this.#order(id);
    order.payment = { number: `ПП-${pad(++this.#counter)}`, date: stamp(this.now()) };
  }

  /** The order is shipped (Реализация товаров и услуг). */
  ship(id: string): void {
    const order = this.#order(id);
    order.shipment = { number: `РТУ-${pad(++this.#counter)}`, date: stamp(this.now()) };
  }

  cancel(id: string): void {
    this.#order(id).cancelled = true;
  }

  /** The site status the 1C node maps the order's state to («Статуса заказа ИД»). */
  setStatus(id: string, statusId: string): void {
    this.#order(id).statusId = statusId;
  }

  /** Orders changed since the last exchange. */
  changed(): OnecOrder[] {
    return [...this.orders.values()].filter((order) => order.changed);
  }

  /** The documents of the changed orders, as 1C sends them; they count as sent afterwards. */
  documents(options: { version?: '2.09' | '3.1'; encoding?: 'utf-8' | 'windows-1251' } = {}): Buffer {
    const version = options.version ?? '2.09';
    const encoding = options.encoding ?? 'utf-8';
    const docs = this.changed().map((order) => {
      order.changed = false;
      const doc = documentXml(order);
      return version === '3.1' ? `<Контейнер>\n${doc}</Контейнер>\n` : doc;
    });
    const root =
      version === '3.1'
        ? `<КоммерческаяИнформация xmlns="urn:1C.ru:commerceml_3" ВерсияСхемы="3.1" ДатаФормирования="${stamp(this.now())}">`
        : `<КоммерческаяИнформация xmlns="urn:1C.ru:commerceml_2" ВерсияСхемы="2.09" ДатаФормирования="${stamp(this.now())}">`;
    const text = `<?xml version="1.0" encoding="${encoding === 'utf-8' ? 'UTF-8' : 'windows-1251'}"?>\n${root}\n${docs.join('')}</КоммерческаяИнформация>\n`;
    return encoding === 'utf-8' ? Buffer.from(`\ufeff${text}`, 'utf8') : iconv.encode(text, 'windows-1251');
  }
}

function requisite(name: string, value: string | undefined): string {
  return value === undefined
    ? ''
    : `<ЗначениеРеквизита><Наименование>${xmlText(name)}</Наименование><Значение>${xmlText(value)}</Значение></ЗначениеРеквизита>\n`;
}

function documentXml(order: OnecOrder): string {
  const amount = order.lines.reduce((sum, line) => sum + line.amount, 0);
  const lines = order.lines
    .map(
      (line) =>
        `<Товар><Ид>${xmlText(line.id)}</Ид><Наименование>${xmlText(line.name)}</Наименование>` +
        `<Единица><Код>796</Код><НаименованиеКраткое>шт</НаименованиеКраткое></Единица>` +
        `<Количество>${line.quantity}</Количество><Цена>${line.price}</Цена><Сумма>${line.amount}</Сумма></Товар>\n`,
    )
    .join('');
  return (
    `<Документ>\n<Ид>${xmlText(order.id)}</Ид>\n<ПометкаУдаления>false</ПометкаУдаления>\n` +
    `<Номер>${xmlText(order.siteNumber)}</Номер>\n<Номер1С>${xmlText(order.number1c)}</Номер1С>\n` +
    `<Дата>${order.date}</Дата>\n<Дата1С>${order.date}</Дата1С>\n<ХозОперация>Заказ товара</ХозОперация>\n` +
    `<Контрагенты><Контрагент><Ид>${xmlText(order.customer.id)}</Ид><Наименование>${xmlText(order.customer.name)}</Наименование><Роль>Покупатель</Роль></Контрагент></Контрагенты>\n` +
    `<Валюта>${xmlText(order.currency)}</Валюта>\n<Курс>1</Курс>\n<Сумма>${amount}</Сумма>\n<Роль>Продавец</Роль>\n` +
    `<Комментарий>[Номер документа на сайте: ${xmlText(order.siteNumber)}]</Комментарий>\n` +
    `<ЗначенияРеквизитов>\n` +
    requisite('Проведен', String(order.posted)) +
    requisite('Отменен', String(order.cancelled)) +
    requisite('Отгружен', String(order.shipment !== undefined)) +
    requisite('Номер оплаты по 1С', order.payment?.number) +
    requisite('Дата оплаты по 1С', order.payment?.date) +
    requisite('Номер отгрузки по 1С', order.shipment?.number) +
    requisite('Дата отгрузки по 1С', order.shipment?.date) +
    requisite('Статуса заказа ИД', order.statusId) +
    `</ЗначенияРеквизитов>\n<Товары>\n${lines}</Товары>\n</Документ>\n`
  );
}
