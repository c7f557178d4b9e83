import { parseArgs } from 'node:util';
import { startBitrix24Emulator } from './server.ts';

/**
 * `obmen emulate bitrix24 --port N [--plan enterprise] [--latency ms] [--error-rate x] [--drop-events x]
 *  [--webhook-code c] [--client-id id --client-secret s [--redirect-uri url]]`. Prints the webhook URL and, with OAuth,
 * the tokens of a freshly installed app; runs until SIGINT/SIGTERM.
 */
export async function runBitrix24EmulatorCli(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string', default: '9124' },
      host: { type: 'string', default: '127.0.0.1' },
      plan: { type: 'string', default: 'standard' },
      latency: { type: 'string' },
      'error-rate': { type: 'string' },
      'drop-events': { type: 'string' },
      'webhook-code': { type: 'string', default: 'emulatorcode' },
      'client-id': { type: 'string' },
      'client-secret': { type: 'string' },
      'redirect-uri': { type: 'string' },
    },
  });
  if (values.plan !== 'standard' && values.plan !== 'enterprise') {
    process.stderr.write(`--plan ${values.plan}: use standard or enterprise\n`);
    return 2;
  }
  const numberOf = (name: string, value: string | undefined, max: number): number => {
    const n = Number(value ?? 0);
    if (!Number.isFinite(n) || n < 0 || n > max)
      throw new Error(`--${name} ${value}: expected a number from 0 to ${max}`);
    return n;
  };
  const oauth =
    values['client-id'] && values['client-secret']
      ? {
          clientId: values['client-id'],
          clientSecret: values['client-secret'],
          ...(values['redirect-uri'] ? { redirectUri: values['redirect-uri'] } : {}),
        }
      : undefined;
  const emulator = await startBitrix24Emulator({
    port: Number(values.port),
    host: values.host,
    plan: values.plan,
    webhook: { userId: 1, code: values['webhook-code'] },
    ...(oauth ? { oauth } : {}),
    faults: {
      latencyMs: numberOf('latency', values.latency, 600_000),
      errorRate: numberOf('error-rate', values['error-rate'], 1),
      dropEvents: numberOf('drop-events', values['drop-events'], 1),
    },
  });
  process.stdout.write(`Bitrix24 emulator (${values.plan}) at ${emulator.url}\n`);
  process.stdout.write(`webhook: ${emulator.webhookUrl}\n`);
  if (oauth) {
    const tokens = emulator.issueTokens();
    process.stdout.write(
      `token server: ${emulator.tokenUrl}\naccess_token: ${tokens.access_token}\nrefresh_token: ${tokens.refresh_token}\n`,
    );
  }
  process.stdout.write(`stats: ${emulator.url}/_stats\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await emulator.close();
  return 0;
}
