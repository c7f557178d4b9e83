import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { crc32 } from 'node:zlib';
import { zipSync } from 'fflate';
import { readZipChecksums } from '../src/exchange/commerceml/zip-directory.ts';

/** The central directory of archives as zip writers make them (APPNOTE.txt 4.3.12–4.3.16). */
describe('zip central directory', () => {
  let dir: string;
  const write = async (name: string, bytes: Uint8Array) => {
    const path = join(dir, name);
    await writeFile(path, bytes);
    return path;
  };
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'obmen-zip-directory-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('gives each entry its CRC-32, Cyrillic names decoded as UTF-8 (flag bit 11)', async () => {
    const importXml = Buffer.from('<КоммерческаяИнформация/>');
    const photo = Buffer.from([1, 2, 3, 4, 5]);
    const path = await write(
      'package.zip',
      zipSync({ 'import.xml': importXml, 'import_files/фото.jpg': photo }, { level: 6 }),
    );
    assert.deepEqual(
      await readZipChecksums(path),
      new Map([
        ['import.xml', [crc32(importXml)]],
        ['import_files/фото.jpg', [crc32(photo)]],
      ]),
    );
  });

  test('an archive cut short (no end record) or empty is named as such', async () => {
    const archive = zipSync({ 'import.xml': Buffer.from('<a/>'.repeat(1000)) }, { level: 0 });
    const cut = await readZipChecksums(await write('cut.zip', archive.subarray(0, archive.length - 30)));
    assert.match(String(cut), /архив передан не полностью/);
    assert.match(String(await readZipChecksums(await write('empty.zip', new Uint8Array(0)))), /не полностью/);
  });

  test('a directory that does not hold what the end record says is named as damaged', async () => {
    const archive = Buffer.from(zipSync({ 'a.xml': Buffer.from('<a/>') }, { level: 0 }));
    const directoryAt = archive.readUInt32LE(archive.length - 22 + 16);
    archive.writeUInt32LE(0x12345678, directoryAt); // the entry's signature
    assert.match(String(await readZipChecksums(await write('broken.zip', archive))), /повреждено/);
  });

  test('reads the zip64 end record when the classic one is full of 0xFF (archives over 4 GB)', async () => {
    // A stored entry, then its directory entry, then zip64 end record, locator and end record,
    // laid out by APPNOTE.txt; the classic fields say "see zip64".
    const name = Buffer.from('import.xml');
    const data = Buffer.from('<КоммерческаяИнформация/>');
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(45, 4);
    local.writeUInt32LE(crc32(data), 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(name.length, 26);
    const entry = Buffer.alloc(46);
    entry.writeUInt32LE(0x02014b50, 0);
    entry.writeUInt16LE(45, 4);
    entry.writeUInt16LE(45, 6);
    entry.writeUInt32LE(crc32(data), 16);
    entry.writeUInt32LE(data.length, 20);
    entry.writeUInt32LE(data.length, 24);
    entry.writeUInt16LE(name.length, 28);
    const directoryAt = local.length + name.length + data.length;
    const directorySize = entry.length + name.length;
    const zip64End = Buffer.alloc(56);
    zip64End.writeUInt32LE(0x06064b50, 0);
    zip64End.writeBigUInt64LE(44n, 4);
    zip64End.writeBigUInt64LE(1n, 24);
    zip64End.writeBigUInt64LE(1n, 32);
    zip64End.writeBigUInt64LE(BigInt(directorySize), 40);
    zip64End.writeBigUInt64LE(BigInt(directoryAt), 48);
    const locator = Buffer.alloc(20);
    locator.writeUInt32LE(0x07064b50, 0);
    locator.writeBigUInt64LE(BigInt(directoryAt + directorySize), 8);
    locator.writeUInt32LE(1, 16);
    const end = Buffer.alloc(22);
    end.writeUInt32LE(0x06054b50, 0);
    end.writeUInt16LE(0xffff, 8);
    end.writeUInt16LE(0xffff, 10);
    end.writeUInt32LE(0xffffffff, 12);
    end.writeUInt32LE(0xffffffff, 16);
    const path = await write(
      'zip64.zip',
      Buffer.concat([local, name, data, entry, name, zip64End, locator, end]),
    );
    assert.deepEqual(await readZipChecksums(path), new Map([['import.xml', [crc32(data)]]]));
  });
});
