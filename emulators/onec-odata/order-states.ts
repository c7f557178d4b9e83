import { ORDER_STATES_SET } from './model.ts';
import type { SetStore } from './store.ts';
import { OdataRequestError } from './wire.ts';

/**
 * The life of a Заказ клиента after it is written, as УТ 11 keeps it: the document's Статус
 * (Перечисление.СтатусыЗаказовКлиентов), and payments and shipments made by other documents
 * (a receipt with the order in its РасшифровкаПлатежа, a Реализация with ЗаказКлиента). УТ sums
 * them into РегистрСведений.СостоянияЗаказовКлиентов: one row per posted order with its
 * Состояние and ПроцентОплаты / ПроцентОтгрузки / ПроцентДолга. A payment or shipment changes
 * that row, not the order (its DataVersion stays), so only the register tells a reader about it.
 *
 * The desk here is what a 1C user does to an order (the emulator's control API); the register
 * row is recomputed after every such change and whenever the order is posted or unposted.
 */

export const ORDERS_SET = 'Document_ЗаказКлиента';
const ORDER_TYPE = `StandardODATA.${ORDERS_SET}`;

/** Перечисление.СтатусыЗаказовКлиентов; Согласован and КОтгрузке are the 11.1–11.3 names. */
export const ORDER_STATUS_VALUES = [
  'НеСогласован',
  'КОбеспечению',
  'КВыполнению',
  'Закрыт',
  'Согласован',
  'КОтгрузке',
] as const;

/** Перечисление.СостоянияЗаказовКлиентов (the values the emulator reaches). */
export type OrderStateValue =
  | 'ОжидаетсяСогласование'
  | 'ГотовКОтгрузке'
  | 'ВПроцессеОтгрузки'
  | 'ОжидаетсяОплатаПослеОтгрузки'
  | 'ГотовКЗакрытию'
  | 'Закрыт';

interface Facts {
  /** Share of the order paid, 0–100 (the receipts against it). */
  paid: number;
  /** Share of the order shipped, 0–100 (the Реализации against it). */
  shipped: number;
}

export interface OrderDesk {
  /** The manager sets Статус and saves the order (a posted order is posted again). */
  setStatus(ref: string, status: string): Record<string, unknown>;
  /** A receipt against the order brings its paid share to `percent`. */
  pay(ref: string, percent?: number): Record<string, unknown>;
  /** A Реализация against the order brings its shipped share to `percent`. */
  ship(ref: string, percent?: number): Record<string, unknown>;
  /** Cancels every line (Отменено) and closes the order, as УТ's «Отменить заказ» does. */
  cancel(ref: string): Record<string, unknown>;
  /** Recomputes the order's register row (after posting, unposting, a deletion mark). */
  refresh(ref: string): void;
  /** The order's register row, or undefined when it has none (not posted). */
  state(ref: string): Record<string, unknown> | undefined;
}

const notFound = (ref: string) =>
  new OdataRequestError(
    404,
    '9',
    `Экземпляр сущности "ЗаказКлиента" не найден по переданному ключу (${ref}).`,
  );
const refused = (message: string) => new OdataRequestError(500, '-1', message);

function share(value: unknown): number {
  const n = typeof value === 'number' ? value : Number(value ?? 100);
  if (!Number.isFinite(n) || n < 0 || n > 100)
    throw new OdataRequestError(400, '4', 'Процент должен быть от 0 до 100');
  return n;
}

