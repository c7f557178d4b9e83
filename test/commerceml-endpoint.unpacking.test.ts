import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { zipSync } from 'fflate';
import { type ExchangeClient, ExchangeClientError } from '../src/exchange/commerceml/index.ts';
import {
  eventually,
  generatedPackage,
  importSessions,
  type ObmenUnderTest,
  startObmen,
} from './commerceml-endpoint.harness.ts';

/**
 * importWhileReceiving with zip archives: 1C sends the whole package as one archive, and the
 * first `mode=import` unpacks it. The archive's import file is imported while it is being
 * unpacked, and the `mode=import` calls for it join that import. Driven over HTTP like 1C.
 */

const GOODS = 1500;

/** obmen with zip on, and 1C's client after checkauth and init of a catalog exchange. */
async function startExchange(
  options: Record<string, unknown>,
): Promise<{ obmen: ObmenUnderTest; client: ExchangeClient }> {
  const obmen = await startObmen({ zip: true, importStepSeconds: 0.2, ...options });
  try {
    const client = obmen.client();
    await client.checkauth('catalog');
    await client.init('catalog');
    return { obmen, client };
  } catch (error) {
    await obmen.close();
    throw error;
  }
}

/** Calls `mode=import` for `filename` until obmen says the archive is unpacked; returns the calls' answers. */
async function unpack(client: ExchangeClient, filename: string): Promise<string[]> {
  const answers: string[] = [];
  for (let calls = 0; calls < 1000; calls++) {
    const answer = await client.importStep('catalog', filename);
    answers.push(`${answer.state}: ${answer.message}`);
    if (answer.message === 'Архив распакован') return answers;
    assert.match(answer.message, /Распаковка архива/, `unexpected answer while unpacking: ${answer.message}`);
  }
  assert.fail(`the archive was not unpacked in 1000 calls: ${answers.at(-1)}`);
}

