import { createReadStream } from 'node:fs';
import { type FileHandle, mkdir, open } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Unzip, UnzipInflate } from 'fflate';
import { checkUploadPath } from './safe-path.ts';

/** Limits that keep a hostile or broken archive from filling the disk. */
export interface UnzipLimits {
  /** Sum of the unpacked sizes of all entries. */
  maxUnpackedBytes: number;
  maxEntries: number;
}

export class UnsafeArchiveError extends Error {}

/**
 * Unpacks a zip archive into `targetDir` entry by entry, streaming (constant memory whatever
 * the archive size). Entry names follow the same rules as uploaded names; the unpacked total is
 * counted as it is produced, not trusted from the headers, so a zip bomb stops at the limit.
 * Returns the relative paths written.
 */
export async function unzipSafely(
  archivePath: string,
  targetDir: string,
  limits: UnzipLimits,
  onProgress?: (unpackedBytes: number) => void,
): Promise<string[]> {
  const written: string[] = [];
  const pending: Array<{ rel: string; data: Uint8Array; final: boolean }> = [];
  const handles = new Map<string, FileHandle>();
  let unpacked = 0;
  let failure: Error | undefined;

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
      pending.push({ rel, data, final });
    };
    file.start();
  });
  unzip.register(UnzipInflate);

  const flush = async () => {
    while (pending.length > 0) {
      const part = pending.shift()!;
      let handle = handles.get(part.rel);
      if (!handle) {
        const path = join(targetDir, part.rel);
        await mkdir(dirname(path), { recursive: true });
        handle = await open(path, 'w');
        handles.set(part.rel, handle);
      }
      if (part.data.byteLength > 0) await handle.write(part.data);
      if (part.final) {
        await handle.close();
        handles.delete(part.rel);
      }
    }
  };

  try {
    // Small reads bound what one push can inflate in memory (deflate's worst ratio is ~1:1000).
    for await (const chunk of createReadStream(archivePath, { highWaterMark: 16 * 1024 })) {
      unzip.push(chunk as Uint8Array, false);
      if (failure) throw failure;
      await flush();
      onProgress?.(unpacked);
    }
    unzip.push(new Uint8Array(0), true);
    if (failure) throw failure;
    await flush();
  } finally {
    for (const handle of handles.values()) await handle.close().catch(() => {});
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
