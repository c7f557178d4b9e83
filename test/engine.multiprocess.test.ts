import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { startHttpTarget } from '../emulators/http-target/index.ts';
import { configSchema } from '../src/config/schema.ts';
import { ingest } from '../src/engine/ingest.ts';
import { createRuntime } from '../src/engine/runtime.ts';
import { type Child, startChild, waitUntil, writeConfig } from './support/processes.ts';
import { createTestDatabase, postgresUnavailable } from './support/stores.ts';

const OBJECTS = 10_000;
const BATCH = 100;

describe('three obmen worker processes on PostgreSQL, one killed with SIGKILL', async () => {
  const skip = await postgresUnavailable();
  test(
    'every object is delivered once and the dead worker’s leases are recovered',
    {
      skip,
      timeout: 240_000,
    },
    async () => {
      const database = await createTestDatabase('postgres');
      // Latency keeps each batch in flight long enough that the kill lands mid-delivery.
      const target = await startHttpTarget({ faults: { latencyMs: 150 } });
      const dir = mkdtempSync(join(tmpdir(), 'obmen-mp-'));
      const workers: Child[] = [];
      try {
        const settings = {
          worker: { leaseTime: '3s', pollInterval: '50ms', concurrency: 1 },
          systems: { onec: { kind: 'http', url: target.url }, site: { kind: 'http', url: target.url } },
          routes: [{ name: 'products-to-site', entity: 'product', target: 'site', batchSize: BATCH }],
        };
        const configFile = writeConfig(dir, settings);
        const store = await database.open();
        const runtime = createRuntime({ config: configSchema.parse(settings), store, owner: 'test' });
        const items = Array.from({ length: OBJECTS }, (_, i) => ({
          externalId: `p${i}`,
          data: { name: `Товар ${i}`, article: `A${i}` },
        }));
        const ingested = await ingest(runtime.ingest, { system: 'onec', entity: 'product', items });
        assert.equal(ingested.created, OBJECTS);

        for (let i = 0; i < 3; i++)
          workers.push(startChild(['bin/obmen.mjs', 'worker', '--config', configFile], database.env));
        const owners = await Promise.all(workers.map((w) => w.waitFor(/obmen worker (\S+) started/, 60_000)));
        const victimOwner = owners[0]![1]!;

        await waitUntil(async () => target.stats().writes >= OBJECTS / 4, 120_000, 'a quarter is delivered');
        // Kill the victim while it holds a lease, so recovery is really exercised.
        let leasedByVictim: Array<{ record_id: string }> = [];
        await waitUntil(
          async () => {
            leasedByVictim = await store.db
              .selectFrom('outbox')
              .select('record_id')
              .where('lease_owner', '=', victimOwner)
              .where('state', '=', 'in_flight')
              .execute();
            return leasedByVictim.length > 0;
          },
          60_000,
          'the victim holds a lease',
        );
        workers[0]!.process.kill('SIGKILL');
        const killed = await workers[0]!.exited;
        assert.equal(killed.signal, 'SIGKILL');

        await waitUntil(
          async () => {
            const row = await store.db
              .selectFrom('outbox')
              .select(({ fn }) => fn.countAll<number>().as('n'))
              .where('state', '=', 'delivered')
              .executeTakeFirstOrThrow();
            return Number(row.n) === OBJECTS;
          },
          180_000,
          'every object is delivered',
        );

        const stats = target.stats();
        const held = target.objects('product');
        assert.equal(held.size, OBJECTS, 'every object reached the target');
        assert.equal(stats.creates, OBJECTS, 'no object was created twice');
        const resent = [...held.values()].filter((o) => o.writes > 1).length;
        // At-least-once: only the batch the dead worker had in flight may be written again, and
        // the idempotent upsert makes that a no-op update, not a duplicate.
        assert.ok(resent <= BATCH, `${resent} objects written more than once (at most one batch allowed)`);
        const links = await store.db
          .selectFrom('links')
          .select(({ fn }) => fn.countAll<number>().as('n'))
          .where('system', '=', 'site')
          .executeTakeFirstOrThrow();
        assert.equal(Number(links.n), OBJECTS);
        const stuck = await store.db
          .selectFrom('outbox')
          .select('record_id')
          .where('lease_owner', '=', victimOwner)
          .execute();
        assert.equal(stuck.length, 0, 'no row is left leased by the dead worker');
        const victimRows = leasedByVictim.map((r) => r.record_id);
        assert.ok(victimRows.length > 0);
        {
          const recovered = await store.db
            .selectFrom('outbox')
            .select('state')
            .where('record_id', 'in', victimRows)
            .execute();
          assert.ok(
            recovered.every((r) => r.state === 'delivered'),
            'the dead worker’s leased rows were recovered and delivered',
          );
        }
        const perWorker = new Set(
          (await store.db.selectFrom('sessions').select('owner').where('kind', '=', 'deliver').execute()).map(
            (r) => r.owner,
          ),
        );
        assert.ok(perWorker.size >= 2, 'more than one process delivered');

        for (const w of workers.slice(1)) w.process.kill('SIGTERM');
        for (const w of workers.slice(1))
          assert.equal((await w.exited).code, 0, `worker stops cleanly:\n${w.output()}`);
        process.stdout.write(
          `# multi-process: ${OBJECTS} delivered by 3 workers, victim held ${victimRows.length} leases at kill, ${resent} objects re-sent once after recovery\n`,
        );
        await runtime.close();
        await store.close();
      } finally {
        for (const w of workers)
          if (w.process.exitCode === null && w.process.signalCode === null) w.process.kill('SIGKILL');
        await target.close();
        rmSync(dir, { recursive: true, force: true });
        await database.drop();
      }
    },
  );
});
