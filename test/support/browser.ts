import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';

/** Debian's Chromium (`apt-get install -y chromium`); the CI script installs it when absent. */
export const CHROMIUM_PATH = process.env.OBMEN_CHROMIUM ?? '/usr/bin/chromium';

// Headless with nothing that phones home: the test machines have no internet, and a browser
// waiting on a network timeout makes a test slow for no reason.
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Why browser tests cannot run here, or undefined when they can. */
export function browserMissing(): string | undefined {
  if (existsSync(CHROMIUM_PATH)) return undefined;
  return `no Chromium at ${CHROMIUM_PATH}: install it with "apt-get install -y chromium" (or set OBMEN_CHROMIUM)`;
}

/** Launches Chromium with a fresh throw-away profile (playwright creates and removes it). */
export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: ARGS, timeout: 60_000 });
}
