import type { Bitrix24Emulator } from '../../emulators/bitrix24/index.ts';
import type { Store } from '../../src/store/store.ts';
import { waitUntil } from './processes.ts';

/** Calls a REST method of the emulated portal through its inbound webhook, as a user's script would. */
export async function b24rest(e: Bitrix24Emulator, method: string, body: unknown): Promise<unknown> {
  const res = await fetch(`${e.webhookUrl}${method}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return ((await res.json()) as { result: unknown }).result;
}

/** Lets the portal's events reach the hub and waits until the hub has processed every one. */
export async function eventsProcessed(e: Bitrix24Emulator, store: Store, system: string): Promise<void> {
  await e.settleEvents();
  await waitUntil(
    async () =>
      (
        await store.db
          .selectFrom('inbox')
          .select('id')
          .where('system', '=', system)
          .where('state', '=', 'received')
          .execute()
      ).length === 0,
    10_000,
    'every Bitrix24 event is processed',
  );
}

/** The portal's writes by method since `before` (a copy of stats().writesByMethod): a stray one shows. */
export function writesSince(e: Bitrix24Emulator, before: Record<string, number>): Record<string, number> {
  return Object.fromEntries(
    Object.entries(e.stats().writesByMethod)
      .map(([method, n]) => [method, n - (before[method] ?? 0)] as const)
      .filter(([, n]) => n > 0),
  );
}
