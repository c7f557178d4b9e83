/**
 * `limits.concurrency`: how many requests to one system may be in flight at once, counted in
 * this process. A slot is held from just before the rate limiter is asked until the answer has
 * been read to the end (for a streamed answer: until the caller finished or cancelled it), and
 * given back between retries, so a request sleeping in backoff holds nothing.
 *
 * Per process, not shared through the database: a shared count would cost two writes per
 * request and leave the slots of a killed process taken until some lease expired. With N worker
 * processes a system sees at most N × concurrency requests at once (docs/configuration.md).
 */
export class ConcurrencyLimit {
  private active = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(readonly max: number) {
    if (!Number.isInteger(max) || max < 1)
      throw new Error(`concurrency must be a positive integer, got ${max}`);
  }

  /** Requests holding a slot now (metrics and tests). */
  get inFlight(): number {
    return this.active;
  }

  /** Waits for a free slot (first come, first served); resolves with its release, safe to call twice. */
  async acquire(signal?: AbortSignal): Promise<() => void> {
    signal?.throwIfAborted();
    if (this.active < this.max) {
      this.active++;
      return this.releaser();
    }
    await new Promise<void>((resolve, reject) => {
      const wake = () => {
        signal?.removeEventListener('abort', abort);
        resolve();
      };
      const abort = () => {
        const at = this.waiting.indexOf(wake);
        if (at >= 0) this.waiting.splice(at, 1);
        reject(signal?.reason ?? new Error('aborted'));
      };
      this.waiting.push(wake);
      signal?.addEventListener('abort', abort, { once: true });
    });
    // The releasing request handed its slot over: `active` was not decremented for it.
    return this.releaser();
  }

  private releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    };
  }
}
