import { randomFillSync, randomUUID } from 'node:crypto';
import { hostname } from 'node:os';

/**
 * Hub ids are UUIDv7 (RFC 9562): 48 bits of Unix milliseconds, then a 12-bit counter, then 62
 * random bits. They never collide across processes or hosts (the random part), and ids made
 * one after another sort one after another, so new rows land at the right edge of the B-tree
 * indexes on records, links and outbox instead of on a random page each: at 100k objects per
 * import that is the difference between appending and rewriting the whole index.
 */
export function newRecordId(): string {
  return uuidV7(Date.now());
}

// Random bytes are drawn in bulk: one getrandom call per 512 ids instead of one per id.
const POOL = Buffer.alloc(8 * 512);
let poolAt = POOL.length;
let lastMs = -1;
let counter = 0;
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/**
 * A UUIDv7 for the given time. Within one millisecond the 12-bit counter (RFC 9562 §6.2,
 * method 1) keeps ids of this process strictly increasing; if the clock steps back or the
 * counter runs out, the id borrows the next millisecond, so order is never broken.
 */
export function uuidV7(ms: number): string {
  if (ms > lastMs) {
    lastMs = ms;
    counter = 0;
  } else if (++counter > 0xfff) {
    lastMs++;
    counter = 0;
  }
  if (poolAt + 8 > POOL.length) {
    randomFillSync(POOL);
    poolAt = 0;
  }
  const r = POOL.subarray(poolAt, poolAt + 8);
  poolAt += 8;
  const t = lastMs;
  // 48-bit big-endian milliseconds, split because bit operators work on 32 bits.
  const high = Math.floor(t / 0x1000000);
  const low = t % 0x1000000;
  const time = `${HEX[(high >>> 16) & 0xff]}${HEX[(high >>> 8) & 0xff]}${HEX[high & 0xff]}${HEX[(low >>> 16) & 0xff]}-${HEX[(low >>> 8) & 0xff]}${HEX[low & 0xff]}`;
  const versionAndCounter = `${HEX[0x70 | (counter >>> 8)]}${HEX[counter & 0xff]}`;
  const variant = `${HEX[0x80 | (r[0]! & 0x3f)]}${HEX[r[1]!]}`;
  const tail = `${HEX[r[2]!]}${HEX[r[3]!]}${HEX[r[4]!]}${HEX[r[5]!]}${HEX[r[6]!]}${HEX[r[7]!]}`;
  return `${time}-${versionAndCounter}-${variant}-${tail}`;
}

/** Identifies one process in leases and sessions: host, pid and a random suffix. */
export function newOwnerId(role = 'obmen'): string {
  return `${role}@${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
}
