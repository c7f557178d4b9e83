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
}

/** Parser thread → importing thread. The importing thread answers each `events` with a credit. */
export type WorkerMessage =
  | { events: CmlEvent[] }
  | { end: true }
  | { fault: { file: string; line: number; column: number; message: string } }
  | { error: { message: string } };
