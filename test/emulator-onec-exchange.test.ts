import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { unzipSync } from 'fflate';
import iconv from 'iconv-lite';
import {
  runCatalogExchange,
  runOnecExchangeEmulatorCli,
  runSaleExchange,
} from '../emulators/onec-exchange/index.ts';
import { ExchangeClient } from '../src/exchange/commerceml/index.ts';
import { LOGIN, PASSWORD, startObmen } from './commerceml-endpoint.harness.ts';

/**
 * The 1C exchange emulator against a strict stand-in for a 1C-Bitrix site written here (not
 * obmen's server), so the test checks what the emulator sends: the calls, their order,
 * cookie/sessid, chunk sizes, the zip archive.
 */
interface Seen {
  method: string;
  type: string;
  mode: string;
  filename: string | undefined;
  cookie: string | undefined;
  sessid: string | undefined;
  authorization: string | undefined;
  bytes: number;
}

function bitrixLikeSite(options: { zip: boolean; fileLimit: number; progressSteps: number }) {
  const seen: Seen[] = [];
  const files = new Map<string, Buffer>();
  const importCalls = new Map<string, number>();
  const reply = (text: string) => iconv.encode(text, 'windows-1251');
  const read = async (request: IncomingMessage) => {
    const parts: Buffer[] = [];
    for await (const part of request) parts.push(part as Buffer);
    return Buffer.concat(parts);
  };
  const server: Server = createServer(async (request, response) => {
    const url = new URL(request.url ?? '/', 'http://x');
    const body = await read(request);
    const q = (k: string) => url.searchParams.get(k) ?? undefined;
    seen.push({
      method: request.method ?? '',
      type: q('type') ?? '',
      mode: q('mode') ?? '',
      filename: q('filename'),
      cookie: request.headers.cookie,
      sessid: q('sessid'),
      authorization: request.headers.authorization,
      bytes: body.length,
    });
    response.setHeader('content-type', 'text/html; charset=windows-1251');
    const mode = q('mode');
    if (mode !== 'checkauth' && (request.headers.cookie !== 'PHPSESSID=abc123' || q('sessid') !== 'tok')) {
      response.end(reply('failure\nДоступ запрещен\n'));
      return;
    }
    switch (mode) {
      case 'checkauth':
        response.end(reply('success\nPHPSESSID\nabc123\nsessid=tok\ntimestamp=1700000000\n'));
        return;
      case 'init':
        response.end(reply(`zip=${options.zip ? 'yes' : 'no'}\nfile_limit=${options.fileLimit}\n`));
        return;
      case 'file': {
        const name = q('filename')!;
        files.set(name, Buffer.concat([files.get(name) ?? Buffer.alloc(0), body]));
        response.end(reply('success\n'));
        return;
      }
      case 'import': {
        const name = q('filename')!;
        const calls = (importCalls.get(name) ?? 0) + 1;
        importCalls.set(name, calls);
        response.end(
          reply(
            calls <= options.progressSteps ? `progress\nОбработано ${calls}\n` : 'success\nИмпорт завершен\n',
          ),
        );
        return;
      }
      case 'query':
        response.setHeader('content-type', 'application/xml; charset=windows-1251');
        response.end(
          reply(
            '<?xml version="1.0" encoding="windows-1251"?>\n<КоммерческаяИнформация ВерсияСхемы="2.05"><Документ><Ид>1</Ид></Документ><Документ><Ид>2</Ид></Документ></КоммерческаяИнформация>',
          ),
        );
        return;
      case 'success':
      case 'deactivate':
      case 'complete':
        response.end(reply('success\n'));
        return;
      default:
        response.end(reply('failure\nUnknown\n'));
    }
  });
  return { server, seen, files };
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/bitrix/admin/1c_exchange.php`;
}

describe('1C exchange emulator', () => {
  let work: string;
  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'onec-emu-'));
  });
  after(() => rm(work, { recursive: true, force: true }));

  test('catalog without zip: checkauth, init, files in chunks of file_limit, import until success', async () => {
    const site = bitrixLikeSite({ zip: false, fileLimit: 1000, progressSteps: 2 });
    const url = await listen(site.server);
    try {
      const importXml = Buffer.from(
        `<?xml version="1.0"?><КоммерческаяИнформация>${'x'.repeat(2500)}</КоммерческаяИнформация>`,
      );
      await writeFile(join(work, 'import.xml'), importXml);
      await writeFile(join(work, 'offers.xml'), '<КоммерческаяИнформация/>');
      await writeFile(join(work, 'pic.jpg'), Buffer.from([1, 2, 3]));
      const result = await runCatalogExchange({
        client: new ExchangeClient({ url, login: LOGIN, password: PASSWORD }),
        files: [
          { name: 'offers.xml', path: join(work, 'offers.xml') },
          { name: 'import.xml', path: join(work, 'import.xml') },
          { name: 'import_files/ab/pic.jpg', path: join(work, 'pic.jpg') },
        ],
        finish: true,
      });
      assert.equal(result.zipped, false);
      const modes = site.seen.map((s) => `${s.mode}${s.filename ? `:${s.filename}` : ''}`);
      assert.deepEqual(modes.slice(0, 2), ['checkauth', 'init']);
      // Pictures first, then the XML; import.xml before offers.xml, each import repeated until success.
      const fileCalls = site.seen.filter((s) => s.mode === 'file');
      assert.equal(fileCalls[0]!.filename, 'import_files/ab/pic.jpg');
      assert.ok(fileCalls.every((s) => s.bytes <= 1000 && s.method === 'POST'));
      assert.equal(
        fileCalls.filter((s) => s.filename === 'import.xml').length,
        Math.ceil(importXml.length / 1000),
      );
      assert.ok(site.files.get('import.xml')!.equals(importXml));
      const imports = modes.filter((m) => m.startsWith('import:'));
      assert.deepEqual(imports, [
        'import:import.xml',
        'import:import.xml',
        'import:import.xml',
        'import:offers.xml',
        'import:offers.xml',
        'import:offers.xml',
      ]);
      assert.deepEqual(modes.slice(-2), ['deactivate', 'complete']);
      // After checkauth every call carries the session cookie and sessid; Basic auth is attached too.
      for (const call of site.seen.slice(1)) {
        assert.equal(call.cookie, 'PHPSESSID=abc123');
        assert.equal(call.sessid, 'tok');
        assert.match(call.authorization ?? '', /^Basic /);
      }
      assert.equal(
        Buffer.from(site.seen[0]!.authorization!.slice(6), 'base64').toString('utf8'),
        `${LOGIN}:${PASSWORD}`,
      );
    } finally {
      site.server.close();
    }
  });

  test('catalog with zip=yes: one archive holding every file, then import by name', async () => {
    const site = bitrixLikeSite({ zip: true, fileLimit: 512, progressSteps: 0 });
    const url = await listen(site.server);
    try {
      await writeFile(join(work, 'a.xml'), '<КоммерческаяИнформация>товары</КоммерческаяИнформация>');
      await writeFile(join(work, 'b.xml'), '<КоммерческаяИнформация>предложения</КоммерческаяИнформация>');
      const result = await runCatalogExchange({
        client: new ExchangeClient({ url, login: LOGIN, password: PASSWORD }),
        files: [
          { name: 'import.xml', path: join(work, 'a.xml') },
          { name: 'offers.xml', path: join(work, 'b.xml') },
        ],
      });
      assert.equal(result.zipped, true);
      assert.deepEqual([...site.files.keys()], ['import.zip']);
      const unpacked = unzipSync(new Uint8Array(site.files.get('import.zip')!));
      assert.equal(
        Buffer.from(unpacked['import.xml']!).toString(),
        '<КоммерческаяИнформация>товары</КоммерческаяИнформация>',
      );
      assert.ok(unpacked['offers.xml']);
      assert.deepEqual(
        site.seen.filter((s) => s.mode === 'import').map((s) => s.filename),
        ['import.xml', 'offers.xml'],
      );
    } finally {
      site.server.close();
    }
  });

  test('sale: query then success; the orders XML is decoded by its declaration', async () => {
    const site = bitrixLikeSite({ zip: false, fileLimit: 1000, progressSteps: 0 });
    const url = await listen(site.server);
    try {
      const result = await runSaleExchange({
        client: new ExchangeClient({ url, login: LOGIN, password: PASSWORD }),
      });
      assert.equal(result.orders, 2);
      assert.deepEqual(
        site.seen.map((s) => s.mode),
        ['checkauth', 'init', 'query', 'success'],
      );
      assert.ok(site.seen.every((s) => s.type === 'sale'));
    } finally {
      site.server.close();
    }
  });

  test('the CLI sends a generated catalog into obmen', async () => {
    const obmen = await startObmen({ importStepSeconds: 0.2 });
    const output: string[] = [];
    const write = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((chunk: string) => {
      output.push(String(chunk));
      return true;
    }) as typeof process.stdout.write;
    let code: number;
    try {
      code = await runOnecExchangeEmulatorCli([
        '--url',
        obmen.url,
        '--login',
        LOGIN,
        '--password',
        PASSWORD,
        '--goods',
        '40',
        '--properties',
        '2',
      ]);
    } finally {
      process.stdout.write = write;
    }
    try {
      assert.equal(code, 0, output.join(''));
      assert.match(output.join(''), /done in/);
      assert.equal(await obmen.recordCount('product'), 40);
    } finally {
      await obmen.close();
    }
  });

  test('the CLI without --url prints its usage and exits 2', async () => {
    const write = process.stdout.write.bind(process.stdout);
    const output: string[] = [];
    process.stdout.write = ((chunk: string) => {
      output.push(String(chunk));
      return true;
    }) as typeof process.stdout.write;
    try {
      assert.equal(await runOnecExchangeEmulatorCli([]), 2);
    } finally {
      process.stdout.write = write;
    }
    assert.match(output.join(''), /obmen emulate onec-exchange --url URL/);
  });
});
