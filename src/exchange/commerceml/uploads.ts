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
    try {
      for await (const chunk of body) {
        size += chunk.byteLength;
        if (size > this.maxFileBytes) {
          throw new UploadTooLargeError(
            `файл больше допустимых ${this.maxFileBytes} байт (options.maxFileBytes)`,
          );
        }
        await handle.write(chunk);
        running.hash.update(chunk);
      }
      // The chunk is acknowledged only once it is on disk: a crash after "success" loses nothing.
      await handle.sync();
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
