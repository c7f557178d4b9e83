#!/usr/bin/env node
// Builds the dashboard (web/) into web/dist with Vite. With --if-stale it does nothing when
// web/dist/index.html is newer than every source file, so `npm start` and `npm test` can call
// it every time at no cost. The build output is not committed: this is how it comes to exist.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const web = fileURLToPath(new URL('../web/', import.meta.url));
const index = join(web, 'dist', 'index.html');

function newestSource(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'dist' || entry.name === 'node_modules') continue;
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestSource(path) : statSync(path).mtimeMs);
  }
  return newest;
}

function builtAt() {
  try {
    return statSync(index).mtimeMs;
  } catch {
    return 0;
  }
}

if (process.argv.includes('--if-stale') && builtAt() >= newestSource(web)) process.exit(0);

let vite;
try {
  vite = await import('vite');
} catch {
  console.error(
    'obmen: cannot build the dashboard because vite is not installed (install dev dependencies: npm ci). ' +
      'The API works without the dashboard.',
  );
  process.exit(process.argv.includes('--if-stale') ? 0 : 1);
}
await vite.build({ root: web, configFile: join(web, 'vite.config.ts'), logLevel: 'warn' });
console.error(`obmen: dashboard built into ${join(web, 'dist')}`);
