import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/**
 * WAL checkpoints of a SQLite file on a thread of their own, for the process that writes it
 * all day (`obmen start`). A checkpoint copies the pages written to the WAL into the database
 * file; run by the connection that commits (SQLite's auto-checkpoint), it took 13 % of the
 * importing thread during a big 1C import, time that thread spent copying pages instead of
 * storing the next chunk (perf, bench/README.md). Here a second connection, on another thread,
 * checkpoints PASSIVE every `everyMs`: it never waits for the writer and the writer never waits
 * for it. The writer's own auto-checkpoint stays (store.ts): once the WAL passes its limit it
 * copies what is left since this thread's last pass, and a WAL fully copied is reused from its
 * start by the next transaction, so the file does not grow.
 */
export interface Checkpointer {
  stop(): Promise<void>;
}

/**
 * The thread's code: a few lines of CommonJS, so it needs neither TypeScript nor an entry file
 * of its own in the compiled build; the driver is the one this module resolves.
 */
const SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const database = new Database(workerData.path, { fileMustExist: true });
// As the writer's connection: the database file is synced after each checkpoint, not each page.
database.pragma('synchronous = NORMAL');
const timer = setInterval(() => {
  try {
    database.pragma('wal_checkpoint(PASSIVE)');
  } catch {
    // Busy (another checkpoint runs) or the file is being closed: the next pass tries again.
  }
}, workerData.everyMs);
parentPort.once('message', () => {
  clearInterval(timer);
  database.close();
  parentPort.close();
});
`;

export function startCheckpointer(path: string, everyMs = 500): Checkpointer {
  const driver = createRequire(import.meta.url).resolve('better-sqlite3');
  // A few MB of heap at most: it holds a connection and a timer.
  const worker = new Worker(SOURCE, {
    eval: true,
    workerData: { path, driver, everyMs },
    resourceLimits: { maxOldGenerationSizeMb: 8, maxYoungGenerationSizeMb: 2 },
  });
  // Checkpoints are an optimisation: if the thread fails, the writer's auto-checkpoint does them.
  worker.on('error', () => {});
  worker.unref();
  const exited = new Promise<void>((done) => worker.once('exit', () => done()));
  return {
    stop() {
      // Held open until the thread has closed its connection (unreferenced, it would not keep a
      // process alive that has nothing else to do).
      worker.ref();
      worker.postMessage('stop');
      return exited;
    },
  };
}
