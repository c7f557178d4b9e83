/**
 * Faults a real 1C publication shows, to be switched on in tests and from the CLI. Counters
 * (`…Next`) hit the next requests deterministically; rates hit a share of all requests, drawn
 * from a seeded generator so a run can be repeated.
 */
export interface OnecFaults {
  /** Delay before every answer. */
  latencyMs: number;
  /** Share of requests answered 503 by the web server. */
  errorRate: number;
  /** The next N requests are answered 503. */
  failNext: number;
  /** Requests let through before `failNext` starts (to fail in the middle of a read). */
  failNextAfter: number;
  /** The next N writes are carried out but never answered: the answer is lost on the way back. */
  dropAnswerNext: number;
  /** Share of requests never answered (the client's timeout must end them). */
  hangRate: number;
  /** The next N requests are never answered. */
  hangNext: number;
  /** Share of requests answered by an HTML error page with status 200 (licence/session trouble). */
  htmlRate: number;
  /** The next N requests get that HTML page. */
  htmlNext: number;
  /** Share of writes (POST, PATCH, Post) refused with HTTP 500 code -1. */
  businessErrorRate: number;
  /** The next N writes are refused with HTTP 500 code -1. */
  businessErrorNext: number;
  /** 1C's text for injected business errors. */
  businessErrorMessage: string;
}

export const NO_FAULTS: OnecFaults = {
  latencyMs: 0,
  errorRate: 0,
  failNext: 0,
  failNextAfter: 0,
  dropAnswerNext: 0,
  hangRate: 0,
  hangNext: 0,
  htmlRate: 0,
  htmlNext: 0,
  businessErrorRate: 0,
  businessErrorNext: 0,
  businessErrorMessage:
    'Ошибка при вызове метода контекста (Записать): Не удалось записать объект: операция отменена в обработчике ПередЗаписью',
};

/** mulberry32: small, seeded, good enough to pick which requests fail. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const HTML_ERROR_PAGE =
  '<!DOCTYPE html><html><head><meta charset="utf-8"><title>Ошибка</title></head><body>' +
  '<h1>Ошибка при выполнении операции с информационной базой</h1>' +
  '<p>Превышено максимальное количество пользователей (сеансов) для данной лицензии</p></body></html>';

export const SERVICE_UNAVAILABLE_PAGE =
  '<!DOCTYPE html><html><head><title>503 Service Unavailable</title></head><body>' +
  '<h1>Service Unavailable</h1><p>The server is temporarily unable to service your request.</p></body></html>';
