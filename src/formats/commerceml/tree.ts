import type { SourceItem } from '../../core/connector.ts';

/**
 * The parser keeps only one exchange object (a Товар, a Предложение, a Документ…) in memory at a
 * time, as a small tree of these nodes; everything else streams past.
 */
export interface XNode {
  name: string;
  attrs: Record<string, string> | undefined;
  children: XNode[];
  text: string;
  line: number;
}

/** The children of every leaf: one shared empty list instead of an array per element. */
export const NO_CHILDREN: XNode[] = Object.freeze([]) as unknown as XNode[];

/** Appends a child, giving the parent its own list on the first one. */
export function appendChild(parent: XNode, node: XNode): void {
  if (parent.children === NO_CHILDREN) parent.children = [node];
  else parent.children.push(node);
}

/** The first child with this local name. */
export function child(node: XNode | undefined, name: string): XNode | undefined {
  if (node === undefined) return undefined;
  for (const c of node.children) if (c.name === name) return c;
  return undefined;
}

/** Every child with this local name. */
export function children(node: XNode | undefined, name: string): XNode[] {
  if (node === undefined) return [];
  return node.children.filter((c) => c.name === name);
}

/** The trimmed text of the child at this path ('Налог/УчтеноВСумме'); undefined when absent or empty. */
export function text(node: XNode | undefined, path: string): string | undefined {
  const current = path.indexOf('/') === -1 ? child(node, path) : descend(node, path);
  if (current === undefined) return undefined;
  const value = current.text.trim();
  return value === '' ? undefined : value;
}

function descend(node: XNode | undefined, path: string): XNode | undefined {
  let current = node;
  for (const part of path.split('/')) {
    current = child(current, part);
    if (current === undefined) return undefined;
  }
  return current;
}

/** The text exactly as written (1C pads some values, and order comments keep their spaces). */
export function rawText(node: XNode | undefined, path: string): string | undefined {
  return descend(node, path)?.text;
}

/** A trimmed attribute value; undefined when absent or empty. */
export function attr(node: XNode | undefined, name: string): string | undefined {
  const value = node?.attrs?.[name]?.trim();
  return value === '' ? undefined : value;
}

/**
 * ЗначенияРеквизитов / ЗначениеРеквизита (Наименование, Значение) as a map; the first value wins
 * when a requisite repeats (1C repeats only multi-valued ones, which sites read the first of).
 */
export function requisites(node: XNode | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const req of children(child(node, 'ЗначенияРеквизитов'), 'ЗначениеРеквизита')) {
    const name = text(req, 'Наименование');
    if (name === undefined || name in out) continue;
    out[name] = text(req, 'Значение') ?? '';
  }
  return out;
}

/**
 * A SourceItem whose `raw` is built from its node on first read (then kept): most ingests never
 * look at raw, and building it for every object was a fifth of the parse time. `raw` is a getter
 * on the prototype — an own accessor per item would give every item its own hidden class — so
 * read it as `item.raw`; JSON.stringify(item) and spreading do not include it.
 */
class CmlSourceItem {
  readonly externalId: string;
  readonly data: Record<string, unknown>;
  readonly deleted: boolean | undefined;
  #node: XNode | undefined;
  #raw: unknown;

  constructor(externalId: string, data: Record<string, unknown>, deleted: boolean | undefined, node: XNode) {
    this.externalId = externalId;
    this.data = data;
    this.deleted = deleted;
    this.#node = node;
  }

  get raw(): unknown {
    if (this.#node !== undefined) {
      this.#raw = toRaw(this.#node);
      this.#node = undefined;
    }
    return this.#raw;
  }
}

/** The item with a lazily built `raw` of `node`. */
export function withRaw(
  item: { externalId: string; data: Record<string, unknown>; deleted?: boolean },
  node: XNode,
): SourceItem {
  return new CmlSourceItem(item.externalId, item.data, item.deleted, node);
}

/**
 * A compact plain object of a subtree for SourceItem.raw: attributes as `@name`, leaf text as a
 * string, repeated children as arrays. Source mappings read 1C fields from it.
 */
export function toRaw(node: XNode): unknown {
  if (node.children.length === 0 && node.attrs === undefined) return node.text.trim();
  const out: Record<string, unknown> = {};
  if (node.attrs) for (const k in node.attrs) out[`@${k}`] = node.attrs[k];
  for (const c of node.children) {
    const value = toRaw(c);
    const existing = out[c.name];
    if (existing === undefined) out[c.name] = value;
    // toRaw never returns an array itself, so an array here is a repeated child.
    else if (Array.isArray(existing)) existing.push(value);
    else out[c.name] = [existing, value];
  }
  const own = node.text.trim();
  if (own !== '') out['#text'] = own;
  return out;
}
