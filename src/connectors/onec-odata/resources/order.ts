import type { OnecResource } from './types.ts';
import { byRefKey } from './types.ts';
import { compact, date, num, ref, text } from './values.ts';

/**
 * Document_ЗаказКлиента of УТ 11 with its tabular section Товары. The site's order number goes
 * to НомерПоДаннымКлиента (1C numbers its documents itself); with the customer it is also how a
 * retried create finds the document an earlier attempt made (a site order and a Bitrix24 deal
 * may both be "42").
 *
 * Статус is written once, when obmen creates the order, from the order's status (a won deal
 * arrives agreed, a new site order waits for a manager): afterwards the status is 1C's, and it
 * travels back as order_status (order-status.ts). `routes[].options.defaults.Статус` or a mapped
 * `Статус` field win over this table.
 */

/** The hub's order status → Статус of a new ЗаказКлиента (Перечисление.СтатусыЗаказовКлиентов). */
export const NEW_ORDER_STATUS: Readonly<Record<string, string>> = {
  new: 'НеСогласован',
  confirmed: 'КВыполнению',
  paid: 'КВыполнению',
  shipped: 'КВыполнению',
};

/** Статус of a ЗаказКлиента → the hub's order status (11.1–11.3 names included). */
const STATUS_FROM_ONEC: Readonly<Record<string, string>> = {
  НеСогласован: 'new',
  Согласован: 'confirmed',
  КОбеспечению: 'confirmed',
  КВыполнению: 'confirmed',
  КОтгрузке: 'confirmed',
  Закрыт: 'completed',
};

const ROW_TYPE = 'Collection(StandardODATA.Document_ЗаказКлиента_Товары_RowType)';

/** 1C wants YYYY-MM-DDTHH:MM:SS in its own wall-clock time. */
function onecDate(value: unknown): string | undefined {
  if (typeof value !== 'string' || value === '') return undefined;
  const plain = value.length === 10 ? `${value}T00:00:00` : value.slice(0, 19);
  return plain.replace(' ', 'T');
}

export const orderResource: OnecResource = {
  entity: 'order',
  entitySet: 'Document_ЗаказКлиента',
  orderBy: 'Ref_Key',
  externalId: byRefKey,
  toCanonical: (raw) => {
    const rows = Array.isArray(raw['Товары']) ? (raw['Товары'] as Array<Record<string, unknown>>) : [];
    // УТ cancels an order by cancelling its lines (Отменено) and closing it.
    const cancelled = rows.length > 0 && rows.every((row) => row['Отменено'] === true);
    const status = text(raw['Статус']);
    return {
      data: compact({
        number: text(raw['Number']) ?? '',
        date: date(raw['Date']),
        customerId: ref(raw['Контрагент_Key']),
        warehouseId: ref(raw['Склад_Key']),
        lines: rows.map((row) =>
          compact({
            lineNo: num(row['LineNumber']),
            productId: ref(row['Номенклатура_Key']),
            quantity: num(row['Количество']) ?? 0,
            price: num(row['Цена']) ?? 0,
            amount: num(row['Сумма']) ?? 0,
            vatAmount: num(row['СуммаНДС']),
            discount: num(row['СуммаРучнойСкидки']) || undefined,
          }),
        ),
        totals: { amount: num(raw['СуммаДокумента']) ?? 0 },
        status: cancelled
          ? 'cancelled'
          : status === undefined
            ? undefined
            : (STATUS_FROM_ONEC[status] ?? status),
        cancelled: cancelled || undefined,
        comment: text(raw['Комментарий']),
        deleted: raw['DeletionMark'] === true || undefined,
      }),
      deleted: raw['DeletionMark'] === true,
    };
  },
  toOnec: (data) => {
    const lines = Array.isArray(data['lines']) ? (data['lines'] as Array<Record<string, unknown>>) : [];
    const when = onecDate(data['date']);
    const total = (data['totals'] as { amount?: unknown } | undefined)?.amount;
    return compact({
      Date: when,
      НомерПоДаннымКлиента: data['number'],
      ДатаПоДаннымКлиента: when,
      Контрагент_Key: data['customerId'],
      Склад_Key: data['warehouseId'],
      Комментарий: data['comment'],
      СуммаДокумента: num(total) ?? lines.reduce((sum, line) => sum + (num(line['amount']) ?? 0), 0),
      // A tabular section is always sent whole (DOC 17.4.13.1.3): PATCH replaces every row.
      'Товары@odata.type': ROW_TYPE,
      Товары: lines.map((line, i) =>
        compact({
          LineNumber: String(i + 1),
          Номенклатура_Key: line['productId'],
          Количество: num(line['quantity']),
          КоличествоУпаковок: num(line['quantity']),
          Цена: num(line['price']),
          Сумма: num(line['amount']),
          СуммаНДС: num(line['vatAmount']),
          СуммаРучнойСкидки: num(line['discount']),
          ПроцентРучнойСкидки: num(line['discountPercent']),
          Склад_Key: data['warehouseId'],
        }),
      ),
    });
  },
  matchBy: (body) =>
    body['НомерПоДаннымКлиента']
      ? body['Контрагент_Key']
        ? ['Контрагент_Key', 'НомерПоДаннымКлиента']
        : ['НомерПоДаннымКлиента']
      : undefined,
  onCreate: (data) => {
    const status = NEW_ORDER_STATUS[String(data['status'] ?? '')];
    return status ? { Статус: status } : {};
  },
};
