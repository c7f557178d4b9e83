import { basename } from 'node:path';
import type { SourceItem } from '../../core/connector.ts';
import {
  convertGroup,
  convertPriceType,
  convertProperty,
  convertUnit,
  convertWarehouse,
} from './convert-classifier.ts';
import { convertContainer, convertDocument } from './convert-document.ts';
import { convertOffer } from './convert-offer.ts';
import { convertProduct } from './convert-product.ts';
import { type ChunkDecoder, createDecoder } from './decode.ts';
import { CmlSyntaxError } from './errors.ts';
import { eachEvent } from './event-batches.ts';
import { IdSet } from './id-set.ts';
import { fileBytes, type ReceivedBytes } from './received-bytes.ts';
import { XmlFault, XmlScanner } from './scanner.ts';
import type { ItemSink } from './sink.ts';
import { appendChild, child, NO_CHILDREN, type XNode } from './tree.ts';
import type { CmlDocumentKind, CmlEvent } from './types.ts';
import { parseBool } from './values.ts';

/** Which exchange object an element starts, judged by its name and its parents' names. */
type ObjectKind =
  | 'group'
  | 'property'
  | 'unit'
  | 'priceType'
  | 'warehouse'
  | 'product'
  | 'offer'
  | 'document'
  | 'container';

const OFFER_PACKAGES = new Set(['ПакетПредложений', 'ИзмененияПакетаПредложений']);
const WAREHOUSE_OWNERS = new Set(['Классификатор', 'ПакетПредложений', 'ИзмененияПакетаПредложений']);

/** The object an element opens, or undefined; `stack` holds the local names of its ancestors. */
function objectKind(name: string, stack: readonly string[]): ObjectKind | undefined {
  const parent = stack[stack.length - 1];
  const grand = stack[stack.length - 2];
  switch (name) {
    case 'Группа':
      return parent === 'Группы' && stack.includes('Классификатор') ? 'group' : undefined;
    case 'Свойство':
      return parent === 'Свойства' && grand === 'Классификатор' ? 'property' : undefined;
    case 'ЕдиницаИзмерения':
      return parent === 'ЕдиницыИзмерения' ? 'unit' : undefined;
    case 'ТипЦены':
      return parent === 'ТипыЦен' ? 'priceType' : undefined;
    case 'Склад':
      return parent === 'Склады' && grand !== undefined && WAREHOUSE_OWNERS.has(grand)
        ? 'warehouse'
        : undefined;
    case 'Товар':
      return parent === 'Товары' && grand === 'Каталог' ? 'product' : undefined;
    case 'Предложение':
      return parent === 'Предложения' && grand !== undefined && OFFER_PACKAGES.has(grand)
        ? 'offer'
        : undefined;
    case 'Документ':
      return stack.length === 1 ? 'document' : undefined;
    case 'Контейнер':
      return stack.length === 1 ? 'container' : undefined;
    default:
      return undefined;
  }
}

// Package header fields read as text: <Каталог><Ид>, <ПакетПредложений><ИдКаталога>, …
const HEADER_FIELDS: Record<string, Record<string, 'catalogId' | 'classifierId' | 'onlyChanges'>> = {
  Каталог: { Ид: 'catalogId', ИдКлассификатора: 'classifierId', СодержитТолькоИзменения: 'onlyChanges' },
  Классификатор: { Ид: 'classifierId', СодержитТолькоИзменения: 'onlyChanges' },
  ПакетПредложений: {
    ИдКаталога: 'catalogId',
    ИдКлассификатора: 'classifierId',
    СодержитТолькоИзменения: 'onlyChanges',
  },
  ИзмененияПакетаПредложений: { ИдКаталога: 'catalogId', ИдКлассификатора: 'classifierId' },
};

function localName(name: string): string {
  const colon = name.indexOf(':');
  return colon < 0 ? name : name.slice(colon + 1);
}

/** Names the kind of an offers package: by the file name 1C gives it, else by the first offer. */
function offersKind(file: string, firstOffer: XNode | undefined): CmlDocumentKind {
  const name = file.toLowerCase();
  if (/(^|[\\/_])prices/.test(name)) return 'prices';
  if (/(^|[\\/_])rests/.test(name)) return 'rests';
  if (firstOffer === undefined || child(firstOffer, 'Наименование') !== undefined) return 'offers';
  const prices = child(firstOffer, 'Цены') !== undefined;
  const rests = ['Остатки', 'Количество', 'Склад'].some((n) => child(firstOffer, n) !== undefined);
  if (prices && !rests) return 'prices';
  if (rests && !prices) return 'rests';
  return 'offers';
}

/**
 * Streams a CommerceML file (constant memory whatever its size): only one exchange object is
 * held as a tree at a time. Encoding from BOM / XML declaration, any namespace (elements are
 * matched by local name), versions 2.03–2.10 and 3.1. Malformed or truncated XML throws a
 * CmlSyntaxError after the items read before the fault were yielded.
 */
export function parseCommerceMl(path: string, options: CmlParseOptions = {}): AsyncIterable<CmlEvent> {
  return eachEvent(parseCommerceMlBatches(path, options));
}

