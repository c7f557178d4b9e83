import { closeSync, openSync, readSync } from 'node:fs';

/** How much of a file has arrived, as far as a reader may go. */
export interface ReceivedSoFar {
  size: number;
  /** No more bytes will come: the file ends at `size`. */
  complete: boolean;
}

/**
 * The bytes of a file still being received (1C sends a catalog in `mode=file` chunks of
 * file_limit bytes). Only what the receiver has acknowledged is offered: a chunk that fails is
 * cut off the file again, so a reader must never go past the last acknowledged size.
 */
export class ReceivedBytes {
  private state: ReceivedSoFar = { size: 0, complete: false };
  private waiters: Array<(state: ReceivedSoFar) => void> = [];

  /** Called when a reader has read everything received and waits: hand on what it holds. */
  constructor(private readonly onStall?: () => void) {}

  /** The file now holds `size` acknowledged bytes. */
  grow(size: number): void {
    if (this.state.complete || size <= this.state.size) return;
    this.set({ size, complete: false });
  }

  /** Nothing more will be appended (1C asked to import the file, or sent the next one). */
  finish(size = this.state.size): void {
    if (this.state.complete) return;
    this.set({ size: Math.max(size, this.state.size), complete: true });
  }

  /** Resolves once more than `offset` bytes are acknowledged or the file is complete. */
  wait(offset: number, signal?: AbortSignal): Promise<ReceivedSoFar> {
    if (this.state.size > offset || this.state.complete) return Promise.resolve(this.state);
    if (signal?.aborted) return Promise.reject(signal.reason);
    this.onStall?.();
    return new Promise((resolve, reject) => {
      const onAbort = () => reject(signal?.reason);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.push((state) => {
        signal?.removeEventListener('abort', onAbort);
        resolve(state);
      });
    });
  }

  private set(state: ReceivedSoFar): void {
    this.state = state;
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake(state);
  }
}

const READ_BYTES = 64 * 1024;
// The encoding is decided from the first bytes (BOM, XML declaration): the first piece handed
// to the parser must hold the declaration whole unless the file is shorter.
const HEAD_BYTES = 256;

/**
 * The file's bytes in pieces of up to 64 KB: all of a complete file, or, while it is still
 * being received, what has been acknowledged so far, then waiting for more until the file is
 * complete. The reads are synchronous: the parser waits for each piece anyway, a piece just
 * received comes from the OS's file cache in microseconds (parsing it takes about a
 * millisecond), and a stream or promise read — a thread-pool round trip per piece — cost the
 * parser thread 15 % of its time on a 1.5 GB catalog (bench/README.md). Every piece is a view
 * of one buffer that the next read overwrites: use it (or copy it) before taking the next. A
 * new buffer per piece was 1.5 GB of garbage outside the JavaScript heap per catalog, which
 * lingers until the heap itself needs a collection.
 */
export async function* fileBytes(
  path: string,
  received?: ReceivedBytes,
  signal?: AbortSignal,
): AsyncIterable<Buffer> {
  const fd = openSync(path, 'r');
  const buffer = Buffer.allocUnsafeSlow(READ_BYTES);
  try {
    let offset = 0;
    for (;;) {
      let state: ReceivedSoFar = { size: Number.POSITIVE_INFINITY, complete: true };
      if (received) {
        state = await received.wait(offset, signal);
        while (offset === 0 && state.size < HEAD_BYTES && !state.complete)
          state = await received.wait(state.size, signal);
      }
      while (offset < state.size) {
        const bytesRead = readSync(fd, buffer, 0, Math.min(READ_BYTES, state.size - offset), offset);
        if (bytesRead === 0) {
          if (!received) return;
          throw new Error(`${path}: the file ends at ${offset} bytes, ${state.size} were received`);
        }
        offset += bytesRead;
        yield buffer.subarray(0, bytesRead);
      }
      if (state.complete) return;
    }
  } finally {
    closeSync(fd);
  }
}
