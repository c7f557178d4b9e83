import { createReadStream } from 'node:fs';
import { type FileHandle, mkdir, open } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { crc32 } from 'node:zlib';
import { Unzip } from 'fflate';
import { nativeInflate } from './native-inflate.ts';
import { checkUploadPath } from './safe-path.ts';
import { readZipChecksums } from './zip-directory.ts';

/** Limits that keep a hostile or broken archive from filling the disk. */
export interface UnzipLimits {
  /** Sum of the unpacked sizes of all entries. */
  maxUnpackedBytes: number;
  maxEntries: number;
}

export class UnsafeArchiveError extends Error {}

/** What unzipSafely tells while it works. */
export interface UnzipWatch {
  /** The unpacked total so far, after each piece read from the archive. */
  progress?(unpackedBytes: number): void;
  /**
   * An entry's file holds `size` bytes on disk (0: just created); `complete` once it is whole.
   * A reader may follow the file up to `size` (an import begun while it is unpacked).
   */
  written?(entry: { path: string; size: number; complete: boolean }): void;
}

/**
 * Unpacks a zip archive into `targetDir` entry by entry, streaming (constant memory whatever
 * the archive size). Entry names follow the same rules as uploaded names; the unpacked total is
 * counted as it is produced, not trusted from the headers, so a zip bomb stops at the limit.
 * Each entry's CRC-32 is checked against the archive's central directory before the entry is
 * reported complete (fflate checks none), so a reader following a file never takes damaged
 * bytes for a whole file; an archive without a central directory was cut short and is refused
 * before anything is unpacked. Returns the relative paths written.
 */
export async function unzipSafely(
  archivePath: string,
  targetDir: string,
  limits: UnzipLimits,
  watch: UnzipWatch = {},
): Promise<string[]> {
  const checksums = await readZipChecksums(archivePath);
  if (typeof checksums === 'string') {
    throw new UnsafeArchiveError(`${checksums} (${basename(archivePath)}); передайте архив заново`);
  }
  const written: string[] = [];
  const pending: Array<{ rel: string; data: Uint8Array; final: boolean }> = [];
  const handles = new Map<string, { handle: FileHandle; size: number }>();
  let unpacked = 0;
  let failure: Error | undefined;
  // The native decoder's work in flight (native-inflate.ts).
  let inflating: Array<Promise<void>> = [];
  const ending: Array<Promise<void>> = [];

  const unzip = new Unzip((file) => {
    if (failure) return;
    if (file.name.endsWith('/')) return; // directory entry: folders are created with their files
    const checked = checkUploadPath(file.name);
    if (!checked.ok) {
      failure = new UnsafeArchiveError(`архив содержит недопустимый файл: ${checked.reason}`);
      return;
    }
    if (written.length >= limits.maxEntries) {
      failure = new UnsafeArchiveError(`в архиве больше ${limits.maxEntries} файлов`);
      return;
    }
    written.push(checked.path);
    const rel = checked.path;
    const expected = checksums.get(file.name)?.shift();
    if (expected === undefined) {
      failure = new UnsafeArchiveError(`архив повреждён (${rel}): файла нет в оглавлении архива`);
      return;
    }
    let crc = 0;
    pending.push({ rel, data: new Uint8Array(0), final: false });
    file.ondata = (error, data, final) => {
      if (failure) return;
      if (error) {
        failure = new UnsafeArchiveError(`архив повреждён (${rel}): ${error.message}`);
        return;
      }
      unpacked += data.byteLength;
      if (unpacked > limits.maxUnpackedBytes) {
        failure = new UnsafeArchiveError(
          `распакованный архив больше ${limits.maxUnpackedBytes} байт (options.maxUnpackedBytes); проверьте архив`,
        );
        return;
      }
      crc = crc32(data, crc);
      if (final && crc !== expected) {
        failure = new UnsafeArchiveError(
          `архив повреждён (${rel}): контрольная сумма CRC-32 распакованного файла не совпадает с указанной в архиве; передайте архив заново`,
        );
        return;
      }
      pending.push({ rel, data, final });
    };
    file.start();
  });
  unzip.register(
    nativeInflate({ pushed: (work) => inflating.push(work), ended: (work) => ending.push(work) }),
  );
  /** Waits until what was pushed is inflated and its output is in `pending`. */
  const inflated = async () => {
    while (inflating.length > 0) {
      const work = inflating;
      inflating = [];
      await Promise.all(work);
    }
  };

  const flush = async () => {
    while (pending.length > 0) {
      const part = pending.shift()!;
      let file = handles.get(part.rel);
      if (!file) {
        const path = join(targetDir, part.rel);
        await mkdir(dirname(path), { recursive: true });
        file = { handle: await open(path, 'w'), size: 0 };
        handles.set(part.rel, file);
        watch.written?.({ path: part.rel, size: 0, complete: false });
      }
      if (part.data.byteLength > 0) {
        await file.handle.write(part.data);
        file.size += part.data.byteLength;
        if (!part.final) watch.written?.({ path: part.rel, size: file.size, complete: false });
      }
      if (part.final) {
        await file.handle.close();
        handles.delete(part.rel);
        watch.written?.({ path: part.rel, size: file.size, complete: true });
      }
    }
  };

  // fflate throws a bare "invalid zip data" for an archive cut short or corrupt.
  const push = (chunk: Uint8Array, final: boolean) => {
    try {
      unzip.push(chunk, final);
    } catch (error) {
      failure ??= new UnsafeArchiveError(
        `архив ${basename(archivePath)} повреждён или передан не полностью (${(error as Error).message}); передайте его заново`,
      );
    }
    if (failure) throw failure;
  };

  try {
    // Small reads bound what one push can inflate in memory (deflate's worst ratio is ~1:1000).
    for await (const chunk of createReadStream(archivePath, { highWaterMark: 16 * 1024 })) {
      push(chunk as Uint8Array, false);
      await inflated();
      if (failure) throw failure;
      await flush();
      watch.progress?.(unpacked);
    }
    push(new Uint8Array(0), true);
    await inflated();
    await Promise.all(ending);
    if (failure) throw failure;
    await flush();
  } finally {
    for (const file of handles.values()) await file.handle.close().catch(() => {});
  }
  return written;
}

/** Zip archives start with a local file header ("PK\x03\x04"); an empty archive with the end record. */
export function looksLikeZip(firstBytes: Uint8Array): boolean {
  return (
    firstBytes.length >= 4 &&
    firstBytes[0] === 0x50 &&
    firstBytes[1] === 0x4b &&
    (firstBytes[2] === 0x03 || firstBytes[2] === 0x05) &&
    (firstBytes[3] === 0x04 || firstBytes[3] === 0x06)
  );
}
