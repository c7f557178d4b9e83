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
  private readonly parts: Buffer[] = [];
  /** Hashes of the ids added, to ask whether an id was listed without keeping the strings. */
  private readonly hashes = new Set<number>();
  /** False once an id that is not made of GUIDs was added: such a list cannot be stored. */
  storable = true;

  add(id: string): void {
    this.hashes.add(keyHash(id.toLowerCase()));
    const guids = id.split('#');
    if (!guids.every((guid) => GUID.test(guid))) {
      this.storable = false;
      return;
    }
    const buffer = Buffer.alloc(1 + guids.length * 16);
    buffer[0] = guids.length;
    guids.forEach((guid, i) => {
      buffer.write(guid.replace(/-/g, ''), 1 + i * 16, 16, 'hex');
    });
    this.parts.push(buffer);
  }

  /**
   * Whether the id was added. A hash, not the id: 52 bits, so an id absent from the list is
   * taken as present with odds of about n / 2^52 — an absent object is then only not reported
   * as gone (never the other way round).
   */
  has(id: string): boolean {
    return this.hashes.has(keyHash(id.toLowerCase()));
  }

  encode(): string {
    return Buffer.concat(this.parts).toString('base64');
  }
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Two 32-bit FNV-style hashes of the id folded into 52 bits (a safe integer). */
function keyHash(id: string): number {
  let h1 = 0x811c9dc5;
  let h2 = 0x9747b28c;
  for (let i = 0; i < id.length; i++) {
    const c = id.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193);
    h2 = Math.imul(h2 ^ c, 0x5bd1e995);
    h2 ^= h2 >>> 15;
  }
  return (h1 >>> 0) * 0x100000 + ((h2 >>> 12) & 0xfffff);
}

/** The ids a cursor kept (KeyList), one by one; nothing for a cursor without them. */
export function* keysOf(cursor: string | undefined): Generator<string> {
  const at = cursor?.indexOf(KEYS) ?? -1;
  if (!cursor || at < 0) return;
  const buffer = Buffer.from(cursor.slice(at + KEYS.length), 'base64');
  for (let offset = 0; offset < buffer.length; ) {
    const count = buffer[offset]!;
    const guids: string[] = [];
    for (let i = 0; i < count; i++) {
      const hex = buffer.toString('hex', offset + 1 + i * 16, offset + 17 + i * 16);
      guids.push(
        `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`,
      );
    }
    yield guids.join('#');
    offset += 1 + count * 16;
  }
}
