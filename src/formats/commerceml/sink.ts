import type { SourceItem } from '../../core/connector.ts';

/** Where converters put what they made of one XML object: items, or per-item errors. */
export interface ItemSink {
  item(entity: string, item: SourceItem, line: number): void;
  /** A bad object: skipped with a Russian message naming the element; parsing goes on. */
  error(entity: string, externalId: string | undefined, message: string, line: number): void;
  /** CommerceML version of the file (ВерсияСхемы), e.g. '2.08' or '3.1'. */
  readonly version: string | undefined;
  /** Properties this file declared as dictionaries (ТипЗначений = Справочник). */
  readonly dictionaryProperties: Set<string>;
}
