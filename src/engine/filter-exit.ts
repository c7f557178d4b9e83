import type { ObmenConfig, RouteConfig } from '../config/schema.ts';
import type { TargetDefaults } from '../core/connector.ts';
import { contentHash } from '../core/hash.ts';
import type { Db } from '../store/store.ts';
import { chunk } from './chunks.ts';
import type { RowOutcome } from './outbox.ts';

/**
 * What a route does with a record its filter judged. The filter decides what the target should
 * hold, not only what is sent: a record the target holds (it has a link there) that stops
 * passing is written as deleted — a Bitrix24 product gets ACTIVE=N, a site element is
 * deactivated — unless the route says `filterExit: keep`; once it passes again the normal write
 * re-activates it. A record the target never got makes no write while it fails the filter, not
 * even its deletion.
 */
export type FilterStep =
  /** Passes: written as it is. */
  | { kind: 'send' }
  /** Left out, and the target holds nothing to take back (or the route keeps it): no write. */
  | { kind: 'skip' }
  /** Left the filter while the target holds it: written as deleted, with this content hash. */
  | { kind: 'deactivate'; hash: string };

/**
 * What a route does with a record the target holds when it stops passing the filter:
 * `deactivate` writes it as deleted; otherwise it is kept there, because the route says so
 * (`keep`), the connector cannot write a deletion of the entity (`no-deletion`), or the target is
 * itself a source of the entity (`own-objects`). In the last case the objects obmen finds linked
 * there are the system's own — read from it or matched to it — and the filter only says what
 * obmen sends: a create-only route to 1C (`$not($exists($externalId('ut')))`) would otherwise put
 * a deletion mark on every counterparty of 1C's that a CRM company was matched to, and the
 * source would read the mark back as a deletion of the record in every system.
 */
export type FilterExit = 'deactivate' | 'keep' | 'no-deletion' | 'own-objects';

export function filterExitOf(
  config: Pick<ObmenConfig, 'sources'>,
  route: Pick<RouteConfig, 'entity' | 'target' | 'filterExit'>,
  defaults: Pick<TargetDefaults, 'deactivates'> | undefined,
): FilterExit {
  if (route.filterExit === 'keep') return 'keep';
  if (defaults?.deactivates === false) return 'no-deletion';
  if (config.sources.some((s) => s.system === route.target && s.entity === route.entity))
    return 'own-objects';
  return 'deactivate';
}

export interface FilterJudgement {
  passes: boolean;
  /** The record itself is deleted in the hub. */
  deleted: boolean;
  /** The record's link in the target, when it has one: the target holds it. */
  link: { lastHash: string | null } | undefined;
  /** What the route does when a record the target holds stops passing (filterExitOf). */
  exit: FilterExit;
  /** The record's stored canonical JSON (records.data), for the exit hash. */
  json: string;
}

export function filterStep(j: FilterJudgement): FilterStep {
  if (j.passes) return { kind: 'send' };
  if (!j.link) return { kind: 'skip' };
  // The object is gone in the source and the target still holds it: the deletion always goes.
  if (j.deleted) return { kind: 'send' };
  if (j.exit !== 'deactivate') return { kind: 'skip' };
  const hash = exitHash(j.json);
  // The target already holds this content deactivated (the link keeps what it holds).
  if (j.link.lastHash === hash) return { kind: 'skip' };
  return { kind: 'deactivate', hash };
}

/**
 * The hash of what the target holds after a filter exit: the record's content, deleted. It is
 * the hash a deletion of the same content gets at ingest, so deleting the record later in the
 * source writes nothing more.
 */
export function exitHash(json: string): string {
  return contentHash(json, true);
}

/** How soon a row waiting for a record its route's filter leaves out is checked again. */
export const LEFT_OUT_RECHECK_MS = 60 * 60_000;

/**
 * Rows waiting only for objects their own route's filter left out of the target (a price of a
 * product the site does not get): the wait is named for what it is, and rechecked hourly instead
 * of every half minute. They still go as soon as the object is delivered there (the new link
 * wakes them). A dependency is left out when its row on its route completed without a link.
 */
export async function explainLeftOutWaits(
  db: Db,
  target: string,
  rows: RowOutcome[],
  dependencies: ReadonlyArray<{ route: string; recordId: string; entity: string }>,
  now: number,
): Promise<void> {
  const waiting = rows.filter((row) => row.kind === 'waiting');
  if (waiting.length === 0 || dependencies.length === 0) return;
  const routeOf = new Map(dependencies.map((d) => [`${d.entity}:${d.recordId}`, d.route]));
  const leftOut = new Set<string>();
  for (const route of new Set(dependencies.map((d) => d.route))) {
    const ids = [...new Set(dependencies.filter((d) => d.route === route).map((d) => d.recordId))];
    for (const part of chunk(ids, 500)) {
      const done = await db
        .selectFrom('outbox')
        .select(['entity', 'record_id'])
        .where('route', '=', route)
        .where('state', '=', 'delivered')
        .where('record_id', 'in', part)
        .execute();
      for (const row of done) leftOut.add(`${row.entity}:${row.record_id}`);
    }
  }
  for (const row of waiting) {
    if (!row.waitingFor.every((key) => leftOut.has(key))) continue;
    const what = row.waitingFor
      .map((key) => `${key.replace(':', ' ')} (route ${routeOf.get(key) ?? '?'})`)
      .join(', ');
    row.message = `waiting: the route's filter leaves ${what} out of ${target}; this goes as soon as that is delivered there`;
    row.recheckAt = now + LEFT_OUT_RECHECK_MS;
  }
}
