import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { sql } from 'kysely';
import { startHttpTarget } from '../emulators/http-target/index.ts';
import { configSchema } from '../src/config/schema.ts';
import { ingest } from '../src/engine/ingest.ts';
import { createRuntime } from '../src/engine/runtime.ts';
import { openStore } from '../src/store/store.ts';
import { startChild, waitUntil, writeConfig } from './support/processes.ts';

const count = async (
  store: Awaited<ReturnType<typeof openStore>>,
  table: 'records' | 'links' | 'outbox' | 'record_history',
) =>
  Number(
    (await sql<{ n: number }>`select count(*) as n from ${sql.table(table)}`.execute(store.db)).rows[0]!.n,
  );

test(
  'SQLite: a process killed during ingest loses nothing and duplicates nothing after restart',
  {
    timeout: 180_000,
  },
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'obmen-crash-'));
    const file = join(dir, 'obmen.db');
    const total = 30_000;
    try {
      const first = startChild(
        ['--import', 'tsx', 'test/support/ingest-child.ts', file, String(total), '1000'],
        {},
      );
      await first.waitFor(/ingested (1[0-9]{4})/, 120_000); // at least 10,000 in, mid-run
      first.process.kill('SIGKILL');
      assert.equal((await first.exited).signal, 'SIGKILL');
      const second = startChild(
        ['--import', 'tsx', 'test/support/ingest-child.ts', file, String(total), '1000'],
        {},
      );
      await second.waitFor(/done/, 120_000);
      await second.exited;
      const store = await openStore({ url: file });
      assert.equal(await count(store, 'records'), total);
      assert.equal(await count(store, 'links'), total);
      assert.equal(await count(store, 'outbox'), total);
      assert.equal(
        await count(store, 'record_history'),
        0,
        'one version per object, the current one: the re-run replaced nothing',
      );
      const versions = await store.db
        .selectFrom('records')
        .select('version')
        .where('version', '>', 1)
        .execute();
      assert.equal(versions.length, 0);
      await store.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);

test(
  'SQLite: a worker killed during delivery resumes after restart; nothing lost, nothing created twice',
  {
    timeout: 180_000,
  },
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'obmen-crash-'));
    const file = join(dir, 'obmen.db');
    const target = await startHttpTarget({ faults: { latencyMs: 100 } });
    const total = 3000;
    try {
      const settings = {
        worker: { leaseTime: '2s', pollInterval: '50ms', concurrency: 1 },
        systems: { onec: { kind: 'http', url: target.url }, site: { kind: 'http', url: target.url } },
        routes: [{ name: 'products-to-site', entity: 'product', target: 'site', batchSize: 50 }],
      };
      const configFile = writeConfig(dir, settings);
      const store = await openStore({ url: file });
      const runtime = createRuntime({ config: configSchema.parse(settings), store, owner: 'test' });
      await ingest(runtime.ingest, {
        system: 'onec',
        entity: 'product',
        items: Array.from({ length: total }, (_, i) => ({
          externalId: `p${i}`,
          data: { name: `Товар ${i}` },
        })),
      });
      await runtime.close();
      await store.close();

      const env = { OBMEN_DATABASE_URL: file };
      const first = startChild(['bin/obmen.mjs', 'worker', '--config', configFile], env);
      await waitUntil(async () => target.stats().writes >= total / 3, 120_000, 'a third is delivered');
      first.process.kill('SIGKILL');
      await first.exited;
      const second = startChild(['bin/obmen.mjs', 'worker', '--config', configFile], env);
      const check = await openStore({ url: file });
      await waitUntil(
        async () =>
          Number(
            (
              await sql<{ n: number }>`select count(*) as n from outbox where state = 'delivered'`.execute(
                check.db,
              )
            ).rows[0]!.n,
          ) === total,
        120_000,
        'everything is delivered',
      );
      second.process.kill('SIGTERM');
      assert.equal((await second.exited).code, 0);
      assert.equal(target.objects('product').size, total);
      assert.equal(target.stats().creates, total, 'no object was created twice');
      assert.equal(
        await count(check, 'links'),
        total * 2,
        'one link in the source and one in the target per object',
      );
      await check.close();
    } finally {
      await target.close();
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
