import type { Counterparty, OrderLine } from '../../core/entities/index.ts';
import type { CanonicalOrderForCml, OrdersXmlOptions } from './types.ts';
import { bool, type El, formatTimestamp, leaf, list, num, renderXml } from './xml.ts';

/**
 * Orders XML for 1C, the way a 1C-Bitrix site answers `type=sale&mode=query`: 2.05 with the
 * root's Формат* attributes and documents under the root, or 3.1 with each document in a
 * `Контейнер` (exchange module 6.5+). Element order follows Bitrix's sale.export.1c output.
 */

// Attributes Bitrix puts on the root so that 1C reads dates and amounts without guessing.
const FORMAT_ATTRIBUTES = {
  ФорматДаты: 'ДФ=yyyy-MM-dd; ДЛФ=DT',
  ФорматВремени: 'ДФ=ЧЧ:мм:сс; ДЛФ=T',
  РазделительДатаВремя: 'T',
  ФорматСуммы: 'ЧЦ=18; ЧДЦ=2; ЧРД=.',
  ФорматКоличества: 'ЧЦ=18; ЧДЦ=2; ЧРД=.',
};

function requisite(name: string, value: string | undefined): El | undefined {
  if (value === undefined) return undefined;
  return { n: 'ЗначениеРеквизита', c: [leaf('Наименование', name), leaf('Значение', value)] };
}

function vatText(rate: number | null | undefined): string | undefined {
  if (rate === undefined) return undefined;
  return rate === null ? 'Без налога' : num(rate);
}

function splitDate(date: string): { day: string; time: string | undefined } {
  const match = date.match(/^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}(?::\d{2})?))?/);
  return { day: match?.[1] ?? date, time: match?.[2] };
}

function counterparty(order: CanonicalOrderForCml): El {
  const { id, data, firstName, lastName } = order.customer;
  const party: Counterparty = data;
  const legal = party.addresses?.find((a) => a.type === 'legal') ?? party.addresses?.[0];
  const contacts: El[] = [
    ...(party.phones ?? []).map((p) => ({
      n: 'Контакт',
      c: [leaf('Тип', p.type ?? 'Телефон рабочий'), leaf('Значение', p.value)],
    })),
    ...(party.emails ?? []).map((e) => ({
      n: 'Контакт',
      c: [leaf('Тип', e.type ?? 'Электронная почта'), leaf('Значение', e.value)],
    })),
  ];
  return {
    n: 'Контрагент',
    c: [
      // The order of a current Bitrix (sale.export.1c): Роль comes last.
      leaf('Ид', id),
      leaf('Наименование', party.name),
      leaf('ПолноеНаименование', party.fullName ?? party.name),
      leaf('Фамилия', lastName),
      leaf('Имя', firstName),
      leaf('ИНН', party.inn),
      leaf('КПП', party.kpp),
      legal && { n: 'АдресРегистрации', c: [leaf('Представление', legal.value)] },
      list('Контакты', contacts),
      leaf('Роль', 'Покупатель'),
    ],
  };
}

function line(item: OrderLine, catalogId: string | undefined): El {
  const vat = vatText(item.vatRate);
  const service = item.productId === 'ORDER_DELIVERY';
  const kind = service ? 'Услуга' : 'Товар';
  return {
    n: 'Товар',
    c: [
      leaf('Ид', item.productId),
      service ? undefined : leaf('ИдКаталога', catalogId),
      leaf('Наименование', item.name ?? item.productId),
      leaf('БазоваяЕдиница', 'шт', {
        Код: '796',
        НаименованиеПолное: 'Штука',
        МеждународноеСокращение: 'PCE',
      }),
      leaf('ЦенаЗаЕдиницу', num(item.price)),
      leaf('Количество', num(item.quantity)),
      leaf('Сумма', num(item.amount)),
      item.discount !== undefined &&
        list('Скидки', [
          { n: 'Скидка', c: [leaf('Сумма', num(item.discount)), leaf('УчтеноВСумме', 'true')] },
        ]),
      vat !== undefined &&
        list('СтавкиНалогов', [{ n: 'СтавкаНалога', c: [leaf('Наименование', 'НДС'), leaf('Ставка', vat)] }]),
      item.vatAmount !== undefined &&
        list('Налоги', [
          {
            n: 'Налог',
            c: [
              leaf('Наименование', 'НДС'),
              leaf('УчтеноВСумме', 'true'),
              leaf('Сумма', num(item.vatAmount)),
            ],
          },
        ]),
      list('ЗначенияРеквизитов', [requisite('ВидНоменклатуры', kind), requisite('ТипНоменклатуры', kind)]),
    ],
  };
}

function document(entry: CanonicalOrderForCml): El {
  const { order } = entry;
  const { day, time } = splitDate(order.date);
  const extra = entry.requisites ?? {};
  const amount = order.totals?.amount ?? order.lines.reduce((sum, l) => sum + l.amount, 0);
  const statusDate =
    entry.statusChangedAt === undefined ? undefined : entry.statusChangedAt.replace('T', ' ');
  const standard: Array<[string, string | undefined]> = [
    ['Метод оплаты', extra['Метод оплаты']],
    ['Заказ оплачен', bool(order.paid)],
    ['Дата оплаты', order.paymentDate?.replace('T', ' ')],
    ['Номер платежного документа', order.paymentNumber],
    ['Доставка разрешена', extra['Доставка разрешена'] ?? bool(order.shipped)],
    ['Отгружен', order.shipped ? 'true' : undefined],
    ['Номер отгрузки по 1С', order.shipmentNumber],
    ['Дата отгрузки по 1С', order.shipmentDate],
    ['Отменен', bool(order.cancelled)],
    ['Финальный статус', bool(entry.finalStatus)],
    ['Статус заказа', order.status],
    ['Дата изменения статуса', statusDate],
    ['Сайт', order.source],
  ];
  const written = new Set(standard.map(([name]) => name));
  const others = Object.entries(extra).filter(([name]) => !written.has(name));
  return {
    n: 'Документ',
    c: [
      leaf('Ид', entry.id),
      leaf('Номер', order.number),
      leaf('Дата', day),
      leaf('ХозОперация', 'Заказ товара'),
      leaf('Роль', 'Продавец'),
      leaf('Валюта', order.currency ?? 'руб'),
      leaf('Курс', '1'),
      leaf('Сумма', num(amount)),
      list('Контрагенты', [counterparty(entry)]),
      leaf('Время', time),
      leaf('Комментарий', order.comment ?? ''),
      list(
        'Товары',
        order.lines.map((l) => line(l, entry.catalogId)),
      ),
      list(
        'ЗначенияРеквизитов',
        [...standard, ...others].map(([name, value]) => requisite(name, value)),
      ),
    ],
  };
}

/** Orders XML for 1C's `type=sale&mode=query`, in the requested version and encoding. */
export function writeOrdersXml(orders: CanonicalOrderForCml[], options: OrdersXmlOptions): Buffer {
  const stamp = formatTimestamp(options.now ?? new Date());
  const docs = orders.map((entry) => document(entry));
  const root: El =
    options.version === '3.1'
      ? {
          n: 'КоммерческаяИнформация',
          a: { xmlns: 'urn:1C.ru:commerceml_3', ВерсияСхемы: '3.1', ДатаФормирования: stamp },
          c: docs.map((doc) => ({ n: 'Контейнер', c: [doc] })),
        }
      : {
          n: 'КоммерческаяИнформация',
          a: { ВерсияСхемы: '2.05', ДатаФормирования: stamp, ...FORMAT_ATTRIBUTES },
          c: docs,
        };
  return renderXml(root, options.encoding);
}
