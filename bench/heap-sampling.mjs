/**
 * Where a thread of obmen allocates: a preload that samples every allocation of one thread for
 * a while, the garbage too (node's --heap-prof keeps only what is still alive at exit, which
 * says nothing about the collector's work), and writes a `.heapprofile` for Chrome DevTools or
 * bench/profile-top.ts.
 *
 *   node --import tsx bench/commerceml-endpoint.ts --node-flags="--import=$PWD/bench/heap-sampling.mjs"
 *
 * OBMEN_HEAP_SAMPLING=main (default) or worker: the thread (worker: each worker thread started
 * from a file, e.g. the CommerceML parser's; node runs no preload in an eval'd one);
 * OBMEN_HEAP_SAMPLING_DELAY and _SECONDS: when to start, counted from the thread's start, and
 * for how long (15 and 30; a thread that ends before writes nothing); OBMEN_HEAP_SAMPLING_DIR:
 * where to write (the temporary directory).
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isMainThread, threadId } from 'node:worker_threads';

const which = process.env.OBMEN_HEAP_SAMPLING ?? 'main';
const delaySeconds = Number(process.env.OBMEN_HEAP_SAMPLING_DELAY ?? 15);
const seconds = Number(process.env.OBMEN_HEAP_SAMPLING_SECONDS ?? 30);
const dir = process.env.OBMEN_HEAP_SAMPLING_DIR ?? tmpdir();

if ((which === 'main') === isMainThread) {
  const session = new Session();
  session.connect();
  const post = (method, params) =>
    new Promise((resolve, reject) =>
      session.post(method, params, (error, result) => (error ? reject(error) : resolve(result))),
    );
  // Unref'd: sampling never keeps obmen running.
  setTimeout(async () => {
    await post('HeapProfiler.enable');
    await post('HeapProfiler.startSampling', {
      samplingInterval: 32 * 1024,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: true,
    });
    setTimeout(async () => {
      const { profile } = await post('HeapProfiler.stopSampling');
      const file = join(dir, `obmen-${process.pid}-thread-${threadId}.heapprofile`);
      writeFileSync(file, JSON.stringify(profile));
      process.stderr.write(`heap sampling written to ${file}\n`);
    }, seconds * 1000).unref();
  }, delaySeconds * 1000).unref();
}
