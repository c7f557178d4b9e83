import { listHolds } from '../../matching/holds.ts';
import type { Store } from '../../store/store.ts';
import type { HoldInfo } from './types.ts';

/** Open holds from the matching module's table, as the hold alert rule reads them. */
export function holdsFromStore(store: Store, limit = 1000): () => Promise<HoldInfo[]> {
  return async () => {
    const { items } = await listHolds(store, { state: 'open', limit });
    return items.map((h) => ({
      id: h.id,
      entity: h.entity,
      recordId: h.recordId ?? h.externalId,
      route: h.route,
      system: h.system,
      reason: h.message,
    }));
  };
}
