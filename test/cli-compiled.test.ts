import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createWriteStream, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { finished } from 'node:stream/promises';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { binNodeFlags, startObmenProcess } from '../bench/commerceml-endpoint-obmen.ts';
import { runCatalogExchange } from '../emulators/onec-exchange/index.ts';
// @ts-expect-error plain ESM helper of the build scripts, without types
import { bundleIsFresh } from '../scripts/cli-bundle.mjs';
import { ExchangeClient } from '../src/exchange/commerceml/index.ts';
import { generateCatalog } from '../src/formats/commerceml/index.ts';

/**
 * bin/obmen.mjs runs the compiled dist/cli when it is fresh and the TypeScript sources
 * otherwise (or with OBMEN_FROM_SOURCES=1). Both must do the same real work, including the
 * CommerceML import whose parser runs on a worker thread loaded from a file of its own, and
 * 1C's zip archive, unpacked on another such thread.
 */
for (const [build, zip] of [
  ['bin', false],
  ['bin', true],
  ['tsx', false],
  ['tsx', true],
] as const) {
  test(`${build === 'bin' ? 'compiled (dist/cli)' : 'from the sources'}: a CommerceML catalogue through obmen start${zip ? ' as a zip archive, unpacked and' : ','} parsed on worker threads`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'obmen-compiled-'));
    try {
      if (build === 'bin') {
        execFileSync(process.execPath, ['scripts/build-cli.mjs', '--if-stale'], { stdio: 'inherit' });
        assert.equal(bundleIsFresh(), true, 'the bundle is built and up to date, so bin/obmen.mjs runs it');
      }
      const file = join(dir, 'import.xml');
      const out = createWriteStream(file);
      await generateCatalog({ goods: 300, propertiesPerGood: 2, seed: 7 }, out);
      out.end();
      await finished(out);
      const obmen = await startObmenProcess({
        dir,
        build,
        login: 'admin',
        password: 'secret-password',
        zip,
        importStepSeconds: 5,
        parseThread: true,
        nodeFlags: [],
      });
      let exitCode: number | null;
      try {
        const client = new ExchangeClient({
          url: `${obmen.base}/bitrix/admin/1c_exchange.php`,
          login: 'admin',
          password: 'secret-password',
        });
        const exchange = await runCatalogExchange({
          client,
          files: [{ name: 'import.xml', path: file }],
          zip: zip ? 'auto' : 'never',
        });
        assert.equal(exchange.zipped, zip, zip ? 'obmen asked for an archive' : 'the file went as it is');
      } finally {
        exitCode = await obmen.stop();
      }
      assert.equal(exitCode, 0);
      const db = new Database(join(dir, 'obmen.db'), { readonly: true });
      try {
        const row = db.prepare("select count(*) as n from records where entity = 'product'").get() as {
          n: number;
        };
        assert.equal(row.n, 300);
      } finally {
        db.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

/**
 * V8 reads the young generation's size only at start-up, so bin/obmen.mjs carries it on its
 * first line; npm's scripts start node themselves and must pass the same flags.
 */
test('bin/obmen.mjs runs as a program with its node flags, and npm start / npm run obmen pass the same', () => {
  const flags = binNodeFlags('bin/obmen.mjs');
  assert.ok(flags.includes('--max-semi-space-size=8'), `flags on the first line: ${flags.join(' ')}`);
  assert.ok(flags.includes('--v8-pool-size=2'), `flags on the first line: ${flags.join(' ')}`);
  const { scripts } = JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: Record<string, string> };
  assert.equal(scripts.start, `node ${flags.join(' ')} bin/obmen.mjs start`);
  assert.equal(scripts.obmen, `node ${flags.join(' ')} bin/obmen.mjs`);
  // Run directly, as the `obmen` command is: env must accept the line (-S splits the flags).
  const help = execFileSync('bin/obmen.mjs', ['help'], { encoding: 'utf8' });
  assert.match(help, /Usage: obmen <command>/);
});
