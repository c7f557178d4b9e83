import { createHash } from 'node:crypto';
import { stableStringify } from '../../core/hash.ts';

/**
 * What a catalog looked like at the last poll, kept in the source cursor: for every object a
 * 48-bit fingerprint of (id, DataVersion). 1C changes DataVersion on every write, so an
 * object whose fingerprint is known is unchanged and is skipped before any conversion.
 * 6 bytes per object (≈ 0.8 MB of cursor text per 100,000 objects) instead of the full
 * id → version map; a changed object is missed only if its new fingerprint collides with
 * another object's (≈ n / 2^48 per change, 4·10⁻⁹ at a million objects).
 */

const PREFIX = 'dv1:';
const KEYS = ';keys:';
const BYTES = 6;

/** DataVersion, or for register records (which have none) a hash of the record itself. */
export function versionToken(raw: Record<string, unknown>): string {
  const dataVersion = raw['DataVersion'];
  if (typeof dataVersion === 'string' && dataVersion !== '') return dataVersion;
  return createHash('sha1').update(stableStringify(raw)).digest('base64');
}

export function fingerprint(externalId: string, token: string): number {
  return createHash('sha1').update(externalId).update('\u0000').update(token).digest().readUIntBE(0, BYTES);
}

export class VersionSet {
  private readonly set = new Set<number>();

  get size(): number {
    return this.set.size;
  }

  has(print: number): boolean {
    return this.set.has(print);
  }

  add(print: number): void {
    this.set.add(print);
  }

  /** The cursor text; `keys` (ids of register rows, see encodeKeys) are appended when given. */
  encode(keys?: Iterable<string>): string {
    const buffer = Buffer.alloc(this.set.size * BYTES);
    let offset = 0;
    for (const print of this.set) offset = buffer.writeUIntBE(print, offset, BYTES);
    return PREFIX + buffer.toString('base64') + (keys ? KEYS + encodeKeys(keys) : '');
  }

  /** An empty set for a cursor of another kind (a date cursor, a cursor from an older version). */
  static decode(cursor: string | undefined): VersionSet {
    const result = new VersionSet();
    if (!cursor?.startsWith(PREFIX)) return result;
    const end = cursor.indexOf(KEYS);
    const buffer = Buffer.from(cursor.slice(PREFIX.length, end < 0 ? undefined : end), 'base64');
    for (let offset = 0; offset + BYTES <= buffer.length; offset += BYTES) {
      result.add(buffer.readUIntBE(offset, BYTES));
    }
    return result;
  }
}

/**
 * Ids of register rows (`<guid>#<guid>[#<guid>]`) seen by the last poll, so rows that vanished
 * since (a stock balance that went to zero leaves the Balance table) can be reported. Each id
 * is stored as its GUIDs in binary: one count byte, then 16 bytes per GUID.
 */
export function encodeKeys(keys: Iterable<string>): string {
  const parts: Buffer[] = [];
  for (const key of keys) {
    const guids = key.split('#');
    const buffer = Buffer.alloc(1 + guids.length * 16);
    buffer[0] = guids.length;
    guids.forEach((guid, i) => {
      buffer.write(guid.replace(/-/g, ''), 1 + i * 16, 16, 'hex');
    });
    parts.push(buffer);
  }
  return Buffer.concat(parts).toString('base64');
}

/** The row ids kept in a cursor by encode(keys); empty for a cursor without them. */
export function decodeKeys(cursor: string | undefined): string[] {
  const at = cursor?.indexOf(KEYS) ?? -1;
  if (!cursor || at < 0) return [];
  const buffer = Buffer.from(cursor.slice(at + KEYS.length), 'base64');
  const keys: string[] = [];
  for (let offset = 0; offset < buffer.length; ) {
    const count = buffer[offset]!;
    const guids: string[] = [];
    for (let i = 0; i < count; i++) {
      const hex = buffer.toString('hex', offset + 1 + i * 16, offset + 17 + i * 16);
      guids.push(
        `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`,
      );
    }
    keys.push(guids.join('#'));
    offset += 1 + count * 16;
  }
  return keys;
}
