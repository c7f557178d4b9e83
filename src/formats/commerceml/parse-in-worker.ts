import { basename } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { IngestItem } from '../../engine/prepared.ts';
import { CmlSyntaxError } from './errors.ts';
import type { ReceivedBytes } from './received-bytes.ts';
import type { CmlEvent } from './types.ts';
import type { ControlMessage, ParseWorkerData, PrepareInWorker, WorkerMessage } from './worker-protocol.ts';

export interface ParseInWorkerOptions {
  signal?: AbortSignal;
  fileLabel?: string;
  /** Entities whose items need `raw` (those with a source mapping); others come without it. */
  rawFor?: Iterable<string>;
  /** The file is still arriving: the parser thread reads what was received and waits for more. */
  received?: ReceivedBytes;
}

export interface PrepareInWorkerOptions extends ParseInWorkerOptions {
  /**
   * Items of these entities come prepared for ingest (engine/prepared.ts): validated and written
   * as text on the parser thread, with the same registry as the importing thread's. Not for
   * entities whose items something reads as objects before ingest (a source mapping).
   */
  prepare: PrepareInWorker;
}

// 200 events a message and 4 messages ahead: the parser keeps most of the next ingest batch
// ready while the importing thread writes the current one (it parses faster than a batch is
// written), and at most ~800 parsed objects wait ahead of the batch being written. Smaller messages
// than the 500 before: an object waits on the parser thread until its message leaves, and the
// fewer wait, the fewer a young-generation collection has to keep and promote (parsing and
// preparing a 1.5 GB catalog took ~10 % less time). 4 messages instead of 10: the same speed, and
// a big import's peak RSS 15–25 MB lower: the objects waiting ahead are much of what the
// importing thread's heap holds (bench/README.md).
const BATCH_EVENTS = 200;
const WINDOW = 4;

// The parser thread's heap: it holds one XML object and a few batches, so a cap on the old
// generation keeps its memory near its needs. The young generation is where a parsed object
// lives until it is posted: at 8 MB too many outlived a scavenge and were promoted, and the
// old-generation marking cost more than the parsing. 24 MB: 10–20 CPU seconds less on a 1.5 GB
// import, 8–15 MB more peak RSS (bench/README.md). (32 MB parsed and prepared a little faster
// still, but the endpoint's peak RSS came within 5 MB of its 256 MB target.)
const RESOURCE_LIMITS = { maxYoungGenerationSizeMb: 24, maxOldGenerationSizeMb: 64 };

/**
 * parseCommerceMl on a worker thread: the same events in the same order, with the same faults,
 * while the calling thread ingests what was parsed before (a 1 GB catalog keeps two cores busy
 * instead of one). Backpressure: the parser runs at most a few batches ahead of the consumer.
 * Items are plain objects (`raw` only for `rawFor` entities), or prepared for ingest where
 * `prepare` says so. Aborting ends the thread.
 */
export function parseCommerceMlInWorker(
  path: string,
  options: PrepareInWorkerOptions,
): AsyncIterable<CmlEvent<IngestItem>>;
export function parseCommerceMlInWorker(
  path: string,
  options?: ParseInWorkerOptions,
): AsyncIterable<CmlEvent>;
export async function* parseCommerceMlInWorker(
  path: string,
  options: ParseInWorkerOptions & { prepare?: PrepareInWorker } = {},
): AsyncIterable<CmlEvent<IngestItem>> {
  const data: ParseWorkerData = {
    path,
    fileLabel: options.fileLabel ?? basename(path),
    rawFor: [...(options.rawFor ?? [])],
    batchEvents: BATCH_EVENTS,
    window: WINDOW,
    receiving: options.received !== undefined,
    ...(options.prepare ? { prepare: options.prepare } : {}),
  };
  const worker = new Worker(workerEntry(), { workerData: data, resourceLimits: RESOURCE_LIMITS });
  const control = (message: ControlMessage) => worker.postMessage(message);
  // Forwarding stops with the import, whichever way it ends.
  const forwarding = new AbortController();
  if (options.received) void forwardReceived(options.received, control, forwarding.signal);
  const inbox: WorkerMessage[] = [];
  let stopped: Error | undefined;
  let ended = false;
  let wake: (() => void) | undefined;
  const notify = () => {
    wake?.();
    wake = undefined;
  };
  worker.on('message', (message: WorkerMessage) => {
    if ('end' in message) ended = true;
    inbox.push(message);
    notify();
  });
  worker.on('error', (error) => {
    stopped ??= error;
    notify();
  });
  worker.on('exit', (code) => {
    if (!ended)
      stopped ??= new Error(`the CommerceML parser thread stopped unexpectedly (exit code ${code})`);
    notify();
  });
  const onAbort = () => notify();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    for (;;) {
      while (inbox.length === 0 && stopped === undefined && !options.signal?.aborted) {
        await new Promise<void>((resolve) => (wake = resolve));
      }
      if (options.signal?.aborted) throw options.signal.reason ?? new Error('aborted');
      const message = inbox.shift();
      if (message === undefined) throw stopped;
      if ('events' in message) {
        // The credit goes back before these events are used: the parser works meanwhile.
        control(1);
        for (const event of message.events) {
          if (options.signal?.aborted) throw options.signal.reason ?? new Error('aborted');
          yield event;
        }
      } else if ('end' in message) {
        return;
      } else if ('fault' in message) {
        const { file, line, column, message: text } = message.fault;
        throw new CmlSyntaxError(file, line, column, text);
      } else {
        throw new Error(message.error.message);
      }
    }
  } finally {
    forwarding.abort();
    options.signal?.removeEventListener('abort', onAbort);
    await worker.terminate();
  }
}

/** Tells the parser thread each size the file reaches, until it is complete or the import stops. */
async function forwardReceived(
  received: ReceivedBytes,
  control: (message: ControlMessage) => void,
  signal: AbortSignal,
): Promise<void> {
  let size = -1;
  try {
    for (;;) {
      const state = await received.wait(size, signal);
      control({ received: state });
      if (state.complete) return;
      size = state.size;
    }
  } catch {
    // Aborted, or the thread has ended: nobody reads any more.
  }
}

/**
 * Run from the TypeScript sources (tsx), a worker thread does not inherit the loader the main
 * thread registered, so it starts through a small .cjs that registers tsx for itself; a
 * compiled build has parse-worker.js beside this module.
 */
function workerEntry(): URL {
  const fromSources = import.meta.url.endsWith('.ts');
  return new URL(fromSources ? './parse-worker-tsx.cjs' : './parse-worker.js', import.meta.url);
}
