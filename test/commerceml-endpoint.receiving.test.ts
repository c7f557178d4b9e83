import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { eventually, generatedPackage, importSessions, startObmen } from './commerceml-endpoint.harness.ts';

/**
 * importWhileReceiving: a catalog file's import starts with its first chunk and reads only what
 * 1C has sent, so the goods are in the hub soon after the upload instead of an import later.
 * Driven over HTTP like 1C: checkauth → init → file chunks → import until success.
 */

const GOODS = 1200;

describe('CommerceML endpoint: import while the file is received', () => {
  let importXml: Buffer;
  let offersXml: Buffer;
  before(async () => {
    ({ importXml, offersXml } = await generatedPackage(GOODS));
  });

  test('the import starts with the first chunk, reads only what arrived and is joined by mode=import', async () => {
    // Batches of 100: what the first chunk holds is written before the second one comes.
    const obmen = await startObmen({ zip: false, importStepSeconds: 0.2, batchSize: 100 });
    try {
      const client = obmen.client();
      await client.checkauth('catalog');
      await client.init('catalog');
      // Cut inside an element: the goods after the cut must wait for the second chunk.
      const cut = Math.floor(importXml.length * 0.45);
      await client.sendChunk('catalog', 'import.xml', importXml.subarray(0, cut));
      const goodsInFirstChunk = (
        importXml
          .subarray(0, cut)
          .toString('utf8')
          .match(/<\/Товар>/g) ?? []
      ).length;
      const early = await eventually(
        'goods of the first chunk in the hub before mode=import',
        () => obmen.recordCount('product'),
        (n) => n >= goodsInFirstChunk - 100,
      );
      assert.ok(early > 0, 'goods are ingested while the file is still arriving');
      assert.ok(
        early <= goodsInFirstChunk,
        `${early} goods read from a chunk that holds ${goodsInFirstChunk}`,
      );
      const [running] = await importSessions(obmen, 'import.xml');
      assert.equal(running?.status, 'running', 'the import waits for the rest of the file');

      await client.sendChunk('catalog', 'import.xml', importXml.subarray(cut));
      const answer = await client.importUntilDone('catalog', 'import.xml');
      assert.match(answer.message, /Импорт import\.xml завершён: объектов \d+, записано \d+/);
      assert.equal(await obmen.recordCount('product'), GOODS);
      // One import, joined by mode=import, not a second read of the file.
      const sessions = await importSessions(obmen, 'import.xml');
      assert.equal(sessions.length, 1);
      assert.equal(sessions[0]!.status, 'ok');
      assert.equal(JSON.parse(sessions[0]!.counts).product, GOODS);
    } finally {
      await obmen.close();
    }
  });

  test('the first chunk of the next file ends the previous file, whose import then finishes alone', async () => {
    const obmen = await startObmen({ zip: false, importStepSeconds: 0.2 });
    try {
      const client = obmen.client();
      await client.checkauth('catalog');
      await client.init('catalog');
      await client.sendChunk('catalog', 'import.xml', importXml);
      await client.sendChunk('catalog', 'offers.xml', offersXml.subarray(0, 1000));
      const [done] = await eventually(
        'import.xml imported without mode=import',
        () => importSessions(obmen, 'import.xml'),
        (rows) => rows[0]?.status === 'ok',
      );
      assert.equal(JSON.parse(done!.counts).product, GOODS);
      // Files are imported one at a time, in the order 1C sent them.
      assert.equal((await importSessions(obmen, 'offers.xml')).length, 0);
      await client.sendChunk('catalog', 'offers.xml', offersXml.subarray(1000));
      const first = await client.importStep('catalog', 'import.xml');
      assert.equal(first.state, 'success', 'the finished import answers at once');
      assert.match(first.message, /Импорт import\.xml завершён/);
      await client.importUntilDone('catalog', 'offers.xml');
      assert.equal(
        await obmen.recordCount('price'),
        (offersXml.toString('utf8').match(/<Цена>/g) ?? []).length,
      );
      assert.equal((await importSessions(obmen, 'import.xml')).length, 1);
    } finally {
      await obmen.close();
    }
  });

  test('a new init stops an import that follows an upload; the next exchange loads everything', async () => {
    const obmen = await startObmen({ zip: false, importStepSeconds: 0.2, batchSize: 100 });
    try {
      const client = obmen.client();
      await client.checkauth('catalog');
      await client.init('catalog');
      await client.sendChunk(
        'catalog',
        'import.xml',
        importXml.subarray(0, Math.floor(importXml.length / 2)),
      );
      await eventually(
        'a first batch',
        () => obmen.recordCount('product'),
        (n) => n > 0,
      );
      await client.init('catalog');
      const [stopped] = await importSessions(obmen, 'import.xml');
      assert.equal(stopped?.status, 'failed');
      assert.match(stopped!.error ?? '', /прервано/);

      await client.sendChunk('catalog', 'import.xml', importXml);
      await client.importUntilDone('catalog', 'import.xml');
      assert.equal(await obmen.recordCount('product'), GOODS);
    } finally {
      await obmen.close();
    }
  });

  test('with importWhileReceiving: false nothing is read before mode=import', async () => {
    const obmen = await startObmen({ zip: false, importWhileReceiving: false, importStepSeconds: 0.2 });
    try {
      const client = obmen.client();
      await client.checkauth('catalog');
      await client.init('catalog');
      await client.sendChunk('catalog', 'import.xml', importXml);
      // An import started by the chunk opens its session at once (see the first test).
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.equal((await importSessions(obmen, 'import.xml')).length, 0);
      assert.equal(await obmen.recordCount('product'), 0);
      await client.importUntilDone('catalog', 'import.xml');
      assert.equal(await obmen.recordCount('product'), GOODS);
    } finally {
      await obmen.close();
    }
  });
});
