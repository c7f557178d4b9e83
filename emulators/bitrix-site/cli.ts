import { parseArgs } from 'node:util';
import { generateOrders } from './orders.ts';
import { startBitrixSite } from './server.ts';

const USAGE = `obmen emulate bitrix-site --port N --login L --password P [options]

Runs a 1C-Bitrix site's /bitrix/admin/1c_exchange.php (catalog and sale) with an in-memory shop.
  --port N              port (default 9180); --host H (default 127.0.0.1)
  --login L --password P  the exchange user (password also from BITRIX_SITE_PASSWORD)
  --orders-every 30s    the storefront places an order every interval (s, m or ms)
  --file-limit BYTES    file_limit answered at init (default 204800, Bitrix's default)
  --no-zip              answer zip=no at init
  --utf8                answer in UTF-8 instead of windows-1251
  --import-step MS      how long one mode=import call works before answering progress (default 30000)
  --latency MS          delay every exchange answer
  --error-rate X        share of exchange requests answered HTTP 503 (0..1)
  --fail-import TEXT    every mode=import answers failure with TEXT
  --rest-code CODE      the site's REST module with an inbound webhook /rest/<user>/CODE/ (sale.*, catalog.*);
                        code also from BITRIX_SITE_REST_CODE
  --rest-user N         user id of that webhook (default 1)
  --rest-rate N --rest-burst N   its leaky bucket: requests per second and bucket size (default 2, 50)`;

/** Parses "30s", "2m", "500ms" or plain seconds into milliseconds. */
export function parseInterval(value: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(value.trim());
  if (!match) throw new Error(`--orders-every ${value}: write it like 30s, 2m or 500ms`);
  const n = Number(match[1]);
  return match[2] === 'ms' ? n : match[2] === 'm' ? n * 60_000 : n * 1000;
}

/** `obmen emulate bitrix-site …`; runs until SIGINT/SIGTERM and resolves with the exit code. */
export async function runBitrixSiteEmulatorCli(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string', default: '9180' },
      host: { type: 'string', default: '127.0.0.1' },
      login: { type: 'string' },
      password: { type: 'string' },
      'orders-every': { type: 'string' },
      'file-limit': { type: 'string' },
      'no-zip': { type: 'boolean', default: false },
      utf8: { type: 'boolean', default: false },
      'import-step': { type: 'string' },
      latency: { type: 'string' },
      'error-rate': { type: 'string' },
      'fail-import': { type: 'string' },
      'rest-code': { type: 'string' },
      'rest-user': { type: 'string', default: '1' },
      'rest-rate': { type: 'string' },
      'rest-burst': { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  const password = values.password ?? process.env.BITRIX_SITE_PASSWORD;
  if (values.help || !values.login || password === undefined) {
    process.stdout.write(`${USAGE}\n`);
    return values.help ? 0 : 2;
  }
  const every = values['orders-every'] ? parseInterval(values['orders-every']) : undefined;
  const restCode = values['rest-code'] ?? process.env.BITRIX_SITE_REST_CODE;
  const site = await startBitrixSite({
    port: Number(values.port),
    host: values.host,
    login: values.login,
    password,
    encoding: values.utf8 ? 'utf-8' : 'windows-1251',
    zip: !values['no-zip'],
    ...(values['file-limit'] ? { fileLimit: Number(values['file-limit']) } : {}),
    ...(values['import-step'] ? { importStepMs: Number(values['import-step']) } : {}),
    faults: {
      latencyMs: Number(values.latency ?? 0),
      errorRate: Number(values['error-rate'] ?? 0),
      failImport: values['fail-import'],
    },
    ...(restCode
      ? {
          rest: {
            userId: Number(values['rest-user']),
            code: restCode,
            ...(values['rest-rate'] ? { rate: Number(values['rest-rate']) } : {}),
            ...(values['rest-burst'] ? { burst: Number(values['rest-burst']) } : {}),
          },
        }
      : {}),
  });
  process.stdout.write(`1C-Bitrix site emulator: ${site.exchangeUrl}\nstate: ${site.url}/_state\n`);
  // The webhook address holds the code; print it masked, as obmen's logs do.
  if (site.restUrl) process.stdout.write(`REST webhook: ${site.url}/rest/${values['rest-user']}/***/\n`);
  // The same complaint every interval would bury the log: say it once until it changes.
  let lastProblem: string | undefined;
  const timer =
    every === undefined
      ? undefined
      : setInterval(() => {
          try {
            const [order] = generateOrders(site.state, 1);
            lastProblem = undefined;
            process.stdout.write(`order ${order?.id} placed\n`);
          } catch (error) {
            const problem = (error as Error).message;
            if (problem !== lastProblem) process.stdout.write(`no order placed: ${problem}\n`);
            lastProblem = problem;
          }
        }, every);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  if (timer) clearInterval(timer);
  await site.close();
  return 0;
}
