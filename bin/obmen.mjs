#!/usr/bin/env node
// Entry point. Runs the compiled obmen (dist/cli, built by scripts/build-cli.mjs at
// `npm install` / `npm start` / `npm test`) while it is up to date with the sources; otherwise
// — no build yet, a source edited since, or OBMEN_FROM_SOURCES=1 — the TypeScript sources
// through tsx's loader, so there is no build step to forget and never an old build running.
import { pathToFileURL } from 'node:url';
import { BUNDLE_ENTRY, bundleIsFresh } from '../scripts/cli-bundle.mjs';

if (process.env.OBMEN_FROM_SOURCES !== '1' && bundleIsFresh()) {
  await import(pathToFileURL(BUNDLE_ENTRY).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  const { main } = await import('../src/cli/main.ts');
  process.exitCode = await main(process.argv.slice(2));
}
