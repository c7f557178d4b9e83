import { parentPort, workerData } from 'node:worker_threads';
import { createEntityRegistry } from '../../core/entities/index.ts';
import { type IngestItem, prepareItem, TextArena } from '../../engine/prepared.ts';
import { CmlSyntaxError } from './errors.ts';
import { parseCommerceMlBatches } from './parser.ts';
import { ReceivedBytes } from './received-bytes.ts';
import type { CmlEvent } from './types.ts';
import type { ControlMessage, ParseWorkerData, WorkerMessage } from './worker-protocol.ts';

/**
 * The parser's side of parseCommerceMlInWorker: parses the file and posts its events in batches
 * of plain objects, at most `window` batches ahead of what the importing thread has taken.
 */
const port = parentPort!;
const { path, fileLabel, rawFor, batchEvents, window, receiving, prepare } = workerData as ParseWorkerData;
const withRaw = new Set(rawFor);
const preparing = new Set(prepare?.entities ?? []);
const registry = prepare ? createEntityRegistry(prepare.custom) : undefined;
// Prepared texts are written here and leave with the batch that holds their items.
const arena = new TextArena();
let credits = window;
let batch: CmlEvent<IngestItem>[] = [];
// Waiting for 1C's next chunk, the parser hands on the events it holds now: the importing thread
// must not wait for a whole batch that only the next chunk would fill. (At most one batch over
// the window: credits go below zero until the importing thread catches up.)
const received = receiving
  ? new ReceivedBytes(() => {
      if (batch.length === 0) return;
      credits--;
      postBatch();
    })
  : undefined;
let wake: (() => void) | undefined;
port.on('message', (message: ControlMessage) => {
  if (message !== 1) {
    if (message.received.complete) received?.finish(message.received.size);
    else received?.grow(message.received.size);
    return;
  }
  credits++;
  wake?.();
  wake = undefined;
});

const post = (message: WorkerMessage) => port.postMessage(message);

/** Posts the batch; the blocks of its prepared texts move to the importing thread, not copied. */
function postBatch(): void {
  const message: WorkerMessage = { events: batch };
  port.postMessage(message, arena.take());
  batch = [];
}

// Items leave as plain objects; `raw` (built lazily by the parser) only for the entities whose
// source mapping may read it, since building and copying it is most of an item's cost. Items of
// the entities to prepare leave prepared for ingest instead (their text as UTF-8, not an object tree).
function plain(event: CmlEvent): CmlEvent<IngestItem> {
  if (event.kind !== 'item') return event;
  const { externalId, data, deleted } = event.item;
  const item = deleted === undefined ? { externalId, data } : { externalId, data, deleted };
  if (registry && preparing.has(event.entity))
    return { ...event, item: prepareItem(registry, event.entity, item, arena) };
  if (withRaw.has(event.entity)) Object.assign(item, { raw: event.item.raw });
  return { ...event, item };
}

async function run(): Promise<void> {
  const send = async () => {
    while (credits <= 0) await new Promise<void>((resolve) => (wake = resolve));
    credits--;
    postBatch();
  };
  try {
    for await (const events of parseCommerceMlBatches(path, {
      fileLabel,
      ...(received ? { received } : {}),
    })) {
      for (const event of events) {
        batch.push(plain(event));
        if (batch.length >= batchEvents) await send();
      }
    }
    if (batch.length > 0) await send();
    post({ end: true });
  } catch (error) {
    // What was parsed before the fault is handed over first, as the in-thread parser yields it.
    if (batch.length > 0) await send();
    if (error instanceof CmlSyntaxError) {
      post({ fault: { file: error.file, line: error.line, column: error.column, message: error.message } });
    } else {
      post({ error: { message: (error as Error)?.message ?? String(error) } });
    }
  }
}

// The importing thread ends this worker once it has read the last message. (No top-level await:
// from the sources this module is loaded through tsx's CommonJS hook, see parse-worker-tsx.cjs.)
void run();
