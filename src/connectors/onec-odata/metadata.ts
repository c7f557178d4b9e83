import { SaxesParser, type SaxesTagPlain } from 'saxes';

/**
 * Streaming reader of 1C's $metadata (EDMX, OData v3). Real ones are 15–17 MB with ~4,000
 * entity types (P4, HCB snapshots): the document is fed in chunks to a SAX parser and only
 * names and types are kept, never a DOM.
 */

export interface OnecField {
  name: string;
  /** Edm type, or `Collection(StandardODATA.X_RowType)` for a tabular section. */
  type: string;
}

export interface OnecEntitySetInfo {
  /** The set as used in URLs: `Catalog_Номенклатура`, or `InformationRegister_X_RecordType/SliceLast`. */
  name: string;
  kind: 'entity-set' | 'virtual-table';
  fields: OnecField[];
  /** Fields of each tabular section, by section name (`Товары` → [Номенклатура_Key, …]). */
  tabularSections: Record<string, OnecField[]>;
}

const NS = 'StandardODATA.';
const unqualify = (type: string) => (type.startsWith(NS) ? type.slice(NS.length) : type);
const local = (tag: string) => tag.slice(tag.indexOf(':') + 1);

/** Collects types, sets and bound functions while the document streams by. */
export class MetadataReader {
  private readonly parser = new SaxesParser({ xmlns: false });
  private readonly types = new Map<string, OnecField[]>();
  private readonly sets = new Map<string, string>();
  private readonly functions: Array<{ name: string; boundTo: string; returns: string }> = [];
  /** Entity types, as opposed to complex (row and virtual-table result) types. */
  private readonly entityTypes = new Set<string>();
  private readonly decoder = new TextDecoder();
  private current: OnecField[] | undefined;
  private fn: { name: string; returns: string; boundTo?: string } | undefined;

  constructor() {
    this.parser.on('opentag', (node) => this.open(node as SaxesTagPlain));
    this.parser.on('closetag', (node) => this.close(node as SaxesTagPlain));
  }

  write(chunk: string | Uint8Array): void {
    this.parser.write(typeof chunk === 'string' ? chunk : this.decoder.decode(chunk, { stream: true }));
  }

  private open(node: SaxesTagPlain): void {
    const tag = local(node.name);
    const attr = node.attributes as Record<string, string>;
    if (tag === 'EntityType' || tag === 'ComplexType') {
      this.current = [];
      this.types.set(attr['Name'] ?? '', this.current);
      if (tag === 'EntityType') this.entityTypes.add(attr['Name'] ?? '');
    } else if (tag === 'Property' && this.current) {
      this.current.push({ name: attr['Name'] ?? '', type: attr['Type'] ?? '' });
    } else if (tag === 'EntitySet') {
      this.sets.set(attr['Name'] ?? '', unqualify(attr['EntityType'] ?? ''));
    } else if (tag === 'FunctionImport' && attr['IsBindable'] === 'true' && attr['ReturnType']) {
      this.fn = { name: attr['Name'] ?? '', returns: attr['ReturnType'] };
    } else if (tag === 'Parameter' && this.fn && attr['Name'] === 'bindingParameter') {
      this.fn.boundTo = unqualify(attr['Type'] ?? '');
    }
  }

  private close(node: SaxesTagPlain): void {
    const tag = local(node.name);
    if (tag === 'EntityType' || tag === 'ComplexType') this.current = undefined;
    if (tag === 'FunctionImport' && this.fn) {
      if (this.fn.boundTo) {
        const returns = unqualify(this.fn.returns.replace(/^Collection\((.*)\)$/, '$1'));
        this.functions.push({ name: this.fn.name, boundTo: this.fn.boundTo, returns });
      }
      this.fn = undefined;
    }
  }

  /** Ends the document; throws (with the line) when it is not well-formed XML. */
  finish(): OnecEntitySetInfo[] {
    this.parser.close();
    const info = (name: string, typeName: string, kind: OnecEntitySetInfo['kind']): OnecEntitySetInfo => {
      const fields = this.types.get(typeName) ?? [];
      const tabularSections: Record<string, OnecField[]> = {};
      for (const field of fields) {
        const row = /^Collection\((.*)\)$/.exec(field.type)?.[1];
        if (row) tabularSections[field.name] = this.types.get(unqualify(row)) ?? [];
      }
      return { name, kind, fields, tabularSections };
    };
    const result: OnecEntitySetInfo[] = [];
    const listed = new Set<string>();
    for (const [name, typeName] of this.sets) {
      result.push(info(name, typeName, 'entity-set'));
      listed.add(typeName);
    }
    // Excerpts and trimmed dumps carry entity types without their container line; real 1C
    // names every set after its type, so such types are listed under their own name.
    for (const typeName of this.types.keys()) {
      if (listed.has(typeName) || typeName.endsWith('_RowType') || !this.isEntityType(typeName)) continue;
      result.push(info(typeName, typeName, 'entity-set'));
    }
    for (const fn of this.functions) {
      result.push(info(`${fn.boundTo}/${fn.name}`, fn.returns, 'virtual-table'));
    }
    return result.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  private isEntityType(name: string): boolean {
    return this.entityTypes.has(name);
  }
}

/** Reads a whole $metadata from chunks (a streamed HTTP body, a file stream). */
export async function readMetadata(
  chunks: AsyncIterable<string | Uint8Array> | Iterable<string | Uint8Array>,
): Promise<OnecEntitySetInfo[]> {
  const reader = new MetadataReader();
  for await (const chunk of chunks) reader.write(chunk);
  return reader.finish();
}
