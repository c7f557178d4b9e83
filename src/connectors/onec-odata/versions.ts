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

  /** The cursor text; the ids of the objects listed (see KeyList) are appended when given. */
  encode(keys?: KeyList): string {
    const buffer = Buffer.alloc(this.set.size * BYTES);
    let offset = 0;
    for (const print of this.set) offset = buffer.writeUIntBE(print, offset, BYTES);
    return PREFIX + buffer.toString('base64') + (keys ? KEYS + keys.encode() : '');
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
 * The ids a poll listed, kept in the cursor so the next poll can tell which ones are gone: rows
 * that left a Balance table (stock went to zero), and catalog or document objects deleted
 * physically in 1C. Ids are Ref_Keys or register dimensions (`<guid>#<guid>[#<guid>]`); each is
 * stored as its GUIDs in binary: one count byte, then 16 bytes per GUID (17 bytes per Ref_Key).
 */
export class KeyList {
  private bytes = new Uint8Array(64 * 1024);
  private length = 0;
  /** Hashes of the ids added (of their binary form), to tell which ids of a cursor are absent. */
  private readonly hashes = new Set<number>();
  /** False once an id that is not made of GUIDs was added: such a list is neither stored nor compared. */
  storable = true;

  add(id: string): void {
    if (!this.storable) return;
    const start = this.length;
    if (this.write(id)) this.hashes.add(hashBytes(this.bytes, start, this.length));
    else this.storable = false;
  }

  encode(): string {
    return Buffer.from(this.bytes.buffer, 0, this.length).toString('base64');
  }

  /**
   * The ids a previous poll kept in its cursor that this list does not hold. Compared by a
   * 52-bit hash of their bytes: an absent id is taken as present with odds of about n / 2^52
   * — it is then only not reported as gone, never the other way round.
   */
  missingFrom(cursor: string | undefined): string[] {
    const at = cursor?.indexOf(KEYS) ?? -1;
    if (!cursor || at < 0 || !this.storable) return [];
    const previous = Buffer.from(cursor.slice(at + KEYS.length), 'base64');
    const missing: string[] = [];
    for (let offset = 0; offset < previous.length; ) {
      const end = offset + 1 + previous[offset]! * 16;
      if (!this.hashes.has(hashBytes(previous, offset, end))) missing.push(idOf(previous, offset));
      offset = end;
    }
    return missing;
  }

  /** Appends `<count><16 bytes per GUID>`; false (nothing kept) when the id is not GUIDs joined by '#'. */
  private write(id: string): boolean {
    const count = (id.length + 1) / 37;
    if (!Number.isInteger(count) || count < 1 || count > 255) return false;
    if (this.length + 1 + count * 16 > this.bytes.length) {
      const grown = new Uint8Array(Math.max(this.bytes.length * 2, this.length + 1 + count * 16));
      grown.set(this.bytes.subarray(0, this.length));
      this.bytes = grown;
    }
    let at = this.length;
    this.bytes[at++] = count;
    for (let g = 0; g < count; g++) {
      const base = g * 37;
      if (g > 0 && id.charCodeAt(base - 1) !== 35 /* # */) return false;
      let high = -1;
      for (let i = 0; i < 36; i++) {
        const c = id.charCodeAt(base + i);
        if (i === 8 || i === 13 || i === 18 || i === 23) {
          if (c !== 45 /* - */) return false;
          continue;
        }
        const nibble = c < 128 ? HEX[c]! : -1;
        if (nibble < 0) return false;
        if (high < 0) high = nibble;
        else {
          this.bytes[at++] = (high << 4) | nibble;
          high = -1;
        }
      }
    }
    this.length = at;
    return true;
  }
}

/** Char code → hex digit value, -1 for anything else. */
const HEX = new Int8Array(128).fill(-1);
for (let i = 0; i < 10; i++) HEX[48 + i] = i;
for (let i = 0; i < 6; i++) {
  HEX[65 + i] = 10 + i;
  HEX[97 + i] = 10 + i;
}

/** Two 32-bit FNV-style hashes of bytes [start, end) folded into 52 bits (a safe integer). */
function hashBytes(bytes: Uint8Array, start: number, end: number): number {
  let h1 = 0x811c9dc5;
  let h2 = 0x9747b28c;
  for (let i = start; i < end; i++) {
    const c = bytes[i]!;
    h1 = Math.imul(h1 ^ c, 0x01000193);
    h2 = Math.imul(h2 ^ c, 0x5bd1e995);
    h2 ^= h2 >>> 15;
  }
  return (h1 >>> 0) * 0x100000 + ((h2 >>> 12) & 0xfffff);
}

/** The id stored at `offset` (see KeyList): its GUIDs, lower case, joined by '#'. */
function idOf(bytes: Uint8Array, offset: number): string {
  const guids: string[] = [];
  const hex = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < bytes[offset]!; i++) {
    const h = hex.toString('hex', offset + 1 + i * 16, offset + 17 + i * 16);
    guids.push(`${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`);
  }
  return guids.join('#');
}
