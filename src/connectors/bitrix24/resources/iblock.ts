import { configError } from '../../../core/errors.ts';
import type { Bitrix24Client } from '../client.ts';

/**
 * The goods catalog's iblockId, looked up once per connector: the configured one, else the first
 * trade catalog `catalog.catalog.list` shows that is not an offers (SKU) iblock — an offers iblock
 * names its products' iblock in `productIblockId`. A failed lookup is tried again next time.
 * Bitrix24 portals and 1C-Bitrix sites (the same catalog module) find it the same way.
 */
export function catalogIblock(
  client: Bitrix24Client,
  system: string,
  configured: number | undefined,
  /** The setting that names it, for the message when there is none: `systems.x.options.iblockId`. */
  setting: string,
): () => Promise<number> {
  let iblock: Promise<number> | undefined;
  return () => {
    if (configured) return Promise.resolve(configured);
    iblock ??= client
      .call<{ catalogs?: Array<{ id: number; productIblockId?: number | null }> }>('catalog.catalog.list')
      .then((r) => {
        const id = r.result.catalogs?.find((c) => !c.productIblockId)?.id;
        if (!id)
          throw configError(
            `${system}: there is no product catalog (catalog.catalog.list shows none); set ${setting}`,
            { system, code: 'NO_CATALOG' },
          );
        return id;
      });
    iblock.catch(() => {
      iblock = undefined;
    });
    return iblock;
  };
}
