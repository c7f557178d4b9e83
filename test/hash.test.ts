import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { contentHash, stableStringify } from '../src/core/hash.ts';

// Stored hashes must never change with the implementation: a changed hash is a new version of
// every object and a resend of everything to every target.

describe('stableStringify', () => {
  it('sorts keys at every level and leaves out undefined values', () => {
    assert.equal(
      stableStringify({ b: 1, a: { d: [{ y: 1, x: 2 }], c: undefined }, c: 'x' }),
      '{"a":{"d":[{"x":2,"y":1}]},"b":1,"c":"x"}',
    );
  });

  it('keeps string order for keys that look like array indexes', () => {
    // JSON.stringify would put "9" before "10"; the hub's format sorts them as strings.
    assert.equal(stableStringify({ 9: 'a', 10: 'b', x: 1 }), '{"10":"b","9":"a","x":1}');
  });

  it('treats objects with a prototype as their own enumerable keys, not their toJSON', () => {
    assert.equal(stableStringify({ at: new Date(0) }), '{"at":{}}');
  });

  it('does not modify the value it writes', () => {
    const data = { b: [{ d: 1, c: 2 }], a: 1 };
    stableStringify(data);
    assert.deepEqual(Object.keys(data), ['b', 'a']);
    assert.deepEqual(Object.keys(data.b[0]!), ['d', 'c']);
  });
});

describe('contentHash', () => {
  it('is sha256 of the deleted flag and the JSON, base64url, 32 characters', () => {
    const reference = (json: string, deleted: boolean) =>
      createHash('sha256')
        .update(deleted ? 'D' : 'A')
        .update(json)
        .digest('base64url')
        .slice(0, 32);
    for (const data of [{}, { name: 'Товар 1', barcodes: ['4600000000001'] }, { a: [1, 2, { b: null }] }]) {
      const json = stableStringify(data);
      assert.equal(contentHash(json, false), reference(json, false));
      assert.equal(contentHash(json, true), reference(json, true));
    }
    assert.equal(contentHash('{"name":"x"}', false), 'iYWXAjPy3NimNwiQ4OMuZbalAEh4Zu9k');
  });
});
