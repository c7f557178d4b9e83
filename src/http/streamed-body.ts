import type { HttpStreamResponse } from './types.ts';

/**
 * The body of a streamed answer (HttpClient.stream): read piece by piece as the caller asks,
 * never whole. It keeps only its first `keepBytes` for the request log and counts the rest,
 * and it calls `onEnd` exactly once — at the end, on a read error, on cancel, or when the
 * caller leaves its loop early — so the client can write the log row and free the slot.
 */
export class StreamedBody {
  private readonly kept: Uint8Array[] = [];
  private keptBytes = 0;
  private peeked: Uint8Array[] = [];
  private done = false;
  /** Bytes received so far. */
  total = 0;

  private constructor(
    private readonly reader: ReadableStreamDefaultReader<Uint8Array>,
    private readonly keepBytes: number,
  ) {}

  /** Reads the first `peekBytes` (or the whole body, if shorter), so the answer can be classified. */
  static async open(
    reader: ReadableStreamDefaultReader<Uint8Array>,
    keepBytes: number,
    peekBytes: number,
  ): Promise<StreamedBody> {
    const body = new StreamedBody(reader, keepBytes);
    while (body.total < peekBytes) {
      const next = await reader.read();
      if (next.done) {
        body.done = true;
        break;
      }
      body.remember(next.value);
      body.peeked.push(next.value);
    }
    return body;
  }

  /** The first bytes of the body (at most keepBytes). */
  head(): Uint8Array {
    return Buffer.concat(this.kept);
  }

  async discard(): Promise<void> {
    await this.reader.cancel().catch(() => {});
  }

  /**
   * Hands the body over. `onEnd(error)` runs once; error is `mapError` of what a failed read
   * threw (the caller's loop gets the same error). `signal` aborting (the timeout) ends the body
   * even when nobody reads it.
   */
  toResponse<E extends Error>(
    status: number,
    headers: Headers,
    signal: AbortSignal,
    mapError: (caught: unknown) => E,
    onEnd: (error?: E) => Promise<void>,
  ): HttpStreamResponse {
    let ended: Promise<void> | undefined;
    const end = (error?: E) => {
      ended ??= (async () => {
        signal.removeEventListener('abort', onAbort);
        await onEnd(error);
      })();
      return ended;
    };
    const onAbort = () => {
      void this.discard();
      void end(mapError(signal.reason));
    };
    signal.addEventListener('abort', onAbort, { once: true });

    const self = this;
    async function* chunks(): AsyncGenerator<Uint8Array> {
      let complete = self.done;
      try {
        const first = self.peeked;
        self.peeked = [];
        for (const chunk of first) yield chunk;
        while (!complete) {
          let next: Awaited<ReturnType<typeof self.reader.read>>;
          try {
            next = await self.reader.read();
          } catch (caught) {
            complete = true;
            const error = mapError(caught);
            await end(error);
            throw error;
          }
          if (next.done) break;
          self.remember(next.value);
          yield next.value;
        }
        complete = true;
        await end();
      } finally {
        // The caller left its loop early (break, an exception of its own): discard the rest.
        if (!complete) {
          await self.discard();
          await end();
        }
      }
    }
    const iterator = chunks();
    return {
      status,
      headers,
      body: iterator,
      cancel: async () => {
        // Cancelling the reader first ends a read in progress, so return() never waits on the network.
        await this.discard();
        await end();
        await iterator.return(undefined);
      },
    };
  }

  private remember(chunk: Uint8Array): void {
    this.total += chunk.byteLength;
    if (this.keptBytes >= this.keepBytes) return;
    const part = chunk.subarray(0, this.keepBytes - this.keptBytes);
    this.kept.push(part.slice());
    this.keptBytes += part.byteLength;
  }
}
