import type { Bitrix24Emulator } from '../../emulators/bitrix24/index.ts';

/** Calls a REST method of the emulated portal through its inbound webhook, as a user's script would. */
export async function b24rest(e: Bitrix24Emulator, method: string, body: unknown): Promise<unknown> {
  const res = await fetch(`${e.webhookUrl}${method}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return ((await res.json()) as { result: unknown }).result;
}
