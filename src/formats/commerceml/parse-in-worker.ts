import { basename } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { IngestItem } from '../../engine/prepared.ts';
import { CmlSyntaxError } from './errors.ts';
import { eachEvent } from './event-batches.ts';
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

// 200 events a message and 6 messages ahead: the parser keeps the whole next ingest batch (1,000
// objects, 5 messages) and one message more ready while the importing thread writes the current
// one. With 4 messages ahead, less than a batch, each thread waited for the other 7–14 s of a
// 1.5 GB import, and it took 5–20 % longer; it had been cut from 10 for memory, which the prepared
// texts no longer take on the importing thread's heap (bench/README.md). Smaller messages than
// the 500 before: an object waits on the parser thread until its message leaves, and the fewer
// wait, the fewer a young-generation collection has to keep and promote.
const BATCH_EVENTS = 200;
const WINDOW = 6;

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
export function parseCommerceMlInWorker(
  path: string,
  options: ParseInWorkerOptions & { prepare?: PrepareInWorker } = {},
): AsyncIterable<CmlEvent<IngestItem>> {
  return eachEvent(parseCommerceMlBatchesInWorker(path, options), options.signal);
}

/** parseCommerceMlInWorker's events as they cross from the parser thread: in arrays, never empty. */
export function parseCommerceMlBatchesInWorker(
  path: string,
  options: PrepareInWorkerOptions,
): AsyncIterable<CmlEvent<IngestItem>[]>;
export function parseCommerceMlBatchesInWorker(
  path: string,
  options?: ParseInWorkerOptions,
): AsyncIterable<CmlEvent[]>;
export async function* parseCommerceMlBatchesInWorker(
  path: string,
  options: ParseInWorkerOptions & { prepare?: PrepareInWorker } = {},
): AsyncIterable<CmlEvent<IngestItem>[]> {
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
        if (message.events.length > 0) yield message.events;
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
