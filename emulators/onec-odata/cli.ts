import { parseArgs } from 'node:util';
import { DEFAULT_USER, MAX_ITEMS, startOnecOdataEmulator } from './server.ts';

const USAGE = `obmen emulate onec-odata [options]
  --port N              TCP port (default 9200)
  --host H              address to listen on (default 127.0.0.1)
  --base NAME           publication name: /NAME/odata/standard.odata (default ut11)
  --items N             products in Catalog_Номенклатура (default 1000, up to ${MAX_ITEMS})
  --counterparties N    objects in Catalog_Контрагенты (default 100)
  --metadata-catalogs N catalogs described in $metadata only, for a real-sized $metadata
                        (about 3 KB each: 5000 ≈ 15 MB, like a УТ 11 publication)
  --login L --password P   the 1C user (default ${DEFAULT_USER.login} / ${DEFAULT_USER.password})
  --latency MS          delay before every answer
  --error-rate R        share of requests answered 503 (0…1)
  --hang-rate R         share of requests never answered
  --html-rate R         share of requests answered by an HTML error page with status 200
  --business-error-rate R   share of writes refused with HTTP 500 code -1
  --seed N              seed of the fault generator (default 1)

What a 1C user does to an order obmen wrote (the control API, no login):
  GET  /_orders                      orders with their Статус and register state
  POST /_orders/<Ref_Key>/status     {"status":"КВыполнению"}
  POST /_orders/<Ref_Key>/payment    {"percent":100}
  POST /_orders/<Ref_Key>/shipment   {"percent":100}
  POST /_orders/<Ref_Key>/cancel`;

function rate(value: string | undefined, name: string): number {
  if (value === undefined) return 0;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || n > 1)
    throw new Error(`--${name} must be a number from 0 to 1, got ${value}`);
  return n;
}

function count(
  value: string | undefined,
  name: string,
  fallback: number,
  max = Number.MAX_SAFE_INTEGER,
): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > max)
    throw new Error(`--${name} must be an integer 0…${max}, got ${value}`);
  return n;
}

/** Runs the 1C OData emulator until SIGINT/SIGTERM; prints the service URL on stdout. */
export async function runOnecOdataEmulatorCli(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      base: { type: 'string' },
      items: { type: 'string' },
      counterparties: { type: 'string' },
      'metadata-catalogs': { type: 'string' },
      login: { type: 'string' },
      password: { type: 'string' },
      latency: { type: 'string' },
      'error-rate': { type: 'string' },
      'hang-rate': { type: 'string' },
      'html-rate': { type: 'string' },
      'business-error-rate': { type: 'string' },
      seed: { type: 'string' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const emulator = await startOnecOdataEmulator({
    port: count(values.port, 'port', 9200, 65535),
    host: values.host ?? '127.0.0.1',
    base: values.base ?? 'ut11',
    items: count(values.items, 'items', 1000, MAX_ITEMS),
    counterparties: count(values.counterparties, 'counterparties', 100, MAX_ITEMS),
    extraCatalogs: count(values['metadata-catalogs'], 'metadata-catalogs', 0, 20_000),
    users: [
      { login: values.login ?? DEFAULT_USER.login, password: values.password ?? DEFAULT_USER.password },
    ],
    seed: count(values.seed, 'seed', 1),
    faults: {
      latencyMs: count(values.latency, 'latency', 0),
      errorRate: rate(values['error-rate'], 'error-rate'),
      hangRate: rate(values['hang-rate'], 'hang-rate'),
      htmlRate: rate(values['html-rate'], 'html-rate'),
      businessErrorRate: rate(values['business-error-rate'], 'business-error-rate'),
    },
  });
  process.stdout.write(`${emulator.url}\n`);
  await new Promise<void>((resolve) => {
    const stop = () => void emulator.close().then(resolve);
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}
