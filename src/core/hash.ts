import { hash } from 'node:crypto';

/**
 * JSON with object keys sorted, so that the same content always gives the same text and
 * therefore the same hash, whatever order a source produced the fields in.
 */
export function stableStringify(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    return value === undefined ? 'null' : JSON.stringify(value);
  }
  // Hot path (every object of every import is hashed): string building without
  // intermediate arrays, and no sort when the keys already come in order.
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out += ',';
      out += stableStringify(value[i]);
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
    out += `${JSON.stringify(key)}:${stableStringify(item)}`;
  }
  return `${out}}`;
}

/** Content hash of a canonical record: sha256 of its stable JSON plus the deleted flag. */
export function contentHash(canonicalJson: string, deleted: boolean): string {
  // crypto.hash is the one-shot form of createHash(…).update(…).digest(…): same bytes, no Hash object.
  return hash('sha256', (deleted ? 'D' : 'A') + canonicalJson, 'base64url').slice(0, 32);
}
