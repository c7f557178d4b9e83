import { open } from 'node:fs/promises';

/**
 * The CRC-32 of each entry of a zip archive on disk, from its central directory (APPNOTE.txt
 * 4.3.12–4.3.16; zip64 4.3.14–4.3.15). The streaming unzip reads local headers only, and an
 * archive written as a stream keeps its entries' CRC-32 out of them (in a data descriptor after
 * the data): the central directory, at the archive's end, always has it. An archive without
 * one was cut short.
 *
 * Returns each name's CRC-32 values in the directory's order (a name may recur), or what is
 * wrong with the archive, in Russian, for 1C's administrator.
 */
export async function readZipChecksums(path: string): Promise<Map<string, number[]> | string> {
  const file = await open(path, 'r');
  try {
    const { size } = await file.stat();
    const read = async (at: number, length: number) => {
      const bytes = Buffer.alloc(length);
      const { bytesRead } = await file.read(bytes, 0, length, at);
      return bytes.subarray(0, bytesRead);
    };
    // The end record: 22 bytes and a comment of at most 65,535 bytes at the end of the file.
    const tailStart = Math.max(0, size - (22 + 0xffff));
    const tail = await read(tailStart, size - tailStart);
    let end = -1;
    for (let at = tail.length - 22; at >= 0; at--) {
      if (tail.readUInt32LE(at) === END_SIGNATURE && at + 22 + tail.readUInt16LE(at + 20) <= tail.length) {
        end = at;
        break;
      }
    }
    if (end < 0) return CUT;
    let entries = tail.readUInt16LE(end + 10);
    let directorySize = tail.readUInt32LE(end + 12);
    let directoryAt = tail.readUInt32LE(end + 16);
    if (entries === 0xffff || directorySize === 0xffffffff || directoryAt === 0xffffffff) {
      // zip64: a locator just before the end record points at the zip64 end record.
      const locatorAt = tailStart + end - 20;
      const locator = locatorAt >= 0 ? await read(locatorAt, 20) : Buffer.alloc(0);
      if (locator.length < 20 || locator.readUInt32LE(0) !== ZIP64_LOCATOR_SIGNATURE) return CUT;
      const record = await read(Number(locator.readBigUInt64LE(8)), 56);
      if (record.length < 56 || record.readUInt32LE(0) !== ZIP64_END_SIGNATURE) return CUT;
      entries = Number(record.readBigUInt64LE(32));
      directorySize = Number(record.readBigUInt64LE(40));
      directoryAt = Number(record.readBigUInt64LE(48));
    }
    if (directoryAt + directorySize > size) return CUT;
    const directory = await read(directoryAt, directorySize);
    const checksums = new Map<string, number[]>();
    let at = 0;
    for (let entry = 0; entry < entries; entry++) {
      if (at + 46 > directory.length || directory.readUInt32LE(at) !== ENTRY_SIGNATURE) return BROKEN;
      const nameLength = directory.readUInt16LE(at + 28);
      const next = at + 46 + nameLength + directory.readUInt16LE(at + 30) + directory.readUInt16LE(at + 32);
      if (next > directory.length) return BROKEN;
      // Decoded as the unzip decodes local headers: UTF-8 with flag bit 11, single bytes without.
      const raw = directory.subarray(at + 46, at + 46 + nameLength);
      const name = directory.readUInt16LE(at + 8) & 0x800 ? raw.toString('utf8') : raw.toString('latin1');
      const list = checksums.get(name) ?? [];
      list.push(directory.readUInt32LE(at + 16));
      checksums.set(name, list);
      at = next;
    }
    return checksums;
  } finally {
    await file.close();
  }
}

const END_SIGNATURE = 0x06054b50;
const ZIP64_LOCATOR_SIGNATURE = 0x07064b50;
const ZIP64_END_SIGNATURE = 0x06064b50;
const ENTRY_SIGNATURE = 0x02014b50;
const CUT = 'архив передан не полностью: в нём нет оглавления (центрального каталога zip)';
const BROKEN = 'оглавление архива (центральный каталог zip) повреждено';
