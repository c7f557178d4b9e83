import type { ReadRequest, SourceBatch, SourceItem } from '../../core/connector.ts';
import { configError, permanentError } from '../../core/errors.ts';
import type { SiteRest } from './rest-client.ts';
import { buyerOf, orderOf } from './rest-convert.ts';

/**
 * Pulls a site's new and changed orders through its REST: `sale.order.list` in (dateUpdate, id)
 * order, one page of 50 at a time, then one `batch` of `sale.order.get` for the page (lines,
 * buyer properties, payments, shipments: two HTTP calls per 50 orders).
 *
 * Paging is by keyset, not by `start`: an order changed while a pull pages through the list
 * moves to the end of the list, and offset paging would then skip the order after it. The
 * position is (dateUpdate, id) of the last order read; the next page lists from that second on
 * (`>=dateUpdate`) and drops what is not after the position. A second that fills whole pages
 * (a bulk change) is read on by id (`>=dateUpdate`, `<dateUpdate` of the next second, `>id`),
 * then the seconds after it.
 * Each page is yielded with the position as its cursor, and the engine saves the cursor with the
 * page's ingest: a failure mid-pull leaves the cursor after the last stored page, the next pull
 * goes on from there, and orders read twice are recognised by ingest (same id, same content).
 * The next pull starts `pollOverlapSeconds` before the cursor, for orders saved late with an
 * earlier dateUpdate.
 *
 * Orders whose last change came from 1C (`updated1c=Y`, which is also what obmen's own status
 * writes set) are not read, as the exchange does not export them: a status sent to the site does
 * not come back as a new version.
 */

type Row = Record<string, unknown>;

const PAGE = 50;
const SELECT = ['id', 'dateUpdate'];

interface Position {
  dateUpdate: string;
  id: number;
}

function parseCursor(system: string, cursor: string): Position {
  try {
    const value = JSON.parse(cursor) as Partial<Position>;
    if (
      typeof value.dateUpdate === 'string' &&
      typeof value.id === 'number' &&
      !Number.isNaN(Date.parse(value.dateUpdate))
    )
      return { dateUpdate: value.dateUpdate, id: value.id };
  } catch {
    // falls through to the error below
  }
  throw permanentError(
    `${system}: the saved cursor of the REST orders pull is not readable (${cursor.slice(0, 80)}); run a full pull of the source once (obmen sync <source> --full)`,
    { system, code: 'BAD_CURSOR' },
  );
}

/** A site date moved by `seconds`, written with the same offset the site used ("…+03:00"). */
export function shiftSiteDate(value: string, seconds: number): string {
  const zone = /(Z|[+-]\d{2}:?\d{2})$/.exec(value)?.[1];
  const offsetMinutes =
    zone === undefined || zone === 'Z'
      ? 0
      : (zone.startsWith('-') ? -1 : 1) * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(-2)));
  const ms = Date.parse(zone === undefined ? `${value}Z` : value) + seconds * 1000;
  const local = new Date(ms + offsetMinutes * 60_000).toISOString().slice(0, 19);
  return zone === undefined ? local : `${local}${zone}`;
}

