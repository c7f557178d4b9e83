import type { CustomEntityDeclaration } from '../../core/entities/index.ts';
import type { IngestItem } from '../../engine/prepared.ts';
import type { ReceivedSoFar } from './received-bytes.ts';
import type { CmlEvent } from './types.ts';

/** What parseCommerceMlInWorker hands its parser thread. */
export interface ParseWorkerData {
  path: string;
  fileLabel: string;
  /** Entities whose items carry `raw` (a source mapping may read it). */
  rawFor: string[];
  /** Events per message. */
  batchEvents: number;
  /** Batches the parser may run ahead of the importing thread. */
  window: number;
  /** The file is still arriving: how much may be read comes in `received` messages. */
  receiving: boolean;
  /** Items of these entities leave prepared for ingest (engine/prepared.ts); none when absent. */
  prepare?: PrepareInWorker;
}

/** What the parser thread needs to prepare items as the importing thread's ingest would take them. */
export interface PrepareInWorker {
  entities: string[];
  /** The configuration's custom entities (obmen.yaml `entities:`), for the same registry. */
  custom: CustomEntityDeclaration[];
}

/** Parser thread → importing thread. The importing thread answers each `events` with a credit. */
export type WorkerMessage =
  | { events: CmlEvent<IngestItem>[] }
  | { end: true }
  | { fault: { file: string; line: number; column: number; message: string } }
  | { error: { message: string } };

/** Importing thread → parser thread: a credit for one more batch, or more of the file arrived. */
export type ControlMessage = 1 | { received: ReceivedSoFar };
