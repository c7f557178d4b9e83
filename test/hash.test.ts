import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  contentHash,
  contentHashOfText,
  contentPrefix,
  sortedJson,
  stableStringify,
} from '../src/core/hash.ts';

// Stored hashes must never change with the implementation: a changed hash is a new version of
// every object and a resend of everything to every target.

/** A deterministic pseudo-random generator, so a failure can be reproduced. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

const KEYS = [
  'a',
  'b',
  'name',
  'Name',
  'ä',
  'я',
  '',
  ' ',
  '_',
  '__proto__',
  '10',
  '9',
  '0',
  '01',
  '1e3',
  '-1',
  'z1',
];

/** JSON-like values with the cases stableStringify's fast path must hand to sortedJson. */
function value(next: () => number, depth: number): unknown {
  const pick = Math.floor(next() * (depth > 3 ? 6 : 9));
  switch (pick) {
    case 0:
      return null;
    case 1:
      return Math.floor(next() * 2000) - 1000 + (next() < 0.3 ? 0.5 : 0);
    case 2:
      return ['', 'x', 'Товар "кавычки"', '\u2028', '\ud800', 'a\\b'][Math.floor(next() * 6)];
    case 3:
      return next() < 0.5;
    case 4:
      return undefined;
    case 5:
      return [Number.NaN, -0, Number.POSITIVE_INFINITY, new Date(0)][Math.floor(next() * 4)];
    case 6:
    case 7: {
      const object: Record<string, unknown> = next() < 0.1 ? Object.create(null) : {};
      const count = Math.floor(next() * 6);
      for (let i = 0; i < count; i++) {
        const key = next() < 0.7 ? KEYS[Math.floor(next() * 9)]! : KEYS[Math.floor(next() * KEYS.length)]!;
        Object.defineProperty(object, key, {
          value: value(next, depth + 1),
          enumerable: true,
          writable: true,
          configurable: true,
        });
      }
      return object;
    }
    default: {
      const list: unknown[] = [];
      const count = Math.floor(next() * 5);
      for (let i = 0; i < count; i++) list.push(value(next, depth + 1));
      if (next() < 0.1) list.length += 2; // holes
      return list;
    }
  }
}

describe('stableStringify', () => {
  it('writes exactly what the reference writer (sortedJson) writes, for any JSON-like value', () => {
    const next = random(20260522);
    let fast = 0;
    for (let i = 0; i < 20_000; i++) {
      const sample = value(next, 0);
      const text = sortedJson(sample);
      assert.equal(stableStringify(sample), text, `sample ${i}`);
      if (typeof sample === 'object' && sample !== null && !/"\d|__proto__|\{\}/.test(text)) fast++;
    }
    assert.ok(fast > 2_000, `the fast path was exercised (${fast} samples)`);
  });

  it('does not change the value it writes', () => {
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
    // The same hash from a text that carries the prefix itself (engine/prepared.ts writes it so).
    assert.equal(
      contentHashOfText(`${contentPrefix(false)}{"name":"x"}`),
      'iYWXAjPy3NimNwiQ4OMuZbalAEh4Zu9k',
    );
    assert.equal(contentHashOfText(`${contentPrefix(true)}{"name":"x"}`), contentHash('{"name":"x"}', true));
  });
});
