import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, stat } from 'node:fs/promises';
import { dirname } from 'node:path';

/** Size and SHA-256 of an uploaded file after the latest chunk. */
export interface UploadState {
  size: number;
  sha256: string;
}

export class UploadTooLargeError extends Error {}

const WRITE_BYTES = 1024 * 1024;

/**
 * Appends request bodies to files (`mode=file` is "append this chunk", like Bitrix's
 * fopen(…, "ab")) and keeps a running SHA-256 per file, so the whole file is never re-read
 * after each chunk. A hash whose size does not match the file on disk (the process restarted
 * mid-upload) is rebuilt from the file once.
 */
export class UploadWriter {
  private readonly hashes = new Map<string, { hash: Hash; size: number }>();

  constructor(private readonly maxFileBytes: number) {}

  /** Forgets running hashes under a directory (init wipes it). */
  forget(prefix: string): void {
    for (const path of this.hashes.keys()) if (path.startsWith(prefix)) this.hashes.delete(path);
  }

  async append(path: string, body: AsyncIterable<Uint8Array>): Promise<UploadState> {
    await mkdir(dirname(path), { recursive: true });
    const before = await stat(path).catch(() => undefined);
    const startSize = before?.size ?? 0;
    let running = this.hashes.get(path);
    if (!running || running.size !== startSize) running = await hashExisting(path, startSize);
    const handle = await open(path, 'a');
    let size = startSize;
    // The request arrives in pieces of 16–64 KB: they are written a megabyte at a time (one
    // writev, one thread-pool round trip) instead of one write each.
    let pieces: Uint8Array[] = [];
    let pending = 0;
    const flush = async () => {
      if (pieces.length === 0) return;
      await handle.writev(pieces);
      pieces = [];
      pending = 0;
    };
    try {
      for await (const chunk of body) {
        size += chunk.byteLength;
        if (size > this.maxFileBytes) {
          throw new UploadTooLargeError(
            `файл больше допустимых ${this.maxFileBytes} байт (options.maxFileBytes)`,
          );
        }
        running.hash.update(chunk);
        pieces.push(chunk);
        pending += chunk.byteLength;
        if (pending >= WRITE_BYTES) await flush();
      }
      // The chunk is written before it is acknowledged, so a crash of obmen after "success"
      // loses nothing. It is not fsync'ed: that waited for the disk on every 100 MB chunk (a
      // third of the upload), and what it adds — surviving a power loss — the hub's SQLite
      // store does not promise either (WAL, synchronous=NORMAL). A file cut by a power loss
      // fails its import with the line where it ends, and 1C repeats the exchange.
      await flush();
    } catch (error) {
      await handle.truncate(startSize).catch(() => {});
      this.hashes.delete(path);
      throw error;
    } finally {
      await handle.close();
    }
    running.size = size;
    this.hashes.set(path, running);
    return { size, sha256: running.hash.copy().digest('hex') };
  }
}

async function hashExisting(path: string, size: number): Promise<{ hash: Hash; size: number }> {
  const hash = createHash('sha256');
  if (size > 0) {
    for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  }
  return { hash, size };
}

/** SHA-256 of a whole file, streamed. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