describe('CommerceML endpoint: import while an archive is unpacked', () => {
  let importXml: Buffer;
  let offersXml: Buffer;
  before(async () => {
    ({ importXml, offersXml } = await generatedPackage(GOODS));
  });

  test('the import file starts importing before 1C asks for it; mode=import joins that import', async () => {
    const { obmen, client } = await startExchange({ batchSize: 100 });
    try {
      await client.sendChunk(
        'catalog',
        'package.zip',
        zipSync({ 'import.xml': importXml, 'offers.xml': offersXml }),
      );
      await unpack(client, 'import.xml');
      // 1C has not asked to import import.xml since the archive was unpacked, and will not while
      // this waits: an import session of it can only come from the unpacking.
      const begun = await eventually(
        'an import of import.xml, begun while the archive was unpacked',
        () => importSessions(obmen, 'import.xml'),
        (rows) => rows.length > 0,
      );
      assert.equal(begun.length, 1);
      assert.equal((await importSessions(obmen, 'offers.xml')).length, 0, 'offers wait for their own call');

      const answer = await client.importUntilDone('catalog', 'import.xml');
      assert.match(answer.message, /Импорт import\.xml завершён: объектов \d+, записано \d+/);
      const sessions = await importSessions(obmen, 'import.xml');
      assert.equal(sessions.length, 1, 'mode=import joined the import, it did not read the file again');
      assert.equal(sessions[0]!.status, 'ok');
      assert.equal(JSON.parse(sessions[0]!.counts).product, GOODS);
      assert.equal(await obmen.recordCount('product'), GOODS);

      await client.importUntilDone('catalog', 'offers.xml');
      assert.equal(
        await obmen.recordCount('price'),
        (
          Buffer.from(offersXml)
            .toString('utf8')
            .match(/<Цена>/g) ?? []
        ).length,
      );
    } finally {
      await obmen.close();
    }
  });

  test('an archive whose first file is not an import file is unpacked whole first, as before', async () => {
    const { obmen, client } = await startExchange({});
    try {
      await client.sendChunk(
        'catalog',
        'package.zip',
        zipSync({ 'offers.xml': offersXml, 'import.xml': importXml }),
      );
      await unpack(client, 'import.xml');
      assert.equal((await importSessions(obmen, 'offers.xml')).length, 0);
      assert.equal((await importSessions(obmen, 'import.xml')).length, 0);
      await client.importUntilDone('catalog', 'import.xml');
      await client.importUntilDone('catalog', 'offers.xml');
      assert.equal(await obmen.recordCount('product'), GOODS);
    } finally {
      await obmen.close();
    }
  });

  test('corrupt compressed data fails the unpack with a message that names the file', async () => {
    const { obmen, client } = await startExchange({});
    try {
      const archive = Buffer.from(zipSync({ 'import.xml': importXml }, { level: 6 }));
      // The entry's deflate data (after the 30-byte local header, its name and extra field) now
      // begins with a block of the reserved type 3: zlib refuses it; the archive is whole.
      const data = 30 + archive.readUInt16LE(26) + archive.readUInt16LE(28);
      archive[data] = 0b111;
      await client.sendChunk('catalog', 'package.zip', archive);
      await assert.rejects(unpack(client, 'import.xml'), (error: unknown) => {
        assert.ok(error instanceof ExchangeClientError, String(error));
        assert.match(error.message, /архив повреждён \(import\.xml\)/);
        return true;
      });
      const [stopped] = await importSessions(obmen, 'import.xml');
      assert.notEqual(stopped?.status, 'ok', 'the import begun on the file did not pass for whole');
    } finally {
      await obmen.close();
    }
  });

  test('an archive cut short is refused before anything is unpacked; sent whole, it loads', async () => {
    const { obmen, client } = await startExchange({ batchSize: 100 });
    try {
      // Stored, not deflated, so the cut falls inside import.xml's bytes: read from its local
      // header on, its start would unpack fine; its central directory, at the end, is missing.
      const archive = zipSync({ 'import.xml': importXml }, { level: 0 });
      await client.sendChunk('catalog', 'package.zip', archive.subarray(0, Math.floor(archive.length * 0.6)));
      await assert.rejects(unpack(client, 'import.xml'), (error: unknown) => {
        assert.ok(error instanceof ExchangeClientError, String(error));
        assert.match(error.message, /архив передан не полностью.*package\.zip.*передайте архив заново/);
        return true;
      });
      assert.deepEqual(await importSessions(obmen, 'import.xml'), [], 'no import began on a cut file');
      assert.equal(await obmen.recordCount('product'), 0);

      // 1C's next exchange sends the archive whole and everything loads.
      await client.init('catalog');
      await client.sendChunk('catalog', 'package.zip', archive);
      await unpack(client, 'import.xml');
      await client.importUntilDone('catalog', 'import.xml');
      assert.equal(await obmen.recordCount('product'), GOODS);
    } finally {
      await obmen.close();
    }
  });

  test('an entry whose bytes do not match its CRC-32 fails the unpack and the import begun on it', async () => {
    const { obmen, client } = await startExchange({ batchSize: 100 });
    try {
      // The data is intact and inflates; the CRC-32 the central directory gives for it is not
      // its own (as when bytes were changed in transit: stored data inflates whatever it holds).
      const archive = Buffer.from(zipSync({ 'import.xml': importXml }, { level: 0 }));
      const directoryAt = archive.readUInt32LE(archive.length - 22 + 16);
      archive.writeUInt32LE((archive.readUInt32LE(directoryAt + 16) ^ 0x5a5a5a5a) >>> 0, directoryAt + 16);
      await client.sendChunk('catalog', 'package.zip', archive);
      await assert.rejects(unpack(client, 'import.xml'), (error: unknown) => {
        assert.ok(error instanceof ExchangeClientError, String(error));
        assert.match(error.message, /архив повреждён \(import\.xml\): контрольная сумма CRC-32/);
        return true;
      });
      const sessions = await importSessions(obmen, 'import.xml');
      assert.equal(sessions.length, 1, 'the import had begun on the file while it was unpacked');
      assert.equal(sessions[0]!.status, 'failed', 'the import of the damaged file did not pass');
    } finally {
      await obmen.close();
    }
  });
});
