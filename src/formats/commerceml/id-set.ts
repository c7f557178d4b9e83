/**
 * The Ид values already seen in one file, for duplicate detection, in about 16 bytes per id.
 *
 * A Set<string> costs ~200 bytes per 1C Ид (ids are slices of two-byte chunk strings), which is
 * 100 MB for a 500,000-goods import: the parser must stay flat whatever the size. Ids are kept
 * as 64-bit hashes (two independent 32-bit hashes) in an open-addressing table. Two different
 * ids collide with odds of about n²/2⁶⁵ (3·10⁻⁸ for a million ids); a collision would show as a
 * "duplicate Ид" item error, never as silently merged data.
 */
export class IdSet {
  private table = new Uint32Array(2 * 1024);
  private used = new Uint8Array(1024);
  private count = 0;

  /** Adds the id; false when it was already there. */
  add(id: string): boolean {
    hashId(id);
    const h1 = hash1;
    const h2 = hash2;
    if ((this.count + 1) * 2 > this.used.length) this.grow();
    return this.insert(h1, h2);
  }

  /** Whether the id was added (a different id answers true with the odds above). */
  has(id: string): boolean {
    hashId(id);
    const h1 = hash1;
    const h2 = hash2;
    const mask = this.used.length - 1;
    for (let slot = (h1 ^ (h2 >>> 7)) & mask; this.used[slot] === 1; slot = (slot + 1) & mask) {
      if (this.table[2 * slot] === h1 && this.table[2 * slot + 1] === h2) return true;
    }
    return false;
  }

  /** How many ids were added. */
  get size(): number {
    return this.count;
  }

  private insert(h1: number, h2: number): boolean {
    const mask = this.used.length - 1;
    let slot = (h1 ^ (h2 >>> 7)) & mask;
    while (this.used[slot] === 1) {
      if (this.table[2 * slot] === h1 && this.table[2 * slot + 1] === h2) return false;
      slot = (slot + 1) & mask;
    }
    this.used[slot] = 1;
    this.table[2 * slot] = h1;
    this.table[2 * slot + 1] = h2;
    this.count += 1;
    return true;
  }

  private grow(): void {
    const { table, used } = this;
    this.table = new Uint32Array(table.length * 2);
    this.used = new Uint8Array(used.length * 2);
    this.count = 0;
    for (let slot = 0; slot < used.length; slot++) {
      if (used[slot] === 1) this.insert(table[2 * slot]!, table[2 * slot + 1]!);
    }
  }
}

// The two hashes of the last hashId call: the parser adds an id per object, so no tuple is allocated.
let hash1 = 0;
let hash2 = 0;

/** Two independent 32-bit hashes of an id (FNV-1a and a murmur-style mix), into hash1 and hash2. */
function hashId(id: string): void {
  let h1 = 0x811c9dc5;
  let h2 = 0x9747b28c;
  for (let i = 0; i < id.length; i++) {
    const c = id.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193);
    h2 = Math.imul(h2 ^ c, 0x5bd1e995);
    h2 ^= h2 >>> 15;
  }
  hash1 = h1 >>> 0;
  hash2 = (h2 ^ id.length) >>> 0;
}
