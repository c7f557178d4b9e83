/** CommerceML 2.03–2.10 / 3.1: streaming parser into canonical records, and writers (docs/formats/commerceml.md). */
export { CmlSyntaxError } from './errors.ts';
export { asBatches } from './event-batches.ts';
export {
  type GenerateCatalogOptions,
  type GeneratedFile,
  generateCatalog,
  generatedId,
  generateOffers,
} from './generate.ts';
export {
  type ParseInWorkerOptions,
  parseCommerceMlBatchesInWorker,
  parseCommerceMlInWorker,
} from './parse-in-worker.ts';
export { parseCommerceMl, parseCommerceMlBatches } from './parser.ts';
export type {
  CanonicalOrderForCml,
  CatalogXmlInput,
  CatalogXmlOptions,
  CmlDocumentKind,
  CmlEvent,
  CmlRecord,
  OrdersXmlOptions,
} from './types.ts';
export { writeCatalogXml } from './write-catalog.ts';
export { writeOrdersXml } from './write-orders.ts';
