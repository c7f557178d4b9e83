import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startHttpTarget } from './server.ts';

export type { Faults, IncomingItem } from './faults.ts';
export { type HttpTarget, type HttpTargetOptions, startHttpTarget } from './server.ts';
export type { HeldObject, TargetStats } from './store.ts';

/** `node --import tsx emulators/http-target/index.ts --port 9100 [--host h] [--token t] [--latency ms] [--error-rate r]` */
export async function main(argv: string[] = process.argv.slice(2)): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string', default: '9100' },
      host: { type: 'string', default: '127.0.0.1' },
      token: { type: 'string' },
      latency: { type: 'string' },
      'error-rate': { type: 'string' },
      'rate-limit': { type: 'string' },
    },
  });
  const rate = values['rate-limit'] ? Number(values['rate-limit']) : undefined;
  const target = await startHttpTarget({
    port: Number(values.port),
    host: values.host,
    token: values.token ?? process.env.HTTP_TARGET_TOKEN,
    faults: {
      latencyMs: Number(values.latency ?? 0),
      errorRate: Number(values['error-rate'] ?? 0),
      ...(rate ? { rateLimit: { perSecond: rate, burst: rate } } : {}),
    },
  });
  process.stdout.write(`${target.url}\n`);
  const stop = () => void target.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

const entry = process.argv[1];
if (entry && realpathSync(entry) === realpathSync(fileURLToPath(import.meta.url))) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
