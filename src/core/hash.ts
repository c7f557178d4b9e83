import { createHash } from 'node:crypto';

/**
 * JSON with object keys sorted, so that the same content always gives the same text and
 * therefore the same hash, whatever order a source produced the fields in.
 */
export function stableStringify(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    return value === undefined ? 'null' : JSON.stringify(value);
  }
  if (Array.isArray(value)) {
    return `[${value.map((item) => stableStringify(item)).join(',')}]`;
  }
  const keys = Object.keys(value as Record<string, unknown>).sort();
  const parts: string[] = [];
  for (const key of keys) {
    const item = (value as Record<string, unknown>)[key];
    if (item === undefined) continue;
    parts.push(`${JSON.stringify(key)}:${stableStringify(item)}`);
  }
  return `{${parts.join(',')}}`;
}

/** Content hash of a canonical record: sha256 of its stable JSON plus the deleted flag. */
export function contentHash(canonicalJson: string, deleted: boolean): string {
  return createHash('sha256')
    .update(deleted ? 'D' : 'A')
    .update(canonicalJson)
    .digest('base64url')
    .slice(0, 32);
}