export interface CmlParseOptions {
  signal?: AbortSignal;
  fileLabel?: string;
  /** The file is still arriving: parse what was received, then wait for the rest. */
  received?: ReceivedBytes;
}

/**
 * parseCommerceMl's events as the parser has them: the events of each piece of the file read,
 * in one array (never empty). A big catalog is half a million events; taking them one await at
 * a time cost a promise and an iterator result each, on both threads of an import.
 */
export async function* parseCommerceMlBatches(
  path: string,
  options: CmlParseOptions = {},
): AsyncIterable<CmlEvent[]> {
  const file = options.fileLabel ?? basename(path);
  const queue: CmlEvent[] = [];
  const stack: string[] = [];
  const seen = new Map<string, IdSet>();

  let version: string | undefined;
  let onlyChanges = false;
  const header: { catalogId?: string; classifierId?: string } = {};
  let headerField: 'catalogId' | 'classifierId' | 'onlyChanges' | undefined;
  let headerText = '';
  const sections = new Set<string>();
  let packageEvent: Extract<CmlEvent, { kind: 'package' }> | undefined;
  let firstOffer: XNode | undefined;

  // The package event comes first; until its kind is known, items wait in the queue behind it.
  const emitPackage = (): void => {
    if (packageEvent !== undefined) return;
    let documentKind: CmlDocumentKind = 'unknown';
    if (sections.has('Документ') || sections.has('Контейнер')) documentKind = 'orders';
    else if ([...OFFER_PACKAGES].some((s) => sections.has(s))) documentKind = offersKind(file, firstOffer);
    else if (sections.has('Каталог') || sections.has('Классификатор')) documentKind = 'import';
    packageEvent = { kind: 'package', file, version, onlyChanges, documentKind };
    if (header.catalogId !== undefined) packageEvent.catalogId = header.catalogId;
    if (header.classifierId !== undefined) packageEvent.classifierId = header.classifierId;
    queue.unshift(packageEvent);
  };
  const inOffersPackage = (): boolean => [...OFFER_PACKAGES].some((s) => sections.has(s));
  // The package event waits (and items queue behind it) while its facts may still come: an
  // offers package until its first offer names its kind, a classifier until the Каталог header
  // after it gives the catalog Ид. Both waits hold at most a classifier, never the goods.
  const packagePending = (): boolean => inOffersPackage() || stack[1] === 'Классификатор';

  const sink: ItemSink = {
    get version() {
      return version;
    },
    dictionaryProperties: new Set<string>(),
    item(entity: string, item: SourceItem, line: number) {
      // A buyer recurs in every order of theirs: that is not a duplicate, it is the same person.
      if (entity === 'counterparty') {
        if (packageEvent === undefined) emitPackage();
        queue.push({ kind: 'item', entity, item, line });
        return;
      }
      let ids = seen.get(entity);
      if (ids === undefined) {
        ids = new IdSet();
        seen.set(entity, ids);
      }
      if (!ids.add(item.externalId)) {
        sink.error(
          entity,
          item.externalId,
          `Повторный <Ид> ${item.externalId}: объект с этим Ид уже был выше в файле ${file}, этот пропущен`,
          line,
        );
        return;
      }
      if (packageEvent === undefined && !packagePending()) emitPackage();
      queue.push({ kind: 'item', entity, item, line });
    },
    error(entity: string, externalId: string | undefined, message: string, line: number) {
      if (packageEvent === undefined && !packagePending()) emitPackage();
      const event: CmlEvent = { kind: 'itemError', entity, message, line };
      if (externalId !== undefined) event.externalId = externalId;
      queue.push(event);
    },
  };

  // The object being collected: its nodes from the object element down to the open element.
  let nodes: XNode[] = [];
  let collecting: ObjectKind | undefined;
  // Enclosing groups (the hierarchy is nesting): the stack depth of each Группа and its Ид.
  const groups: Array<{ depth: number; id: string | undefined }> = [];

  const finishObject = (node: XNode): void => {
    switch (collecting) {
      case 'group':
        convertGroup(node, groups.at(-1)?.id, sink);
        break;
      case 'property':
        convertProperty(node, sink);
        break;
      case 'unit':
        convertUnit(node, sink);
        break;
      case 'priceType':
        convertPriceType(node, sink);
        break;
      case 'warehouse':
        convertWarehouse(node, sink);
        break;
      case 'product':
        convertProduct(node, sink);
        break;
      case 'offer':
        if (firstOffer === undefined) {
          firstOffer = node;
          emitPackage();
        }
        convertOffer(node, sink);
        break;
      case 'document':
        convertDocument(node, sink);
        break;
      case 'container':
        convertContainer(node, sink);
        break;
    }
    collecting = undefined;
    nodes = [];
  };

  const scanner = new XmlScanner({
    open(rawName, rawAttrs) {
      const name = localName(rawName);
      if (collecting !== undefined) {
        const parent = nodes[nodes.length - 1]!;
        // A group's subgroups are objects of their own: the group is complete once they start.
        if (collecting === 'group' && name === 'Группы' && nodes.length === 1) {
          const parentId = groups.at(-1)?.id;
          collecting = undefined;
          nodes = [];
          // Popped when this Группа closes (at the same stack depth), so siblings get the right parent.
          groups.push({ depth: stack.length, id: convertGroup(parent, parentId, sink) });
        } else {
          const node: XNode = {
            name,
            attrs: attributes(rawAttrs),
            children: NO_CHILDREN,
            text: '',
            line: scanner.line,
          };
          appendChild(parent, node);
          nodes.push(node);
        }
        stack.push(name);
        return;
      }
      if (stack.length === 1) sections.add(name);
      const kind = objectKind(name, stack);
      if (kind !== undefined) {
        collecting = kind;
        nodes = [{ name, attrs: attributes(rawAttrs), children: NO_CHILDREN, text: '', line: scanner.line }];
      } else if (stack.length === 0) {
        version = rawAttrs?.['ВерсияСхемы'];
      } else if (stack.length === 1) {
        if (parseBool(rawAttrs?.['СодержитТолькоИзменения']) === true) onlyChanges = true;
      } else if (stack.length === 2) {
        headerField = HEADER_FIELDS[stack[1]!]?.[name];
        headerText = '';
      }
      stack.push(name);
    },
    text(value) {
      if (collecting !== undefined) nodes[nodes.length - 1]!.text += value;
      else if (headerField !== undefined) headerText += value;
    },
    close() {
      const depth = stack.length;
      stack.pop();
      if (collecting !== undefined) {
        const node = nodes.pop()!;
        if (nodes.length === 0) finishObject(node);
        return;
      }
      if (groups.length > 0 && groups[groups.length - 1]!.depth === depth) groups.pop();
      if (headerField !== undefined && depth === 3) {
        const value = headerText.trim();
        if (headerField === 'onlyChanges') onlyChanges ||= parseBool(value) === true;
        else if (value !== '') header[headerField] ??= value;
        headerField = undefined;
      }
      // An offers package without offers (1C sends such headers with a classifier after them).
      if (depth === 2 && packageEvent === undefined && inOffersPackage()) emitPackage();
    },
  });
  const syntaxError = (fault: XmlFault): CmlSyntaxError => {
    const element = scanner.openElements.at(-1);
    const where = element === undefined ? '' : `, элемент <${localName(element)}>`;
    return new CmlSyntaxError(
      file,
      fault.line,
      fault.column,
      `Ошибка XML в файле ${file}, строка ${fault.line}, столбец ${fault.column}${where}: ${fault.message}`,
      { cause: fault },
    );
  };

  // Leaving the loop early (a fault, an abort, a consumer that stops) closes the file.
  const input = fileBytes(path, options.received, options.signal);
  let decoder: ChunkDecoder | undefined;
  let fault: unknown;
  const decodeFault = (cause: unknown): CmlSyntaxError =>
    new CmlSyntaxError(
      file,
      scanner.line,
      0,
      `Ошибка кодировки в файле ${file}, около строки ${scanner.line}: байты не соответствуют кодировке ${decoder?.encoding ?? 'UTF-8'}, указанной в заголовке XML; сохраните файл в UTF-8 или укажите encoding="windows-1251"`,
      { cause },
    );
  for await (const chunk of input) {
    if (options.signal?.aborted) throw options.signal.reason ?? new Error('aborted');
    let bytes = chunk;
    if (decoder === undefined) {
      const created = createDecoder(chunk);
      decoder = created.decoder;
      bytes = chunk.subarray(created.skip);
    }
    // UTF-8 goes to the scanner as bytes; windows-1251 is decoded first (decode.ts).
    let textChunk: string | undefined;
    try {
      if (decoder.encoding === 'windows-1251') textChunk = decoder.write(bytes);
    } catch (cause) {
      fault = decodeFault(cause);
      break;
    }
    try {
      if (textChunk === undefined) scanner.writeUtf8(bytes);
      else scanner.write(textChunk);
    } catch (error) {
      fault = error instanceof XmlFault ? syntaxError(error) : error;
      break;
    }
    if (packageEvent !== undefined && queue.length > 0) yield queue.splice(0);
  }
  if (fault === undefined) {
    try {
      const rest = decoder?.encoding === 'windows-1251' ? decoder.end() : '';
      if (rest !== '') scanner.write(rest);
      scanner.end();
    } catch (error) {
      fault = error instanceof XmlFault ? syntaxError(error) : decodeFault(error);
    }
  }
  emitPackage();
  if (queue.length > 0) yield queue.splice(0);
  if (fault !== undefined) throw fault;
}

function attributes(raw: Record<string, string> | undefined): Record<string, string> | undefined {
  if (raw === undefined) return undefined;
  let out: Record<string, string> | undefined;
  for (const [key, value] of Object.entries(raw)) {
    if (key === 'xmlns' || key.startsWith('xmlns:')) continue;
    out ??= {};
    out[localName(key)] = value;
  }
  return out;
}
