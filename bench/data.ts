import type { SourceItem } from '../src/core/connector.ts';

/**
 * Deterministic products as 1C would send them: the same index always gives the same content,
 * so a second pass is an unchanged re-send. No groupId: a reference to a group that no route
 * delivers would park every product on delivery and measure the failure path instead.
 */
export function productItem(index: number, idPrefix = ''): SourceItem {
  const code = String(index).padStart(8, '0');
  return {
    externalId: `${idPrefix}00000000-0000-0000-0000-${code.padStart(12, '0')}`,
    data: {
      name: `Товар ${code} — дрель аккумуляторная`,
      article: `ART-${code}`,
      barcodes: [`46${code}001`, `46${code}002`],
      vatRate: 20,
      baseUnit: { code: '796', name: 'шт' },
      attributes: { color: index % 2 === 0 ? 'красный' : 'синий', size: String(index % 50) },
    },
  };
}

/**
 * Batches are generated lazily, as a source would page them, so their memory is not held.
 * `idPrefix` gives another system's ids to the same products.
 */
export function* productBatches(total: number, batchSize: number, idPrefix = ''): Generator<SourceItem[]> {
  for (let start = 0; start < total; start += batchSize) {
    const end = Math.min(total, start + batchSize);
    const batch: SourceItem[] = [];
    for (let index = start; index < end; index++) batch.push(productItem(index, idPrefix));
    yield batch;
  }
}
