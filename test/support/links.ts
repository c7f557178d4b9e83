import type { Store } from '../../src/store/store.ts';

/** The hub id a system's object is linked to; fails the test when there is no such link. */
export async function hubIdOf(
  store: Store,
  entity: string,
  system: string,
  externalId: string,
): Promise<string> {
  const row = await store.db
    .selectFrom('links')
    .select('record_id')
    .where('entity', '=', entity)
    .where('system', '=', system)
    .where('external_id', '=', externalId)
    .executeTakeFirstOrThrow();
  return row.record_id;
}

/** The id a system knows a hub record by; fails the test when there is no such link. */
export async function externalIdOf(
  store: Store,
  entity: string,
  system: string,
  recordId: string,
): Promise<string> {
  const row = await store.db
    .selectFrom('links')
    .select('external_id')
    .where('entity', '=', entity)
    .where('system', '=', system)
    .where('record_id', '=', recordId)
    .executeTakeFirstOrThrow();
  return row.external_id;
}
