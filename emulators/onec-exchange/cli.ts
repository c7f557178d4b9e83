import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { ExchangeClient } from '../../src/exchange/commerceml/index.ts';
import { generatePackage, type PackageFile, runCatalogExchange } from './catalog.ts';
import { runSaleExchange } from './sale.ts';

const USAGE = `obmen emulate onec-exchange --url URL --login L --password P [options]

Acts as 1C:Enterprise's "Обмен с сайтом" against a 1C-Bitrix-compatible endpoint.
  --type catalog|sale     exchange to run (default catalog)
  --goods N               catalog: generate N goods (import.xml + offers.xml)
  --properties N          properties per generated good (default 5)
  --seed N                generator seed (default 1)
  --files DIR             catalog: send the files of DIR (subfolders such as import_files/ kept);
                          sale: 1C's order documents to send back after the query
  --version V             CommerceML version announced at init (default 2.08)
  --no-zip                never zip, even when the server answers zip=yes
  --no-confirm            sale: do not send mode=success after the query
  --finish                catalog: also call mode=deactivate and mode=complete`;

async function listFiles(dir: string): Promise<PackageFile[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => {
      const path = join(e.parentPath, e.name);
      return { name: relative(dir, path).split('\\').join('/'), path };
    });
}

/** `obmen emulate onec-exchange …`; resolves with the process exit code. */
export async function runOnecExchangeEmulatorCli(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    allowPositionals: false,
    options: {
      url: { type: 'string' },
      login: { type: 'string' },
      password: { type: 'string' },
      type: { type: 'string', default: 'catalog' },
      goods: { type: 'string' },
      properties: { type: 'string', default: '5' },
      seed: { type: 'string', default: '1' },
      files: { type: 'string' },
      version: { type: 'string', default: '2.08' },
      'no-zip': { type: 'boolean', default: false },
      'no-confirm': { type: 'boolean', default: false },
      finish: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help || !values.url || values.login === undefined) {
    process.stdout.write(`${USAGE}\n`);
    return values.help ? 0 : 2;
  }
  const client = new ExchangeClient({
    url: values.url,
    login: values.login,
    password: values.password ?? process.env.ONEC_EXCHANGE_PASSWORD ?? '',
  });
  const say = (text: string) => process.stdout.write(`${text}\n`);
  const started = Date.now();
  if (values.type === 'sale') {
    const documents = values.files ? await listFiles(values.files) : [];
    const result = await runSaleExchange({
      client,
      version: values.version,
      confirm: !values['no-confirm'],
      documents,
      onProgress: say,
    });
    say(`orders received: ${result.orders}; confirmed: ${result.confirmed ? 'yes' : 'no'}`);
    return 0;
  }
  if (values.type !== 'catalog') {
    process.stderr.write(`--type ${values.type}: use catalog or sale\n`);
    return 2;
  }
  let temp: string | undefined;
  let files: PackageFile[];
  if (values.files) {
    files = await listFiles(values.files);
  } else {
    temp = await mkdtemp(join(tmpdir(), 'onec-exchange-'));
    const goods = Number(values.goods ?? 1000);
    say(`generating ${goods} goods…`);
    files = await generatePackage(temp, {
      goods,
      propertiesPerGood: Number(values.properties),
      seed: Number(values.seed),
    });
  }
  try {
    const result = await runCatalogExchange({
      client,
      files,
      version: values.version,
      zip: values['no-zip'] ? 'never' : 'auto',
      finish: values.finish,
      onProgress: say,
    });
    const seconds = (Date.now() - started) / 1000;
    say(
      `done in ${seconds.toFixed(1)} s: ${result.bytesSent} bytes sent${result.zipped ? ' (zip)' : ''}, ${result.importCalls} import calls, ${result.requests} requests`,
    );
    return 0;
  } finally {
    if (temp) await rm(temp, { recursive: true, force: true });
  }
}
