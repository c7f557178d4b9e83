import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { contentHash, stableStringify } from '../src/core/hash.ts';

// Stored hashes must never change with the implementation: a changed hash is a new version of
// every object and a resend of everything to every target.

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
