import { chunk } from '../engine/chunks.ts';
import type { Db } from '../store/store.ts';
import { matchKeysOf } from './rules.ts';

/** One object whose match keys are (re)built; `data` undefined or `deleted` removes its keys. */
export interface IndexItem {
  recordId: string;
  data: Record<string, unknown> | undefined;
  deleted?: boolean;
}

// A statement carries 4 parameters per key; keep well below every dialect's limit.
const KEYS_PER_INSERT = 2000;
const IDS_PER_DELETE = 1000;

/**
 * Replaces the match keys of a batch of objects of one entity, in the caller's transaction
 * (the lead calls it from ingest right after the records are written, so keys never lag the
 * data they describe). Deleted objects lose their keys: nothing should match a deleted object.
 */
export async function indexMatchKeysBatch(
  trx: Db,
  entity: string,
  items: readonly IndexItem[],
): Promise<number> {
  if (items.length === 0) return 0;
  for (const part of chunk(items, IDS_PER_DELETE)) {
    await trx
      .deleteFrom('match_keys')
      .where('entity', '=', entity)
      .where(
        'record_id',
        'in',
        part.map((item) => item.recordId),
      )
      .execute();
  }
  const rows: Array<{ entity: string; rule: string; key: string; record_id: string }> = [];
  for (const item of items) {
    if (item.deleted || !item.data) continue;
    for (const { rule, key } of matchKeysOf(entity, item.data)) {
      rows.push({ entity, rule, key, record_id: item.recordId });
    }
  }
  for (const part of chunk(rows, KEYS_PER_INSERT)) {
    await trx
      .insertInto('match_keys')
      .values(part)
      .onConflict((oc) => oc.doNothing())
      .execute();
  }
  return rows.length;
}

/** Replaces one object's match keys; see indexMatchKeysBatch. */
export async function indexMatchKeys(
  trx: Db,
  entity: string,
  recordId: string,
  data: Record<string, unknown> | undefined,
  options: { deleted?: boolean } = {},
): Promise<number> {
  return indexMatchKeysBatch(trx, entity, [{ recordId, data, deleted: options.deleted ?? false }]);
}
