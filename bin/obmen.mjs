#!/usr/bin/env -S node --max-semi-space-size=8 --v8-pool-size=2
import { pathToFileURL } from 'node:url';
// Entry point. Runs the compiled obmen (dist/cli, built by scripts/build-cli.mjs at
// `npm install` / `npm start` / `npm test`) while it is up to date with the sources; otherwise
// — no build yet, a source edited since, or OBMEN_FROM_SOURCES=1 — the TypeScript sources
// through tsx's loader, so there is no build step to forget and never an old build running.
import { setFlagsFromString } from 'node:v8';
import { BUNDLE_ENTRY, bundleIsFresh } from '../scripts/cli-bundle.mjs';

// The node flags on the first line are for what V8 reads only as the process starts, so they
// cannot be set from here: a young generation of 2 × 8 MB instead of 2 × 16 MB keeps a 1.5 GB
// CommerceML import 20–40 MB lower in peak RSS, under 256 MB, for ~15 % more CPU (the main
// thread collects twice as often; bench/README.md). Two threads for V8's background work (its
// garbage-collector helpers) instead of node's four: on the 2-core machines obmen is sized for,
// four helpers beside the main and parser threads took more CPU than they saved (a 1.5 GB
// import 3–17 % faster, bench/README.md). They apply when this file runs as a
// program (`obmen …`, `npx obmen …`); `npm start` and `npm run obmen` pass the same flags
// (package.json, kept equal by test/cli-compiled.test.ts), and `node bin/obmen.mjs` runs
// without them unless given (or NODE_OPTIONS="--max-semi-space-size=8 --v8-pool-size=2").
//
// V8 lets the heap grow to about four times what is live before a full collection; during a
// big import that alone is ~150 MB more RSS. Growing by half instead keeps a 1.5 GB CommerceML
// import under 256 MB at about the same CPU (bench/README.md). OBMEN_V8_FLAGS replaces the
// default ("" sets none); a flag given to node itself (`node --heap-growing-percent=… bin/obmen.mjs`)
// wins. (Node does not take these flags in NODE_OPTIONS.)
const V8_DEFAULTS = '--heap-growing-percent=50';
const given = new Set(process.execArgv.map((arg) => arg.split('=')[0].replaceAll('_', '-')));
for (const flag of (process.env.OBMEN_V8_FLAGS ?? V8_DEFAULTS).split(/\s+/).filter(Boolean)) {
  if (!given.has(flag.split('=')[0].replaceAll('_', '-'))) setFlagsFromString(flag);
}

if (process.env.OBMEN_FROM_SOURCES !== '1' && bundleIsFresh()) {
  await import(pathToFileURL(BUNDLE_ENTRY).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  const { main } = await import('../src/cli/main.ts');
  process.exitCode = await main(process.argv.slice(2));
}