export function createOrderDesk(deps: {
  orders: SetStore;
  states: SetStore;
  /** Local wall-clock time of the 1C server, YYYY-MM-DDTHH:MM:SS. */
  now: () => string;
}): OrderDesk {
  const facts = new Map<string, Facts>();
  const factsOf = (ref: string): Facts => facts.get(ref) ?? { paid: 0, shipped: 0 };

  const order = (ref: string): Record<string, unknown> => {
    const found = deps.orders.get(ref);
    if (!found) throw notFound(ref);
    return found;
  };
  const lines = (doc: Record<string, unknown>) =>
    Array.isArray(doc['Товары']) ? (doc['Товары'] as Array<Record<string, unknown>>) : [];
  const cancelled = (doc: Record<string, unknown>) => {
    const rows = lines(doc);
    return rows.length > 0 && rows.every((row) => row['Отменено'] === true);
  };
  const label = (doc: Record<string, unknown>) => `Заказ клиента ${String(doc['Number'])}`;

  function stateOf(doc: Record<string, unknown>, done: Facts): OrderStateValue {
    const status = String(doc['Статус'] ?? '');
    if (status === 'Закрыт' || cancelled(doc)) return 'Закрыт';
    if (status === 'НеСогласован' || status === '') return 'ОжидаетсяСогласование';
    if (done.shipped >= 100) return done.paid >= 100 ? 'ГотовКЗакрытию' : 'ОжидаетсяОплатаПослеОтгрузки';
    if (done.shipped > 0) return 'ВПроцессеОтгрузки';
    return 'ГотовКОтгрузке';
  }

  function refresh(ref: string): void {
    const doc = deps.orders.get(ref);
    if (!doc || doc['Posted'] !== true || doc['DeletionMark'] === true) {
      deps.states.remove(ref);
      return;
    }
    const done = factsOf(ref);
    const next = {
      Заказ: ref,
      Заказ_Type: ORDER_TYPE,
      Состояние: stateOf(doc, done),
      ПроцентОплаты: done.paid,
      ПроцентОтгрузки: done.shipped,
      ПроцентДолга: Math.max(0, done.shipped - done.paid),
    };
    const before = deps.states.get(ref);
    const same =
      before !== undefined &&
      (Object.keys(next) as Array<keyof typeof next>).every((key) => before[key] === next[key]);
    // УТ rewrites the row only when the state moves; ДатаСобытия is when it last did.
    if (!same) deps.states.putRecord(ref, { ...next, ДатаСобытия: deps.now() });
  }

  /** Saving a posted order posts it again; the register follows. */
  function save(ref: string, doc: Record<string, unknown>): Record<string, unknown> {
    deps.orders.put(ref, doc);
    refresh(ref);
    return deps.states.get(ref) ?? {};
  }

  function requirePosted(doc: Record<string, unknown>): void {
    if (doc['Posted'] !== true)
      throw refused(`${label(doc)} не проведен: по нему нельзя вводить оплату и отгрузку`);
    if (cancelled(doc)) throw refused(`${label(doc)} отменен`);
  }

  return {
    setStatus(ref, status) {
      const doc = order(ref);
      if (!(ORDER_STATUS_VALUES as readonly string[]).includes(status)) {
        throw new OdataRequestError(
          400,
          '4',
          `Неверное значение свойства "Статус": ${status} (${ORDER_STATUS_VALUES.join(', ')})`,
        );
      }
      return save(ref, { ...doc, Статус: status });
    },
    pay(ref, percent) {
      const doc = order(ref);
      requirePosted(doc);
      facts.set(ref, { ...factsOf(ref), paid: share(percent) });
      refresh(ref);
      return deps.states.get(ref) ?? {};
    },
    ship(ref, percent) {
      const doc = order(ref);
      requirePosted(doc);
      const status = String(doc['Статус'] ?? '');
      if (status === 'НеСогласован' || status === '' || status === 'КОбеспечению') {
        throw refused(`${label(doc)} в статусе «${status || 'пустой'}»: отгружать можно заказы к выполнению`);
      }
      facts.set(ref, { ...factsOf(ref), shipped: share(percent) });
      refresh(ref);
      return deps.states.get(ref) ?? {};
    },
    cancel(ref) {
      const doc = order(ref);
      if (factsOf(ref).shipped > 0) throw refused(`${label(doc)}: отгруженные строки отменить нельзя`);
      return save(ref, {
        ...doc,
        Статус: 'Закрыт',
        Товары: lines(doc).map((row) => ({ ...row, Отменено: true })),
      });
    },
    refresh,
    state: (ref) => deps.states.get(ref),
  };
}

export { ORDER_STATES_SET };
