import type { BitrixSiteOptions } from './spec.ts';

/**
 * Order statuses of a 1C-Bitrix shop (b_sale_status: N «Принят, ожидается оплата», P «Оплачен,
 * формируется к отправке», F «Выполнен»; cancellation is a flag of its own, CANCELED) and the
 * hub's statuses, both ways. The defaults follow seed 004 (Отгружен → «Выполнен»);
 * `options.statusMap` and `options.siteStatusMap` override them entry by entry, for shops with
 * statuses of their own.
 */

/** The hub's order status → the site's STATUS_ID. Cancelled has none: the CANCELED flag says it. */
export const DEFAULT_SITE_STATUSES: Readonly<Record<string, string>> = {
  new: 'N',
  confirmed: 'N',
  paid: 'P',
  shipped: 'F',
  completed: 'F',
};

/** The site's STATUS_ID → the hub's order status, for orders read from the site. */
export const DEFAULT_STATUSES_FROM_SITE: Readonly<Record<string, string>> = {
  N: 'new',
  P: 'paid',
  F: 'completed',
};

/** options.statusMap and options.siteStatusMap: the user's entries over the defaults. */
export type StatusTables = Pick<BitrixSiteOptions, 'statusMap' | 'siteStatusMap'>;
type Maps = StatusTables;

/** "[N] Принят, ожидается оплата" (what the site exports) or "N" → "N". */
export function siteStatusId(value: string): string {
  const bracket = /^\s*\[([^\]]+)\]/.exec(value);
  return (bracket ? bracket[1]! : value).trim();
}

/** The site's status (as exported) → the hub's; a status the tables do not know passes unchanged. */
export function statusFromSite(options: Maps, value: string): string {
  const id = siteStatusId(value);
  return options.siteStatusMap[id] ?? DEFAULT_STATUSES_FROM_SITE[id] ?? value;
}

/** The hub's status → the site's STATUS_ID; undefined leaves the site's status as it is. */
export function statusForSite(options: Maps, status: string | undefined): string | undefined {
  if (status === undefined) return undefined;
  return (
    options.statusMap[status] ??
    DEFAULT_SITE_STATUSES[status] ??
    (status === 'cancelled' ? undefined : status)
  );
}
