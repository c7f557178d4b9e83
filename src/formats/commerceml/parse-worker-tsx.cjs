// Entry of the CommerceML parser thread when obmen runs from its TypeScript sources: a worker
// thread does not inherit the loader bin/obmen.mjs (or `node --import tsx`) registered on the
// main thread. tsx's CommonJS hook compiles in this thread; its ESM hook would start one more
// loader thread (measured: ~20 MB of RSS against ~12 MB).
require('tsx/cjs/api').register();
require('./parse-worker.ts');
