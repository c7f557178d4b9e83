import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { Zip, ZipDeflate } from 'fflate';

/**
 * Packs files into one zip archive on disk, streaming (1C sends a whole exchange package as
 * one archive when the site answers `zip=yes`). Memory stays bounded by the read size.
 */
export async function zipFiles(
  files: ReadonlyArray<{ name: string; path: string }>,
  archivePath: string,
): Promise<number> {
  const out = await open(archivePath, 'w');
  const pending: Uint8Array[] = [];
  let failure: Error | undefined;
  let size = 0;
  const zip = new Zip((error, data) => {
    if (error) failure = error;
    else pending.push(data);
  });
  const drain = async () => {
    while (pending.length > 0) {
      const data = pending.shift()!;
      size += data.byteLength;
      await out.write(data);
    }
    if (failure) throw failure;
  };
  try {
    for (const file of files) {
      const entry = new ZipDeflate(file.name, { level: 6 });
      zip.add(entry);
      for await (const chunk of createReadStream(file.path, { highWaterMark: 1024 * 1024 })) {
        entry.push(chunk as Uint8Array, false);
        await drain();
      }
      entry.push(new Uint8Array(0), true);
      await drain();
    }
    zip.end();
    await drain();
  } finally {
    await out.close();
  }
  return size;
}
