import pino from 'pino';
import type { SystemConfig } from '../../config/schema.ts';
import { getConnectorFactory } from '../../connectors/registry.ts';
import { classify } from '../../core/errors.ts';
import { createHttpClient } from '../../http/client.ts';
import { redactText } from '../../http/redact.ts';
import type { Store } from '../../store/store.ts';

const TEST_TIMEOUT_MS = 15_000;

/**
 * "Test connection": builds the system's connector from its effective settings and calls
 * check(). The answer is for people; the credentials are redacted from it whatever the
 * connector put in its error.
 */
export async function testConnection(
  name: string,
  system: SystemConfig,
  store: Store | undefined,
): Promise<{ ok: boolean; message: string }> {
  const factory = getConnectorFactory(system.kind);
  if (!factory) return { ok: false, message: `no connector of kind "${system.kind}" is installed` };
  const secrets = Object.values(system.credentials ?? {}).filter((value) => value.length >= 4);
  const aborter = new AbortController();
  const timer = setTimeout(() => aborter.abort(), TEST_TIMEOUT_MS);
  const http = createHttpClient({
    system: name,
    ...(store ? { store } : {}),
    secrets,
    timeoutMs: TEST_TIMEOUT_MS,
    maxRetries: 0,
  });
  let connector: ReturnType<typeof factory.create> | undefined;
  try {
    connector = factory.create({
      systemName: name,
      system,
      http,
      log: pino({ level: 'silent' }),
      signal: aborter.signal,
    });
    await connector.check();
    return { ok: true, message: `${name}: connected, credentials accepted` };
  } catch (error) {
    return { ok: false, message: redactText(classify(error, name).message, secrets) };
  } finally {
    clearTimeout(timer);
    await connector?.close().catch(() => {});
  }
}
