import { randomBytes } from 'node:crypto';
import type { SourceItem } from '../core/connector.ts';
import type { EntityRegistry } from '../core/entities/index.ts';
import { contentHashOfText, contentPrefix, stableStringify } from '../core/hash.ts';
import { type MatchRule, matchKeysOf } from '../matching/rules.ts';

/**
 * An object's content made ready for ingest on another thread: validated, its references
 * found, its match keys taken and its stable JSON written. The thread that ingests then only
 * puts the hub ids of the references into the text, hashes and writes it: no object is built
 * there, no zod, no copy. (A big 1C import is bound by the one thread that writes the
 * database; the parser thread has time to spare.)
 *
 * The text is exactly what ingest's own path writes for the same content — stableStringify of
 * the validated content with every reference replaced by its hub id — so the two paths give the
 * same hashes, and an object sent one way and then the other is unchanged (test/ingest-prepared.test.ts).
 */
export interface PreparedContent {
  /** The stable JSON cut at each reference: parts[0] "hub id of refs[0]" parts[1] … */
  parts: string[];
  /** The references in the order they stand in the text, as source ids. */
  refs: Array<{ entity: string; id: string }>;
  /** matchKeysOf the validated content. */
  keys: Array<{ rule: MatchRule; key: string }>;
}

/** A source object whose content was prepared: ingest reads `prepared`, there is no `data`. */
export interface PreparedItem extends Omit<SourceItem, 'data' | 'raw'> {
  prepared: PreparedContent;
}

/** What ingest takes: objects as sources send them, or prepared ones. */
export type IngestItem = SourceItem | PreparedItem;

export function isPrepared(item: IngestItem): item is PreparedItem {
  return (item as PreparedItem).prepared !== undefined;
}

/**
 * A stand-in for each reference while the text is written: `"<PLACEHOLDER><index>"`. The random
 * part is made once per thread, so a value in the data cannot be taken for one; prepareItem
 * also checks that the text holds each exactly once.
 */
const PLACEHOLDER = `obmen-ref-${randomBytes(12).toString('hex')}-`;
const OPENING = `"${PLACEHOLDER}`;

/**
 * The prepared form of one item, or the item as it was: when its content does not validate
 * (ingest reports that, in its own words, with the rest of the batch), is a deletion without
 * content (ingest keeps the last content then), or cannot be written as text with stand-ins.
 */
export function prepareItem(registry: EntityRegistry, entity: string, item: SourceItem): IngestItem {
  const data = item.data;
  if (item.deleted === true && (!data || Object.keys(data).length === 0)) return item;
  const checked = registry.validate(entity, data);
  if (!checked.ok) return item;
  const keys = matchKeysOf(entity, checked.data);
  // The stand-ins go into the validated content itself, not into a copy of it, and come out
  // again once it is written: nested values of a custom entity are the item's own.
  const refs: Array<{ entity: string; id: string }> = [];
  const restore = registry.replaceRefsInPlace(entity, checked.data, (refEntity, id) => {
    refs.push({ entity: refEntity, id });
    return `${PLACEHOLDER}${refs.length - 1}`;
  });
  const text = stableStringify(checked.data);
  restore();
  const cut = cutAtStandIns(text, refs);
  if (cut === undefined) return item;
  // Built field by field: a parsed item's `raw` is a getter that would build the raw tree.
  const ready: PreparedItem = {
    externalId: item.externalId,
    prepared: { ...cut, keys },
  };
  if (item.deleted !== undefined) ready.deleted = item.deleted;
  if (item.sourceUpdatedAt !== undefined) ready.sourceUpdatedAt = item.sourceUpdatedAt;
  return ready;
}

/**
 * The text cut at each stand-in, with the references in the order they stand (indexOf: a
 * regular expression over the whole text cost more than validating it did); undefined unless
 * each stand-in is there exactly once.
 */
function cutAtStandIns(
  text: string,
  refs: ReadonlyArray<{ entity: string; id: string }>,
): Pick<PreparedContent, 'parts' | 'refs'> | undefined {
  const parts: string[] = [];
  const ordered: Array<{ entity: string; id: string }> = [];
  const seen = new Set<number>();
  let from = 0;
  for (let at = text.indexOf(OPENING); at !== -1; at = text.indexOf(OPENING, from)) {
    const end = text.indexOf('"', at + OPENING.length);
    if (end === -1) return undefined;
    const index = Number(text.slice(at + OPENING.length, end));
    if (!Number.isInteger(index) || refs[index] === undefined || seen.has(index)) return undefined;
    seen.add(index);
    parts.push(text.slice(from, at));
    ordered.push(refs[index]!);
    from = end + 1;
  }
  if (ordered.length !== refs.length) return undefined;
  parts.push(text.slice(from));
  return { parts, refs: ordered };
}

/**
 * The stable JSON with hub ids in place and its content hash (core/hash.ts), or undefined when
 * a reference has no hub id yet. The text is joined once, behind the hash's prefix: the hash
 * reads it as it is and the JSON is a slice of it. (Concatenated piece by piece, the text was
 * copied twice more, when hashed with its prefix and when bound to the insert: about a third
 * of what the importing thread allocated during a big 1C import, bench/README.md.)
 */
export function preparedContent(
  prepared: PreparedContent,
  hubId: (entity: string, id: string) => string | undefined,
  deleted: boolean,
): { json: string; hash: string } | undefined {
  const { parts, refs } = prepared;
  const pieces = new Array<string>(2 * refs.length + 2);
  pieces[0] = contentPrefix(deleted);
  pieces[1] = parts[0]!;
  for (let i = 0; i < refs.length; i++) {
    const id = hubId(refs[i]!.entity, refs[i]!.id);
    if (id === undefined) return undefined;
    pieces[2 * i + 2] = JSON.stringify(id);
    pieces[2 * i + 3] = parts[i + 1]!;
  }
  const text = pieces.join('');
  return { json: text.slice(1), hash: contentHashOfText(text) };
}

/** The validated content in source-id form, for the paths that work on objects (ownership). */
export function preparedData(prepared: PreparedContent): Record<string, unknown> {
  return JSON.parse(preparedContent(prepared, (_entity, id) => id, false)!.json) as Record<string, unknown>;
}

/** The item with its content as an object again (see preparedData). */
export function asSourceItem(item: IngestItem): SourceItem {
  if (!isPrepared(item)) return item;
  const { prepared, ...rest } = item;
  return { ...rest, data: preparedData(prepared) };
}
