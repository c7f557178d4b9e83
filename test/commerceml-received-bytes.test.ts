import assert from 'node:assert/strict';
import { appendFileSync, createWriteStream, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { finished } from 'node:stream/promises';
import { after, before, describe, test } from 'node:test';
import {
  type CmlEvent,
  generateCatalog,
  parseCommerceMl,
  parseCommerceMlInWorker,
} from '../src/formats/commerceml/index.ts';
import { fileBytes, ReceivedBytes } from '../src/formats/commerceml/received-bytes.ts';

/**
 * Reading a file while 1C still sends it: only acknowledged bytes are read (a failed chunk is
 * cut off the file again), a reader waits for more, and parsing in pieces gives exactly the
 * events of parsing the whole file, on the parser thread and in this one.
 */

/** Whether `promise` is still unsettled after 100 ms (the reader waits). */
async function stillPending(promise: Promise<unknown>): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const pending = Symbol('pending');
  const result = await Promise.race([
    promise,
    new Promise((resolve) => {
      timer = setTimeout(() => resolve(pending), 100);
    }),
  ]);
  clearTimeout(timer);
  return result === pending;
}

function plain(event: CmlEvent): unknown {
  if (event.kind !== 'item') return event;
  const { externalId, data, deleted } = event.item;
  return { ...event, item: { externalId, data, deleted: deleted === true } };
}

describe('reading a file while it is received', () => {
  let work: string;
  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'cml-received-'));
  });
  after(() => rm(work, { recursive: true, force: true }));

  test('bytes past the acknowledged size are never read, even when they are on disk', async () => {
    const path = join(work, 'bytes.bin');
    const content = Buffer.alloc(10_000, 'a');
    writeFileSync(path, content);
    const received = new ReceivedBytes();
    received.grow(300);
    const reader = fileBytes(path, received)[Symbol.asyncIterator]();
    const first = await reader.next();
    assert.equal(first.value?.length, 300);
    const second = reader.next();
    assert.ok(await stillPending(second), 'the reader waits for more');
    // The file is whole at 7,000 bytes: what lies past them (a chunk that failed and is being
    // cut off) is never read.
    received.finish(7_000);
    let rest = 0;
    for (let next = await second; !next.done; next = await reader.next()) rest += next.value.length;
    assert.equal(300 + rest, 7_000);
  });

  test('the first piece holds the XML declaration whole, so the encoding is read right', async () => {
    const path = join(work, 'head.bin');
    writeFileSync(path, Buffer.alloc(1000, 'b'));
    const received = new ReceivedBytes();
    received.grow(10);
    const reader = fileBytes(path, received)[Symbol.asyncIterator]();
    const first = reader.next();
    assert.ok(await stillPending(first), '10 bytes may cut the declaration');
    received.grow(600);
    assert.equal((await first).value?.length, 600);
    received.finish();
    assert.equal((await reader.next()).done, true);
  });

  test('a waiting reader stops on abort', async () => {
    const path = join(work, 'abort.bin');
    writeFileSync(path, Buffer.alloc(1000, 'c'));
    const received = new ReceivedBytes();
    received.grow(500);
    const controller = new AbortController();
    const reader = fileBytes(path, received, controller.signal)[Symbol.asyncIterator]();
    await reader.next();
    const waiting = reader.next();
    controller.abort(new Error('init'));
    await assert.rejects(waiting, /init/);
  });

  for (const where of ['parser thread', 'this thread'] as const) {
    test(`a catalog parsed while it arrives in pieces: the events of the whole file (${where})`, async () => {
      const whole = join(work, `whole-${where}.xml`);
      const out = createWriteStream(whole);
      await generateCatalog({ goods: 1500, propertiesPerGood: 3, seed: 5 }, out);
      out.end();
      await finished(out);
      const bytes = readFileSync(whole);
      const expected = [];
      for await (const event of parseCommerceMl(whole, { fileLabel: 'import.xml' }))
        expected.push(plain(event));

      const growing = join(work, `growing-${where}.xml`);
      writeFileSync(growing, '');
      const received = new ReceivedBytes();
      const parse = where === 'parser thread' ? parseCommerceMlInWorker : parseCommerceMl;
      const events: unknown[] = [];
      const reading = (async () => {
        for await (const event of parse(growing, { received, fileLabel: 'import.xml' }))
          events.push(plain(event));
      })();
      // Pieces of uneven sizes, cut anywhere (inside tags, inside Cyrillic letters).
      let at = 0;
      for (let piece = 1; at < bytes.length; piece++) {
        const end = Math.min(bytes.length, at + 7919 * piece);
        appendFileSync(growing, bytes.subarray(at, end));
        at = end;
        received.grow(at);
        await new Promise((resolve) => setImmediate(resolve));
      }
      received.finish();
      await reading;
      assert.ok(expected.length > 1500);
      assert.deepEqual(events, expected);
    });
  }
});
