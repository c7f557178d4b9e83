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
const HEX_DIGITS = Buffer.from('0123456789abcdef', 'latin1');
// The id is written as bytes and read out as one string: built from 16 hex pairs and dashes,
// it made a dozen intermediate strings, ~700 bytes of garbage per id on the importing thread.
const ID = Buffer.alloc(36);

function putHex(at: number, byte: number): void {
  ID[at] = HEX_DIGITS[byte >>> 4]!;
  ID[at + 1] = HEX_DIGITS[byte & 0xf]!;
}

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
  const r = poolAt;
  poolAt += 8;
  const t = lastMs;
  // 48-bit big-endian milliseconds, split because bit operators work on 32 bits.
  const high = Math.floor(t / 0x1000000);
  const low = t % 0x1000000;
  putHex(0, (high >>> 16) & 0xff);
  putHex(2, (high >>> 8) & 0xff);
  putHex(4, high & 0xff);
  putHex(6, (low >>> 16) & 0xff);
  ID[8] = 0x2d; // -
  putHex(9, (low >>> 8) & 0xff);
  putHex(11, low & 0xff);
  ID[13] = 0x2d;
  putHex(14, 0x70 | (counter >>> 8)); // version 7
  putHex(16, counter & 0xff);
  ID[18] = 0x2d;
  putHex(19, 0x80 | (POOL[r]! & 0x3f)); // variant 10
  putHex(21, POOL[r + 1]!);
  ID[23] = 0x2d;
  for (let i = 0; i < 6; i++) putHex(24 + 2 * i, POOL[r + 2 + i]!);
  return ID.toString('latin1', 0, 36);
}

/** Identifies one process in leases and sessions: host, pid and a random suffix. */
export function newOwnerId(role = 'obmen'): string {
  return `${role}@${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
}
