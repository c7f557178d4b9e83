import type { Clock } from '../../core/clock.ts';
import type { Bitrix24Client } from '../bitrix24/client.ts';

/**
 * The site's order statuses (sale.status.list, type O) with their names (sale.statusLang.list),
 * and the two translations between them and the canonical `order.status`:
 *  - reading: `[N] Принят, ожидается оплата`, exactly how the site's own exchange export writes
 *    "Статус заказа", so an order reads the same through REST and through the exchange;
 *  - writing: the id in brackets, an id of the site, or a status name of the site → the id.
 */

export interface SiteStatusDirectory {
  /** Order status id → its name in the configured language (undefined when it has none). */
  names: Map<string, string | undefined>;
}

/** Statuses rarely change; a few minutes of staleness costs nothing, a call per page would. */
const TTL_MS = 5 * 60_000;

type Row = Record<string, unknown>;

export class SiteStatuses {
  private cached: { at: number; directory: Promise<SiteStatusDirectory> } | undefined;

  constructor(
    private readonly client: Bitrix24Client,
    private readonly language: string,
    private readonly clock: Clock,
  ) {}

  get(): Promise<SiteStatusDirectory> {
    const now = this.clock.now();
    if (this.cached && now - this.cached.at < TTL_MS) return this.cached.directory;
    const directory = this.load();
    this.cached = { at: now, directory };
    directory.catch(() => {
      if (this.cached?.directory === directory) this.cached = undefined;
    });
    return directory;
  }

  private async load(): Promise<SiteStatusDirectory> {
    const statuses = await this.client.listAll(
      'sale.status.list',
      { select: ['id', 'type'], filter: { type: 'O' }, order: { sort: 'asc' } },
      (result) => ((result as { statuses?: Row[] } | undefined)?.statuses ?? []) as Row[],
    );
    const langs = await this.client.listAll(
      'sale.statusLang.list',
      { select: ['statusId', 'name'], filter: { lid: this.language } },
      (result) => ((result as { statusLangs?: Row[] } | undefined)?.statusLangs ?? []) as Row[],
    );
    const nameOf = new Map(langs.map((l) => [String(l['statusId']), String(l['name'] ?? '') || undefined]));
    return { names: new Map(statuses.map((s) => [String(s['id']), nameOf.get(String(s['id']))])) };
  }
}

/** The canonical status of an order in status `id`: `[id] name`, or the id when it has no name. */
export function statusLabel(id: string, directory: SiteStatusDirectory): string {
  const name = directory.names.get(id);
  return name ? `[${id}] ${name}` : id;
}

/** Status ids are at most two characters (b_sale_status.ID is char(2)). */
const STATUS_ID = /^[A-Za-z0-9]{1,2}$/;

/**
 * The site status id a canonical status means, or why there is none. Accepts `[F] Выполнен`
 * (what sites and 1C write), a bare id, or a status name of the site (any case).
 */
export function statusIdFor(
  status: string,
  directory: SiteStatusDirectory,
): { id: string } | { problem: string } {
  const value = status.trim();
  const bracket = /^\[([^\]]+)\]/.exec(value)?.[1]?.trim() ?? (STATUS_ID.test(value) ? value : undefined);
  if (bracket !== undefined) {
    if (directory.names.has(bracket)) return { id: bracket };
    return {
      problem: `the site has no order status "${bracket}" (its order statuses: ${known(directory)})`,
    };
  }
  const lower = value.toLowerCase();
  for (const [id, name] of directory.names) if (name?.toLowerCase() === lower) return { id };
  return {
    problem: `order status "${value}" is neither a status id of the site nor one of its status names (its order statuses: ${known(directory)})`,
  };
}

function known(directory: SiteStatusDirectory): string {
  const list = [...directory.names].map(([id, name]) => (name ? `${id} (${name})` : id));
  return list.length > 0 ? list.join(', ') : 'none (sale.status.list is empty)';
}
