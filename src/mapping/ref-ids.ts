import type { EntityRegistry } from '../core/entities/index.ts';
import type { Store } from '../store/store.ts';
import type { HelperDeps, MapContext } from './helpers.ts';

/**
 * $externalId(system, path) for records of `entity`: the id in `system` of the object the
 * reference field `path` points at, read from the links table. Lookup tables are written in the
 * ids people know (1C group GUIDs), while a delivery hands the mapping the target's ids (or, for
 * ignored references, hub ids): this reads the hub id from the record as stored (ctx.hubData).
 */
export function refExternalIdResolver(
  store: Store,
  registry: EntityRegistry,
  entity: string,
): NonNullable<HelperDeps['refExternalId']> {
  const declared = registry.get(entity)?.refs ?? [];
  return async (system: string, path: string, ctx: MapContext) => {
    const generic = path.replace(/\[\d+\]/g, '[]');
    if (!declared.some((ref) => ref.path === generic)) {
      const known = declared.map((ref) => ref.path).join(', ') || 'none';
      throw new Error(
        `$externalId('${system}', '${path}'): "${path}" is not a reference field of ${entity} (its references: ${known})`,
      );
    }
    const data = ctx.hubData?.();
    if (!data) return undefined;
    const ref = registry.refsOf(entity, data).find((r) => r.path === path);
    if (!ref) return undefined;
    const row = await store.db
      .selectFrom('links')
      .select('external_id')
      .where('entity', '=', ref.entity)
      .where('system', '=', system)
      .where('record_id', '=', ref.id)
      .executeTakeFirst();
    return row?.external_id;
  };
}
