// Where the compiled obmen lives and whether it is up to date with the sources. Shared by
// bin/obmen.mjs (runs the bundle when fresh) and scripts/build-cli.mjs (builds it).
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../', import.meta.url));

// Two levels below the repository, like the modules under src/<dir>/: code that finds files
// relative to itself (`new URL('../../package.json', import.meta.url)`, the dashboard in
// web/dist) resolves the same from the bundle as from the sources.
export const BUNDLE_DIR = join(ROOT, 'dist', 'cli');
export const BUNDLE_ENTRY = join(BUNDLE_DIR, 'obmen.js');

/** What the bundle is built from: a change in any of these makes it stale. */
const SOURCES = ['src', 'emulators', 'package.json', 'scripts/build-cli.mjs'];

function newest(path) {
  const stat = statSync(path, { throwIfNoEntry: false });
  if (!stat) return 0;
  if (!stat.isDirectory()) return stat.mtimeMs;
  let latest = stat.mtimeMs; // a deleted or renamed file changes its folder's time
  for (const entry of readdirSync(path, { withFileTypes: true })) {
    if (entry.name === 'node_modules') continue;
    latest = Math.max(latest, newest(join(path, entry.name)));
  }
  return latest;
}

/** Modification time of the built bundle, 0 when there is none. */
export function builtAt() {
  return statSync(BUNDLE_ENTRY, { throwIfNoEntry: false })?.mtimeMs ?? 0;
}

/** True when the bundle exists and no source is newer than it. */
export function bundleIsFresh() {
  const built = builtAt();
  return built > 0 && SOURCES.every((source) => newest(join(ROOT, source)) <= built);
}