export async function* readOrdersRest(deps: SiteRest, request: ReadRequest): AsyncGenerator<SourceBatch> {
  const { ctx, client, rest } = deps;
  const system = ctx.systemName;
  if (request.source.entity !== 'order') {
    throw configError(
      `${system}: a 1C-Bitrix site can be read for orders only (sale.order.list), not ${request.source.entity}; fix source ${request.source.name}`,
      { system },
    );
  }
  const base = { updated1c: 'N' };
  const list = async (filter: Row, order: Row): Promise<Row[]> => {
    const page = await client.call<{ orders?: Row[] }>('sale.order.list', {
      select: SELECT,
      filter,
      order,
      start: 0,
    });
    return page.result?.orders ?? [];
  };

  let at: Position | undefined;
  if (!request.full && request.cursor !== undefined) {
    const saved = parseCursor(system, request.cursor);
    at =
      rest.pollOverlapSeconds > 0
        ? { dateUpdate: shiftSiteDate(saved.dateUpdate, -rest.pollOverlapSeconds), id: 0 }
        : saved;
  }
  // 'from': from the position's second on, dropping what is not after the position (one call per
  // page where seconds are sparse); 'second': the rest of a second that fills whole pages;
  // 'after': the seconds after such a second.
  let phase: 'from' | 'second' | 'after' = 'from';
  for (;;) {
    let raw: Row[];
    if (at === undefined) {
      raw = await list(base, { dateUpdate: 'asc', id: 'asc' });
    } else if (phase === 'second') {
      const next = shiftSiteDate(at.dateUpdate, 1);
      raw = await list(
        { ...base, '>=dateUpdate': at.dateUpdate, '<dateUpdate': next, '>id': at.id },
        { id: 'asc' },
      );
    } else {
      const from = phase === 'after' ? shiftSiteDate(at.dateUpdate, 1) : at.dateUpdate;
      raw = await list({ ...base, '>=dateUpdate': from }, { dateUpdate: 'asc', id: 'asc' });
    }
    const full = raw.length >= PAGE;
    const seconds = raw.map((row) => secondOf(system, row));
    const position = at;
    const rows =
      phase === 'from' && position !== undefined
        ? raw.filter((row, i) => isAfter(seconds[i]!, Number(row['id']), position))
        : raw;
    if (rows.length > 0) {
      const last = rows[rows.length - 1]!;
      at = { dateUpdate: String(last['dateUpdate']), id: Number(last['id']) };
      yield await pageOf(deps, rows, at);
    }
    if (!full) {
      // A short page: the rest of a dense second is read, or everything is.
      if (phase !== 'second') return;
      phase = 'after';
    } else if (rows.length === 0 || phase === 'second') {
      // A whole page of one second read already (or reading one): go on by id within it.
      phase = 'second';
    } else {
      phase = 'from';
    }
  }
}

/** The second of a listed order's dateUpdate; the keyset cannot go on past an order without one. */
function secondOf(system: string, row: Row): number {
  const ms = typeof row['dateUpdate'] === 'string' ? Date.parse(row['dateUpdate']) : Number.NaN;
  if (Number.isNaN(ms)) {
    throw permanentError(
      `${system}: sale.order.list gave order ${String(row['id'])} without a readable dateUpdate (${String(row['dateUpdate'])}); the pull cannot go on past it`,
      { system, code: 'NO_DATE_UPDATE' },
    );
  }
  return Math.floor(ms / 1000);
}

/** Whether an order comes after the position in (dateUpdate second, id) order. */
function isAfter(second: number, id: number, at: Position): boolean {
  const atSecond = Math.floor(Date.parse(at.dateUpdate) / 1000);
  return second > atSecond || (second === atSecond && id > at.id);
}

/** One page of listed orders → their full data (one batch of sale.order.get) → items. */
async function pageOf(deps: SiteRest, rows: Row[], position: Position): Promise<SourceBatch> {
  const { client, ctx } = deps;
  const statuses = await deps.statuses.get();
  const ids = rows.map((row) => Number(row['id']));
  const got = await client.batchAll(
    ids.map((id) => ({ key: `o${id}`, method: 'sale.order.get', params: { id } })),
  );
  const orders: SourceItem[] = [];
  const buyers = new Map<string, SourceItem>();
  for (const id of ids) {
    const outcome = got.get(`o${id}`);
    if (!outcome) continue;
    if (!outcome.ok) {
      // Deleted between the list and the get: nothing left to read.
      if (/is not exists|not found/i.test(outcome.error.message)) continue;
      throw outcome.error;
    }
    const order = (outcome.result as { order?: Row } | undefined)?.order;
    if (!order) {
      throw permanentError(`${ctx.systemName}: sale.order.get ${id} answered without an order`, {
        system: ctx.systemName,
        code: 'NO_ORDER',
      });
    }
    orders.push(orderOf(order, statuses, deps.tables));
    const buyer = buyerOf(order);
    if (buyer) buyers.set(buyer.externalId, buyer);
  }
  return {
    items: orders,
    ...(buyers.size > 0 ? { related: [{ entity: 'counterparty', items: [...buyers.values()] }] } : {}),
    cursor: JSON.stringify(position),
  };
}
