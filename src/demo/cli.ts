import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import { parseDuration } from '../config/units.ts';
import { ObmenError } from '../core/errors.ts';
import { DEFAULT_TIMING, demoConfigObject } from './config.ts';
import { DEFAULT_DEMO_OPTIONS, type RunningDemo, runDemo } from './run.ts';

export const DEMO_USAGE = `obmen demo [options] — obmen with emulated 1C, Bitrix24 and two shops, on embedded SQLite

  --port N              dashboard port (default 8080; 0 = any free port)
  --goods N             goods in the emulated 1C (default 5000)
  --exchange-goods N    goods in the CommerceML catalog 1C's exchange pushes once (default 50)
  --orders-every T      a storefront order every T (default 25s)
  --poll T              how often 1C is polled for catalog changes (default 1m)
  --orders-poll T       how often the shops and Bitrix24 are asked for new orders (default 20s)
  --data DIR            folder of demo.db (default ./data; the demo starts fresh every run)
  --no-faults           no injected errors and latency
  --print-config        print the obmen.yaml the demo runs and exit
Admin: login from $OBMEN_ADMIN_LOGIN (default admin), password from $OBMEN_ADMIN_PASSWORD or random.`;

function count(value: string | undefined, name: string, fallback: number, max: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > max)
    throw new ObmenError('config', `--${name} ${value}: give an integer 0…${max}`);
  return n;
}

/** What a newcomer reads first: where to look and what is going on behind the dashboard. */
export function demoBanner(demo: RunningDemo, goods: number): string {
  const e = demo.emulators;
  return [
    '',
    'obmen demo is running.',
    '',
    `  Dashboard:  ${demo.url}`,
    `  Login:      ${demo.login}`,
    `  Password:   ${demo.password}`,
    '',
    'What is going on:',
    `  • 1C (OData, ${goods} goods) ${e.onec.publicationUrl} — obmen polls goods, prices, stock, counterparties`,
    `  • 1C exchange ("Обмен с сайтом") pushes a CommerceML catalog into ${demo.url}/bitrix/admin/1c_exchange.php`,
    `  • Bitrix24 ${e.bitrix24.url} — gets counterparties, goods and orders as deals`,
    `  • Shop ${e.shop.url} — gets the catalog on every change; buyers place orders`,
    `  • Outlet ${e.outlet.url} — the same catalog in bulk on a schedule; a flaky host (503s)`,
    '  • Orders from both shops go to 1C (Заказ клиента) and to Bitrix24.',
    '  • Faults are injected on purpose: watch retries, failures and alerts in the dashboard.',
    '  Emulator state: <system>/_stats and <site>/_state.',
    '',
    'Ctrl-C stops everything.',
  ].join('\n');
}

/** `obmen demo …`: runs until SIGINT/SIGTERM, then stops everything and resolves with 0. */
export async function runDemoCli(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string' },
      goods: { type: 'string' },
      'exchange-goods': { type: 'string' },
      'orders-every': { type: 'string' },
      poll: { type: 'string' },
      'orders-poll': { type: 'string' },
      data: { type: 'string' },
      'no-faults': { type: 'boolean', default: false },
      'print-config': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const say = DEFAULT_DEMO_OPTIONS.say;
  if (values.help) {
    say(DEMO_USAGE);
    return 0;
  }
  const port = count(values.port ?? process.env.OBMEN_API_PORT, 'port', DEFAULT_DEMO_OPTIONS.port, 65535);
  const goods = count(values.goods, 'goods', DEFAULT_DEMO_OPTIONS.goods, 1_000_000);
  const exchangeGoods = count(
    values['exchange-goods'],
    'exchange-goods',
    DEFAULT_DEMO_OPTIONS.exchangeGoods,
    100_000,
  );
  const orderEveryMs = values['orders-every']
    ? parseDuration(values['orders-every'])
    : DEFAULT_DEMO_OPTIONS.orderEveryMs;
  const poll = values.poll ?? DEFAULT_TIMING.catalogPoll;
  const ordersPoll = values['orders-poll'] ?? DEFAULT_TIMING.ordersPoll;
  // Checked here so a typo is named as the flag, not as a config field.
  parseDuration(poll);
  parseDuration(ordersPoll);
  const timing = { ...DEFAULT_TIMING, catalogPoll: poll, ordersPoll };
  const dataDir = values.data ?? DEFAULT_DEMO_OPTIONS.dataDir;

  if (values['print-config']) {
    const placeholder = 'http://127.0.0.1:<port>';
    const shown = demoConfigObject(
      {
        onecOdataUrl: `${placeholder}/ut11`,
        onecLogin: 'Обмен',
        onecPassword: '<generated>',
        bitrix24Url: placeholder,
        bitrix24WebhookCode: '<generated>',
        site1Url: placeholder,
        site2Url: placeholder,
        siteLogin: 'obmen',
        sitePassword: '<generated>',
        exchangeLogin: 'exchange',
        exchangePassword: '<generated>',
      },
      `${dataDir}/demo.db`,
      port,
      `${dataDir}/demo-exchange`,
      timing,
    );
    say(stringify(shown));
    return 0;
  }

  say(`starting the demo: emulators, ${goods} goods in 1C, a fresh ${dataDir}/demo.db …`);
  const demo = await runDemo({
    port,
    goods,
    exchangeGoods,
    orderEveryMs,
    timing,
    dataDir,
    faults: !values['no-faults'],
    adminLogin: process.env.OBMEN_ADMIN_LOGIN || DEFAULT_DEMO_OPTIONS.adminLogin,
    ...(process.env.OBMEN_ADMIN_PASSWORD ? { adminPassword: process.env.OBMEN_ADMIN_PASSWORD } : {}),
  });
  say(demoBanner(demo, goods));
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  say('stopping the demo…');
  await demo.stop();
  say('demo stopped.');
  return 0;
}
