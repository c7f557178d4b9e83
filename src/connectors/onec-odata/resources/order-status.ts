import { isGuid } from '../query.ts';
import type { OnecResource } from './types.ts';
import { compact, date, num, text } from './values.ts';

/**
 * The state of customer orders in УТ 11: РегистрСведений.СостоянияЗаказовКлиентов, one row per
 * posted order. УТ keeps it from the order's Статус and from the documents made against the
 * order (receipts, Реализации), so it is the one place that changes when an order is paid or
 * shipped — the order document itself (and its DataVersion) does not. Its row hash is the
 * change marker (a register has no DataVersion).
 *
 * Состояние → the hub's order status (seed 004: Новый, Подтвержден, Отгружен, Отменен):
 * a closed order with nothing shipped is a cancelled one (УТ closes an order by cancelling its
 * unshipped lines). A source mapping overrides it, e.g.
 * `fields: { status: { lookup: states, from: "raw.Состояние" } }`.
 */

export const ORDER_STATES_SET = 'InformationRegister_СостоянияЗаказовКлиентов';

/** Перечисление.СостоянияЗаказовКлиентов → status, before payment and shipment are looked at. */
export const ORDER_STATE_STATUSES: Readonly<Record<string, string>> = {
  ОжидаетсяСогласование: 'new',
  ОжидаетсяАвансДоОбеспечения: 'confirmed',
  ГотовКОбеспечению: 'confirmed',
  ОжидаетсяПредоплатаДоОтгрузки: 'confirmed',
  ОжидаетсяОбеспечение: 'confirmed',
  ГотовКОтгрузке: 'confirmed',
  ВПроцессеОтгрузки: 'confirmed',
  ОжидаетсяОплатаПослеОтгрузки: 'shipped',
  ГотовКЗакрытию: 'completed',
  Закрыт: 'completed',
};

/** The hub's status of an order from its register row. */
export function statusOfState(state: string, paidPercent: number, shippedPercent: number): string {
  if (state === 'Закрыт' && shippedPercent === 0) return 'cancelled';
  const status = ORDER_STATE_STATUSES[state];
  if (status === undefined) return state;
  // A confirmed order that is paid in full but not shipped yet: seed 004's "paid".
  if (status === 'confirmed' && paidPercent >= 100 && shippedPercent === 0) return 'paid';
  if (status === 'confirmed' && shippedPercent >= 100) return 'shipped';
  return status;
}

export const orderStatusResource: OnecResource = {
  entity: 'order_status',
  entitySet: ORDER_STATES_SET,
  orderBy: 'Заказ',
  // The register also holds returns (ЗаявкаНаВозвратТоваровОтКлиента): only customer orders.
  filter: "Заказ_Type eq 'StandardODATA.Document_ЗаказКлиента'",
  externalId: (raw) => (isGuid(raw['Заказ']) ? String(raw['Заказ']).toLowerCase() : undefined),
  toCanonical: (raw) => {
    const state = text(raw['Состояние']) ?? '';
    const paid = num(raw['ПроцентОплаты']) ?? 0;
    const shipped = num(raw['ПроцентОтгрузки']) ?? 0;
    const status = statusOfState(state, paid, shipped);
    return {
      data: compact({
        orderId: isGuid(raw['Заказ']) ? String(raw['Заказ']).toLowerCase() : undefined,
        status,
        paid: paid >= 100,
        shipped: shipped >= 100,
        cancelled: status === 'cancelled',
        changedAt: date(raw['ДатаСобытия']),
      }),
      deleted: false,
    };
  },
};
