import { hash } from 'node:crypto';

/**
 * JSON with object keys sorted, so that the same content always gives the same text and
 * therefore the same hash, whatever order a source produced the fields in.
 *
 * Hot path (every object of every import is hashed, and an unchanged re-send is nothing but
 * this and the hash): the content is brought into key order — objects already in order are
 * used as they are, others copied once — and written by the engine's own JSON.stringify. That
 * took a quarter less CPU than building the text by hand and half the garbage: the hand-built
 * text and its key sorting allocated 3.5 KB per object, and a re-ingest of 100k products pushed
 * the benchmark's peak RSS near 300 MB. What JSON.stringify would write differently (keys that
 * look like array indexes, which it puts first in numeric order; a "__proto__" key; objects
 * with a prototype, e.g. a Date with toJSON; functions) is written by sortedJson below, the
 * reference this must always equal (test/hash.test.ts compares them).
 */
export function stableStringify(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    return value === undefined ? 'null' : JSON.stringify(value);
  }
  const ordered = inKeyOrder(value);
  return ordered === UNSUPPORTED ? sortedJson(value) : JSON.stringify(ordered);
}

const UNSUPPORTED = Symbol('unsupported');

/** A value as JSON.stringify should see it: itself, key-ordered, or UNSUPPORTED. */
function ordered(item: unknown): unknown {
  const kind = typeof item;
  if (kind === 'function' || kind === 'symbol') return UNSUPPORTED;
  return item === null || kind !== 'object' ? item : inKeyOrder(item as object);
}

/** `value` with every object's keys in sorted order, or UNSUPPORTED (see stableStringify). */
function inKeyOrder(value: object): unknown {
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const item = ordered(value[i]);
      if (item === UNSUPPORTED) return UNSUPPORTED;
      if (item !== value[i]) {
        copy ??= value.slice();
        copy[i] = item;
      }
    }
    return copy ?? value;
  }
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return UNSUPPORTED;
  const object = value as Record<string, unknown>;
  const keys = Object.keys(object);
  let sorted = true;
  let changed: Map<string, unknown> | undefined;
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    const first = key.charCodeAt(0);
    if (first >= 48 && first <= 57) return UNSUPPORTED; // "0"…"9": possibly an array index
    if (key === '__proto__') return UNSUPPORTED; // would set the copy's prototype
    if (i > 0 && keys[i - 1]! > key) sorted = false;
    const item = ordered(object[key]);
    if (item === UNSUPPORTED) return UNSUPPORTED;
    if (item !== object[key]) {
      changed ??= new Map();
      changed.set(key, item);
    }
  }
  if (sorted && !changed) return object;
  if (!sorted) sortKeys(keys);
  const copy: Record<string, unknown> = {};
  for (const key of keys) copy[key] = changed?.has(key) ? changed.get(key) : object[key];
  return copy;
}

/**
 * Sorts a few keys in place (insertion sort; objects have a handful of keys): the same order as
 * Array.prototype.sort() on strings, without the work array it allocates for every object.
 */
function sortKeys(keys: string[]): void {
  for (let i = 1; i < keys.length; i++) {
    const key = keys[i]!;
    let at = i - 1;
    while (at >= 0 && keys[at]! > key) {
      keys[at + 1] = keys[at]!;
      at--;
    }
    keys[at + 1] = key;
  }
}

/** The reference writer: sorted-key JSON built by hand, for any value. */
export function sortedJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    return value === undefined ? 'null' : JSON.stringify(value);
  }
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out += ',';
      out += sortedJson(value[i]);
    }
    return `${out}]`;
  }
  const object = value as Record<string, unknown>;
  const keys = Object.keys(object);
  for (let i = 1; i < keys.length; i++) {
    if (keys[i - 1]! > keys[i]!) {
      keys.sort();
      break;
    }
  }
  let out = '{';
  for (const key of keys) {
    const item = object[key];
    if (item === undefined) continue;
    if (out.length > 1) out += ',';
    out += `${JSON.stringify(key)}:${sortedJson(item)}`;
  }
  return `${out}}`;
}

/** Content hash of a canonical record: sha256 of its stable JSON plus the deleted flag. */
export function contentHash(canonicalJson: string, deleted: boolean): string {
  return contentHashOfText(contentPrefix(deleted) + canonicalJson);
}

/** What contentHash hashes begins with this: the deleted flag. */
export function contentPrefix(deleted: boolean): string {
  return deleted ? 'D' : 'A';
}

/**
 * contentHash of a text that already begins with contentPrefix, as a string or as its UTF-8
 * (the same hash), for a caller that writes the text in one piece (engine/prepared.ts):
 * `prefix + json` is a new string that hashing has to copy whole, a copy of every object's text.
 */
export function contentHashOfText(prefixed: string | Uint8Array): string {
  // crypto.hash is the one-shot form of createHash(…).update(…).digest(…): same bytes, no Hash object.
  return hash('sha256', prefixed, 'base64url').slice(0, 32);
}
