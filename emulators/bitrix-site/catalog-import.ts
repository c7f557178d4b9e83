import { ExchangeFailure } from '../../src/exchange/commerceml/index.ts';
import { parseCommerceMl } from '../../src/formats/commerceml/index.ts';
import { importProperty, productPropertyValues } from './properties.ts';
import type { SiteState } from './state.ts';

/**
 * The emulated `catalog.import.1c`: reads one uploaded file and applies it to the site's state
 * like Bitrix's step machine does — sections and properties (properties.ts), then elements, then offers with prices and stock —
 * a portion per step, reporting "Обработано N элементов" as `progress` while it works.
 */

export interface CatalogImportOptions {
  /** Elements handled per step before the import pauses (Bitrix: as many as fit in INTERVAL). */
  elementsPerStep: number;
  /** Pause between steps, ms; with the exchange's import step time it decides how many `progress` replies 1C sees. */
  stepDelayMs: number;
  /** ELEMENT_ACTION for elements missing from a full import: N nothing, A deactivate, D delete (Bitrix default). */
  elementAction: 'N' | 'A' | 'D';
  /** Fault injection: every import answers `failure` with this text. */
  failImport?: string | undefined;
}

/** A string field of a parsed item, or undefined. */
const str = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function importCatalogFile(
  state: SiteState,
  path: string,
  filename: string,
  options: CatalogImportOptions,
  report: (text: string) => void,
  signal: AbortSignal,
): Promise<string> {
  if (options.failImport) throw new ExchangeFailure(options.failImport);
  const now = Math.floor(Date.now() / 1000);
  state.importStartedAt = now;
  let done = 0;
  let fullImport = false;
  const seenProducts = new Set<string>();
  for await (const event of parseCommerceMl(path, { signal, fileLabel: filename })) {
    if (event.kind === 'package') {
      fullImport = event.documentKind === 'import' && !event.onlyChanges;
      continue;
    }
    if (event.kind === 'itemError') {
      throw new ExchangeFailure(`Ошибка импорта ${filename} (строка ${event.line}): ${event.message}`);
    }
    const { item } = event;
    const data = item.data as Record<string, unknown>;
    const deleted = item.deleted === true || data.deleted === true;
    switch (event.entity) {
      case 'product_group':
        state.sections.set(item.externalId, {
          xmlId: item.externalId,
          name: String(data.name),
          parentXmlId: str(data.parentId),
          active: !deleted,
          timestampX: now,
        });
        break;
      case 'property':
        importProperty(state, item.externalId, data, deleted);
        break;
      case 'price_type':
        state.priceTypes.set(item.externalId, {
          xmlId: item.externalId,
          name: String(data.name),
          currency: str(data.currency),
        });
        break;
      case 'warehouse':
        state.stores.set(item.externalId, { xmlId: item.externalId, name: String(data.name) });
        break;
      case 'product': {
        // Bitrix's own message when a unit arrives without its OKEI code (ImportMetaData).
        const unit = data.baseUnit as { code?: string } | undefined;
        if (unit !== undefined && !(unit.code ?? '').trim()) {
          throw new ExchangeFailure(
            'Ошибка импорта метаданных. Ошибка добавления новой единицы измерения (код единицы: )',
          );
        }
        const section = str(data.groupId);
        if (section !== undefined && !state.sections.has(section)) {
          throw new ExchangeFailure(
            `Ошибка импорта элемента ${item.externalId}: раздел с XML_ID ${section} не найден`,
          );
        }
        seenProducts.add(item.externalId);
        // Fields the feed does not carry (written over REST) stay, as Bitrix keeps them.
        const kept = state.products.get(item.externalId)?.fields;
        state.products.set(item.externalId, {
          ...(kept ? { fields: kept } : {}),
          xmlId: item.externalId,
          name: String(data.name),
          article: str(data.article),
          sectionXmlId: section,
          description: str(data.description),
          parentXmlId: str(data.parentProductId),
          active: !deleted,
          timestampX: now,
          // 2.x describes the unit in place; 3.1 names a unit of the classifier by its Ид.
          measureCode: unit?.code ?? str(data.baseUnitId),
          properties: productPropertyValues(
            state,
            data.properties,
            state.products.get(item.externalId)?.properties,
          ),
        });
        break;
      }
      case 'price': {
        if (!state.priceTypes.has(String(data.priceTypeId))) {
          throw new ExchangeFailure(
            `Ошибка импорта цен: тип цены с XML_ID ${String(data.priceTypeId)} не найден (выгрузите типы цен)`,
          );
        }
        const offer = state.offer(String(data.productId));
        offer.prices[String(data.priceTypeId)] = { value: Number(data.value), currency: str(data.currency) };
        break;
      }
      case 'stock': {
        const offer = state.offer(String(data.productId));
        if (data.warehouseId === undefined) offer.quantity = Number(data.quantity);
        else offer.stores[String(data.warehouseId)] = Number(data.quantity);
        break;
      }
      default:
        break;
    }
    done++;
    state.stats.elementsWritten++;
    if (done % options.elementsPerStep === 0) {
      report(`Обработано ${done} элементов (${filename})`);
      if (options.stepDelayMs > 0) await sleep(options.stepDelayMs);
      if (signal.aborted) throw new ExchangeFailure('Импорт прерван: начат новый обмен');
    }
  }
  if (fullImport && options.elementAction !== 'N') {
    for (const product of [...state.products.values()]) {
      if (seenProducts.has(product.xmlId) || product.parentXmlId !== undefined) continue;
      if (options.elementAction === 'D') state.products.delete(product.xmlId);
      else product.active = false;
    }
  }
  state.stats.imports++;
  return `Импорт файла ${filename} завершен. Обработано элементов: ${done}`;
}

/** `mode=deactivate`: elements not touched since checkauth's timestamp get ACTIVE=N. */
export function deactivateUntouched(state: SiteState, timestamp: number): string {
  if (state.importStartedAt < timestamp) return 'Деактивация не выполнялась: импорт не запускался';
  let count = 0;
  for (const product of state.products.values()) {
    if (product.active && product.timestampX < timestamp) {
      product.active = false;
      count++;
    }
  }
  return `Деактивировано элементов: ${count}`;
}
