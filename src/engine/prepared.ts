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
  /**
   * The stable JSON as UTF-8, without the references' hub ids, after one spare byte (where
   * preparedContent writes the hash's prefix, so the hash reads the text in one piece). Bytes,
   * not a string: on the ingesting thread they are hashed and bound to the insert as they are,
   * where a string had to be copied in from the other thread and converted to UTF-8 twice.
   */
  text: Uint8Array;
  /** Where each reference's quoted hub id goes: offsets in `text`, one per reference, ascending. */
  cuts: number[];
  /**
   * The references in the order they stand in the text, as source ids, flat: entity, id,
   * entity, id… (preparedRefs gives them as objects). Strings cross threads cheaper than an
   * object each: deserializing the items was 9 % of the importing thread of a big import.
   */
  refs: string[];
  /** matchKeysOf the validated content, flat: rule, key, rule, key… (preparedKeys). */
  keys: string[];
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
export function prepareItem(
  registry: EntityRegistry,
  entity: string,
  item: SourceItem,
  arena: TextArena = new TextArena(0),
): IngestItem {
  const data = item.data;
  if (item.deleted === true && (!data || Object.keys(data).length === 0)) return item;
  const checked = registry.validate(entity, data);
  if (!checked.ok) return item;
  const keys: string[] = [];
  for (const { rule, key } of matchKeysOf(entity, checked.data)) keys.push(rule, key);
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
  const written = arena.write(cut.parts);
  // Built field by field: a parsed item's `raw` is a getter that would build the raw tree.
  const ready: PreparedItem = {
    externalId: item.externalId,
    prepared: {
      text: written.text,
      cuts: written.cuts,
      refs: cut.refs,
      keys,
    },
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
): { parts: string[]; refs: string[] } | undefined {
  const parts: string[] = [];
  // Flat, as PreparedContent keeps them: entity, id, entity, id…
  const ordered: string[] = [];
  const seen = new Set<number>();
  let from = 0;
  for (let at = text.indexOf(OPENING); at !== -1; at = text.indexOf(OPENING, from)) {
    const end = text.indexOf('"', at + OPENING.length);
    if (end === -1) return undefined;
    const index = Number(text.slice(at + OPENING.length, end));
    if (!Number.isInteger(index) || refs[index] === undefined || seen.has(index)) return undefined;
    seen.add(index);
    parts.push(text.slice(from, at));
    ordered.push(refs[index]!.entity, refs[index]!.id);
    from = end + 1;
  }
  if (ordered.length !== 2 * refs.length) return undefined;
  parts.push(text.slice(from));
  return { parts, refs: ordered };
}

/**
 * Where prepared texts are written: the UTF-8 of many items in one block, so that a batch of
 * them crosses to the ingesting thread as a few transferred buffers (take()), not as a string
 * per item that the other thread copies onto its heap.
 */
export class TextArena {
  private block: Buffer | undefined;
  private used = 0;
  private blocks: ArrayBuffer[] = [];

  /** blockSize 0: each text gets a block of its own (an item prepared alone). */
  constructor(private readonly blockSize = 64 * 1024) {}

  /** The parts' UTF-8 one after the other, behind one spare byte; the offsets where each part after the first begins. */
  write(parts: readonly string[]): { text: Uint8Array; cuts: number[] } {
    // A UTF-16 unit is at most 3 bytes of UTF-8 (a surrogate pair, 2 units, is 4).
    let most = 1;
    for (const part of parts) most += 3 * part.length;
    if (this.block === undefined || this.used + most > this.block.length) {
      this.block = Buffer.allocUnsafeSlow(Math.max(this.blockSize, most));
      this.used = 0;
      // Not from Buffer's shared pool (allocUnsafeSlow): the block can be transferred.
      this.blocks.push(this.block.buffer as ArrayBuffer);
    }
    const block = this.block;
    const start = this.used;
    const cuts: number[] = [];
    let at = start + 1;
    for (let i = 0; i < parts.length; i++) {
      if (i > 0) cuts.push(at - start);
      at += block.write(parts[i]!, at, 'utf8');
    }
    this.used = at;
    return { text: new Uint8Array(block.buffer, block.byteOffset + start, at - start), cuts };
  }

  /**
   * The blocks written since the last take, for the transfer list of the message that carries
   * their items (they are unusable here afterwards); the next text starts a new block.
   */
  take(): ArrayBuffer[] {
    const taken = this.blocks;
    this.blocks = [];
    this.block = undefined;
    return taken;
  }
}

/**
 * The stable JSON with hub ids in place, as UTF-8, and its content hash (core/hash.ts); undefined
 * when a reference has no hub id yet. The text is assembled once, behind the hash's
 * prefix: the hash reads it as it is and the JSON is a view of it. An item without references
 * needs no copy at all (its prefix goes into the spare byte before its text); one with them is
 * copied whole and its pieces moved apart in place, to make room for the ids (no view or string
 * per piece: this runs for every object of a big import).
 */
export function preparedContent(
  prepared: PreparedContent,
  hubId: (entity: string, id: string) => string | undefined,
  deleted: boolean,
): { json: Uint8Array; hash: string } | undefined {
  const { text, cuts, refs } = prepared;
  let whole = text;
  if (cuts.length > 0) {
    const ids = new Array<string>(cuts.length);
    const idLengths = new Array<number>(cuts.length);
    let length = text.length;
    for (let i = 0; i < cuts.length; i++) {
      const id = hubId(refs[2 * i]!, refs[2 * i + 1]!);
      if (id === undefined) return undefined;
      // Written between quotes as JSON.stringify would write it; a hub id (a UUID) as it is.
      ids[i] = PLAIN_ID.test(id) ? id : JSON.stringify(id).slice(1, -1);
      idLengths[i] = Buffer.byteLength(ids[i]!);
      length += idLengths[i]! + 2;
    }
    const out = Buffer.allocUnsafe(length);
    out.set(text);
    // From the last piece back: each moves right by the ids written before it, then its id goes in front.
    let end = text.length;
    let shift = length - text.length;
    for (let i = cuts.length - 1; i >= 0; i--) {
      const cut = cuts[i]!;
      out.copyWithin(cut + shift, cut, end);
      const idLength = idLengths[i]!;
      shift -= idLength + 2;
      const at = cut + shift;
      out[at] = QUOTE;
      out.write(ids[i]!, at + 1, 'utf8');
      out[at + 1 + idLength] = QUOTE;
      end = cut;
    }
    whole = out;
  }
  whole[0] = PREFIX_BYTE[deleted ? 1 : 0]!;
  return { json: whole.subarray(1), hash: contentHashOfText(whole) };
}

const QUOTE = 0x22;
/** Ids that JSON writes as they are: letters, digits and a few signs, no quote, backslash or control character. */
const PLAIN_ID = /^[\w.:-]*$/;
/** contentPrefix as the byte preparedContent writes before the text. */
const PREFIX_BYTE = [contentPrefix(false).charCodeAt(0), contentPrefix(true).charCodeAt(0)];

/** The references of prepared content, as the plain path's registry.refsOf gives them. */
export function preparedRefs(prepared: PreparedContent): Array<{ entity: string; id: string }> {
  const refs: Array<{ entity: string; id: string }> = [];
  for (let i = 0; i < prepared.refs.length; i += 2)
    refs.push({ entity: prepared.refs[i]!, id: prepared.refs[i + 1]! });
  return refs;
}

/** The match keys of prepared content, as matchKeysOf gives them. */
export function preparedKeys(prepared: PreparedContent): Array<{ rule: MatchRule; key: string }> {
  const keys: Array<{ rule: MatchRule; key: string }> = [];
  for (let i = 0; i < prepared.keys.length; i += 2)
    keys.push({ rule: prepared.keys[i] as MatchRule, key: prepared.keys[i + 1]! });
  return keys;
}

/** The match keys of prepared content by one rule (what keysFor gives for the content). */
export function preparedKeysOf(prepared: PreparedContent, rule: MatchRule): string[] {
  const keys: string[] = [];
  for (let i = 0; i < prepared.keys.length; i += 2)
    if (prepared.keys[i] === rule) keys.push(prepared.keys[i + 1]!);
  return keys;
}

const UTF8 = new TextDecoder();

/** The validated content in source-id form, for the paths that work on objects (ownership). */
export function preparedData(prepared: PreparedContent): Record<string, unknown> {
  const { json } = preparedContent(prepared, (_entity, id) => id, false)!;
  return JSON.parse(UTF8.decode(json)) as Record<string, unknown>;
}

/** The item with its content as an object again (see preparedData). */
export function asSourceItem(item: IngestItem): SourceItem {
  if (!isPrepared(item)) return item;
  const { prepared, ...rest } = item;
  return { ...rest, data: preparedData(prepared) };
}
